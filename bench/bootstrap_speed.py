"""The paired bootstrap's speed against the bare way: the metric functions called on each resample.

Both get the same data (5,000 rows, 3 classes, two models, every built-in classification metric) and the
same resample count. ``paired_bootstrap`` draws the row indices once and computes each metric on all
resamples with array kernels (``pipelines/resampled.py``); the baseline calls ``metric_on_rows`` (the
metric's own function, scikit-learn's) on every resample for both models. Interleaved, ``--reps`` times;
the ratio is baseline / bootstrap of the medians.

Run: ``.venv/bin/python bench/bootstrap_speed.py [--resamples 200] [--reps 3]``
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from pipelines.bootstrap import paired_bootstrap
from pipelines.metrics import Evaluation, builtin_metrics, compute_metrics, metric_on_rows

ROWS, CLASSES = 5000, 3


def _models(y: np.ndarray, rng: np.random.Generator) -> list[Evaluation]:
    metrics = list(builtin_metrics("classification").values())
    models = []
    for noise in (0.1, 0.2):
        proba = rng.dirichlet(np.ones(CLASSES), ROWS) * noise + np.eye(CLASSES)[y] * (1 - noise)
        prediction = proba.argmax(axis=1)
        models.append(Evaluation(compute_metrics(metrics, y, prediction, proba), prediction, proba))
    return models


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resamples", type=int, default=200)
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()
    rng = np.random.default_rng(12)
    y = rng.integers(0, CLASSES, ROWS)
    metrics = list(builtin_metrics("classification").values())
    candidate, champion = _models(y, rng)
    draws = np.random.default_rng(0).integers(0, ROWS, (args.resamples, ROWS))
    ours, bare = [], []
    for _ in range(args.reps):
        started = time.perf_counter()
        paired_bootstrap(metrics, y, candidate, champion, resamples=args.resamples)
        ours.append(time.perf_counter() - started)
        started = time.perf_counter()
        for rows in draws:
            for metric in metrics:
                metric_on_rows(metric, y, candidate, rows)
                metric_on_rows(metric, y, champion, rows)
        bare.append(time.perf_counter() - started)
    ratio = statistics.median(bare) / statistics.median(ours)
    print(f"{args.resamples} resamples x {ROWS} rows, {len(metrics)} metrics, two models, "
          f"medians of {args.reps}:")
    print(f"paired_bootstrap {statistics.median(ours):.3f} s, metric functions per resample "
          f"{statistics.median(bare):.3f} s: {ratio:.1f}x faster")


if __name__ == "__main__":
    main()
