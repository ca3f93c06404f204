"""Prometheus metrics, exposed at ``GET /metrics``: one registry per process, or, when ``modelgate serve``
runs several processes, prometheus-client's multiprocess mode (``PROMETHEUS_MULTIPROC_DIR``, set by the
supervisor before any process imports this): every process writes its values to files there and
``/metrics`` answers their sums, whichever intake process serves it."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest, values
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"
REGISTRY = CollectorRegistry(auto_describe=True)

_PID = [os.getpid()]
os.register_at_fork(after_in_child=lambda: _PID.__setitem__(0, os.getpid()))


def _pid() -> int:
    """This process's id, kept (and renewed in a forked child) rather than asked of the kernel."""
    return _PID[0]


if os.environ.get(MULTIPROCESS_DIR):
    # prometheus-client's multiprocess values ask for the pid on every increment, to notice a fork: a system
    # call each, four per webhook delivery (bench/README.md). The metrics below are created after this.
    values.ValueClass = values.MultiProcessValue(process_identifier=_pid)

# The ``event`` label's values: the events the App subscribes to (app.yml) and those GitHub sends
# every App. Anything else, including whatever an unsigned request claims, counts as "other", so
# requests cannot add label values (and series) to the registry.
KNOWN_EVENTS = frozenset({
    "check_run", "check_suite", "issue_comment", "pull_request", "push",
    "github_app_authorization", "installation", "installation_repositories", "installation_target",
    "meta", "ping",
})
OTHER_EVENT = "other"

DELIVERIES = Counter(
    "modelgate_webhook_deliveries_total",
    "Webhook deliveries by event and outcome (accepted, duplicate, ignored, rejected).",
    ["event", "outcome"],
    registry=REGISTRY,
)
INGEST_SECONDS = Histogram(
    "modelgate_webhook_ingest_seconds",
    "Time from request to answer for webhook deliveries, storage included.",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0),
    registry=REGISTRY,
)
PROCESS_RESTARTS = Counter(
    "modelgate_process_restarts_total",
    "modelgate serve's processes that ended unexpectedly and were started again, by role.",
    ["role"],
    registry=REGISTRY,
)
GITHUB_CALLS = Counter(
    "modelgate_github_api_calls_total",
    "GitHub REST calls by method and HTTP status code.",
    ["method", "status"],
    registry=REGISTRY,
)
GITHUB_SECONDS = Histogram(
    "modelgate_github_api_seconds",
    "GitHub REST call durations.",
    registry=REGISTRY,
)
RUN_SECONDS = Histogram(
    "modelgate_run_seconds",
    "Run durations from claim to finish, by kind and final state.",
    ["kind", "state"],
    buckets=(0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600),
    registry=REGISTRY,
)


def event_label(event: str) -> str:
    """The ``event`` label of a delivery whose ``X-GitHub-Event`` header is ``event``."""
    return event if event in KNOWN_EVENTS else OTHER_EVENT


_DELIVERY_COUNTERS: dict[tuple[str, str], Counter] = {}


def count_delivery(event: str, outcome: str) -> None:
    """Count one delivery in ``DELIVERIES`` (each labelled child is looked up once: this runs per request)."""
    key = (event_label(event), outcome)
    child = _DELIVERY_COUNTERS.get(key)
    if child is None:
        child = _DELIVERY_COUNTERS[key] = DELIVERIES.labels(event=key[0], outcome=outcome)
    child.inc()


class RunStateCollector(Collector):
    """Reports ``modelgate_runs{kind,state}`` from the database at scrape time."""

    def __init__(self, counts: Callable[[], dict[tuple[str, str], int]]) -> None:
        self._counts = counts

    def collect(self) -> Iterator[Metric]:
        family = GaugeMetricFamily("modelgate_runs", "Runs by kind and state.", labels=["kind", "state"])
        try:
            counts = self._counts()
        except Exception:  # a down database must not break the scrape
            counts = {}
        for (kind, state), value in sorted(counts.items()):
            family.add_metric([kind, state], value)
        yield family


def exposition(from_store: Sequence[Collector]) -> bytes:
    """The text ``/metrics`` answers: this process's registry, or the sums of every process's values (in
    multiprocess mode) with the gauges read from the store (``from_store``: the run and deployment ones)."""
    if not os.environ.get(MULTIPROCESS_DIR):
        return generate_latest(REGISTRY)
    registry = CollectorRegistry()
    MultiProcessCollector(registry)
    for collector in from_store:
        registry.register(collector)
    return generate_latest(registry)


def register_run_counts(counts: Callable[[], dict[tuple[str, str], int]]) -> Callable[[], None]:
    """Register the run gauge for one store; returns a function that unregisters it."""
    return register_collector(RunStateCollector(counts))


Deployment = tuple[str, str, str, bool, int]  # repository, model, target, answers, restarts


class DeploymentCollector(Collector):
    """Reports ``modelgate_deployment_up{repository,model,target}`` (1: the recorded version answered at
    the last check) and ``modelgate_deployment_restarts_total`` from the database at scrape time, so every
    replica shows every deployment."""

    def __init__(self, deployments: Callable[[], list[Deployment]]) -> None:
        self._deployments = deployments

    def collect(self) -> Iterator[Metric]:
        labels = ["repository", "model", "target"]
        up = GaugeMetricFamily("modelgate_deployment_up", "Whether the recorded deployment answered at the "
                               "last reconcile check.", labels=labels)
        restarts = CounterMetricFamily("modelgate_deployment_restarts", "Times the reconcile loop started a "
                                       "recorded deployment again.", labels=labels)
        try:
            found = self._deployments()
        except Exception:  # a down database must not break the scrape
            found = []
        for repository, model, target, answers, count in found:
            up.add_metric([repository, model, target], 1 if answers else 0)
            restarts.add_metric([repository, model, target], count)
        yield up
        yield restarts


def register_collector(collector: Collector) -> Callable[[], None]:
    """Register ``collector``; returns a function that unregisters it."""
    REGISTRY.register(collector)
    return lambda: REGISTRY.unregister(collector)
