"""``predict_latency_ms``: how long one ``predict`` call on a single evaluation row takes, in the job.

How it is measured, to be stable enough that noise cannot flip a verdict on a tie:

- the first ``ROWS`` evaluation rows (all of them when there are fewer), each cut out as a one-row
  frame or array before any timing, so only ``predict`` is timed;
- ``WARMUP`` untimed calls per model first (caches, lazy imports, JIT);
- ``REPEATS`` rounds; in each, every model predicts every row once, one model's block after the other,
  the order alternating between rounds (candidate first, then champion first...), so a slow phase of
  the machine falls on both models alike; the garbage collector is off while a block is timed;
- per round, the p95 of the block's call times (nearest rank); the metric is the median of the rounds.

The gates then count a difference within ``pipelines.model_metrics.TOLERANCES`` as equal.
"""

from __future__ import annotations

import gc
import math
import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeVar

ROWS = 200
WARMUP = 20
REPEATS = 3
T = TypeVar("T")


@dataclass(frozen=True)
class Latencies:
    """Milliseconds per model name; a model whose single-row predict failed is in ``errors`` instead."""

    ms: dict[str, float] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


def p95(samples: Sequence[float]) -> float:
    """The 95th percentile by nearest rank: the smallest sample with at least 95% of samples <= it."""
    if not samples:
        raise ValueError("p95 of no samples")
    ordered = sorted(samples)
    return ordered[max(1, math.ceil(0.95 * len(ordered))) - 1]


def single_rows(X: Any, count: int) -> list[Any]:
    """The first ``count`` rows of ``X`` each as a one-row slice of the same kind (frame, array, matrix)."""
    rows = min(count, _length(X))
    if hasattr(X, "iloc"):
        return [X.iloc[i : i + 1] for i in range(rows)]
    return [X[i : i + 1] for i in range(rows)]


def measure_latency(
    models: Mapping[str, Any], X: Any, rows: int = ROWS, warmup: int = WARMUP, repeats: int = REPEATS,
    clock: Callable[[], int] = time.perf_counter_ns,
) -> Latencies:
    """The p95 single-row ``predict`` time of each model in milliseconds (median over ``repeats``
    interleaved rounds), on the first ``rows`` rows of ``X``; see the module docstring."""
    samples = single_rows(X, rows)
    if not samples:
        raise ValueError("no rows to time predict on")
    errors: dict[str, str] = {}
    rounds: dict[str, list[float]] = {}
    for name, model in models.items():
        if _attempt(name, errors, partial(_warm_up, model, samples, warmup)) is not None:
            rounds[name] = []
    for repeat in range(repeats):
        for name in list(rounds) if repeat % 2 == 0 else list(rounds)[::-1]:
            block = _attempt(name, errors, partial(_block, models[name], samples, clock))
            if block is None:
                del rounds[name]
            else:
                rounds[name].append(p95(block))
    return Latencies({name: statistics.median(values) for name, values in rounds.items()}, errors)


def _attempt(name: str, errors: dict[str, str], call: Callable[[], T]) -> T | None:
    """``call()``, or None with the model's problem in ``errors`` when one of its predicts raised."""
    try:
        return call()
    except Exception as exc:
        errors[name] = f"single-row predict failed: {type(exc).__name__}: {exc}"
        return None


def _warm_up(model: Any, samples: list[Any], calls: int) -> int:
    """``calls`` untimed predicts (at least one), cycling over the samples; how many were made."""
    count = max(1, calls)
    for index in range(count):
        model.predict(samples[index % len(samples)])
    return count


def _block(model: Any, samples: list[Any], clock: Callable[[], int]) -> list[float]:
    """Milliseconds of one predict call per sample, with the garbage collector off."""
    times: list[float] = []
    collecting = gc.isenabled()
    gc.disable()
    try:
        for sample in samples:
            start = clock()
            model.predict(sample)
            times.append((clock() - start) / 1e6)
    finally:
        if collecting:
            gc.enable()
    return times


def _length(X: Any) -> int:
    shape = getattr(X, "shape", None)
    return int(shape[0]) if shape else len(X)
