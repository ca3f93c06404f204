"""The ``modelgate serve`` application: webhook intake, health, metrics and the worker pool."""

from __future__ import annotations

import contextlib
import functools
import logging
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy.engine import Engine
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.dashboard.keeper import Dashboard
from bot.deployments.guard import DeployGuard
from bot.deployments.keeper import DeploymentKeeper
from bot.deployments.local import ProcessServers
from bot.deployments.reconcile import Reconciler
from bot.deployments.replica import process_holder, replica_id
from bot.deployments.servers import RecordedServers
from bot.feedback.published_report import ReportPublisher
from bot.feedback.report_files import ReportFiles
from bot.github import GitHubApp
from bot.metrics import (
    DeploymentCollector,
    RunStateCollector,
    exposition,
    register_collector,
    register_run_counts,
)
from bot.processes.heap import freeze_startup_heap
from bot.runs.acknowledger import Acknowledger
from bot.runs.admission import Admission
from bot.runs.command import CommandRun
from bot.runs.dispatch import RunProcessor
from bot.runs.install import InstallRun
from bot.runs.outcome import RunHandler
from bot.runs.ownership import ServePolicy
from bot.runs.pipeline import PipelineRunner, RunOptions
from bot.runs.production import ProductionRun
from bot.runs.rollback import RollbackRun
from bot.runs.scheduled import ScheduledRun
from bot.runs.source import SourceLimits
from bot.runs.staging import StagingRun
from bot.runs.uninstall import UninstallRun
from bot.runs.worker import PoolOptions, WorkerPool
from bot.schedules.scheduler import Scheduler
from bot.settings import Settings
from bot.store import (
    AcknowledgementStore,
    DeliveryStore,
    DeploymentStore,
    Lease,
    LockStore,
    OwnershipStore,
    PromotionStore,
    RunStore,
    ScheduleStore,
    create_db_engine,
    migrate,
    ping,
)
from bot.store.checkpoints import checkpointer_for
from bot.store.writer_queue import when_turn_free, writer_turn
from bot.webhooks.ingest import Receive, Scope, Send, WebhookIngest
from bot.webhooks.intake import PATH, IngestConfig, WebhookIntake
from bot.webhooks.writer import DeliveryWriter, writer_for

if TYPE_CHECKING:
    from bot.processes.notice import RunsNotifier

log = logging.getLogger(__name__)
LEASE_PERIODS = 3  # a replica holds a deployment for this many reconcile periods unless renewed


@dataclass
class Services:
    """Everything one process runs, wired from settings."""

    settings: Settings
    engine: Engine
    reports: ReportFiles
    deliveries: DeliveryStore
    runs: RunStore
    writer: DeliveryWriter
    pool: WorkerPool | None
    acknowledger: Acknowledger | None = None
    reconciler: Reconciler | None = None
    scheduler: Scheduler | None = None
    workers_elsewhere: Callable[[], str] | None = None  # the state of another process's run workers

    def workers_state(self) -> str | None:
        """starting, running, failed (MLflow's store could not be prepared), stopped; None: no workers."""
        if self.workers_elsewhere is not None:
            return self.workers_elsewhere()
        return self.pool.state if self.pool is not None else None


def run_options(settings: Settings) -> RunOptions:
    """How runs use the machine, MLflow and the operator's limits."""
    assert settings.mlflow_tracking_uri is not None  # derived in Settings
    return RunOptions(
        workdir=settings.data_dir / "runs", tracking_uri=settings.mlflow_tracking_uri,
        public_url=settings.public_url, policy=settings.job_policy(),
        max_timeout_seconds=float(settings.max_timeout_seconds), job_env_dir=settings.job_env_dir,
        source_limits=SourceLimits(settings.source_max_bytes, settings.source_max_entries),
        mlflow_artifacts=settings.artifacts_root, ray_serve=settings.ray_serve_target(),
    )


def serve_logs_dir(settings: Settings) -> Path:
    """Where scoring servers log: under the data dir, never a fixed /tmp path."""
    return settings.data_dir / "serve-logs"


def deployment_keeping(settings: Settings, engine: Engine) -> tuple[DeploymentKeeper, Reconciler]:
    """The process's keeper of the deployments its runs make, and its reconcile loop."""
    lease = Lease(process_holder(replica_id(settings.data_dir)), LEASE_PERIODS * settings.reconcile_seconds)
    store, guard = DeploymentStore(engine), DeployGuard()
    servers = RecordedServers(run_options(settings), serve_logs_dir(settings), lease.seconds)
    reconciler = Reconciler(store, lease, guard, servers.server, servers.sample, settings.reconcile_seconds,
                            ProcessServers())
    return DeploymentKeeper(store, lease, guard), reconciler


def handlers(
    settings: Settings, github: GitHubApp, engine: Engine, runs: RunStore, reports: ReportFiles,
    keeper: DeploymentKeeper,
) -> dict[str, RunHandler]:
    """The handler of each run kind."""
    from pipelines.executor import LocalExecutor

    executor = LocalExecutor(
        max_concurrency=settings.pipeline_concurrency, workdir=settings.data_dir / "jobs",
        standby=settings.warm_processes, warm_jobs=settings.warm_processes,
    )
    options = run_options(settings)
    runner = PipelineRunner(runs, executor, options)
    publisher = ReportPublisher(reports, runs, settings.mlflow_ui_url)
    policy = ServePolicy.from_settings(settings)
    admission = Admission(OwnershipStore(engine), policy, options.tracking_uri)
    serve_logs = serve_logs_dir(settings)
    schedules, locks = ScheduleStore(engine), LockStore(engine)
    dashboard = Dashboard.on(engine)
    deciding = (github, runs, PromotionStore(engine), locks, runner, publisher, admission, keeper)
    production = ProductionRun(*deciding, serve_logs=serve_logs, schedules=schedules, dashboard=dashboard)
    return {
        "staging": StagingRun(github, runs, runner, publisher, AcknowledgementStore(engine), dashboard),
        "production": production,
        "scheduled": ScheduledRun(*deciding, serve_logs=serve_logs, schedules=schedules, dashboard=dashboard),
        "install": InstallRun(github, schedules, dashboard),
        "uninstall": UninstallRun(schedules),
        "rollback": RollbackRun(github, options, admission, keeper, serve_logs=serve_logs),
        "command": CommandRun(github, runs, options.tracking_uri),
    }


def build_services(settings: Settings, workers: int | None = None, *,
                   notify: RunsNotifier | None = None) -> Services:
    """Create the engine, stores, writer, the acknowledger (given the App's key) and (when ``workers`` > 0)
    the worker pool. With ``notify``: an intake process of several, which tells ``notify`` of the runs it
    queued and the checkbox ticks it stored (the background process acknowledges them and works the runs)."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = create_db_engine(settings.db_url, background_checkpoints=True)  # `running` checkpoints
    deliveries, runs = DeliveryStore(engine), RunStore(engine)
    reports = ReportFiles(engine, settings.public_url, settings.report_retention_days)
    writer = writer_for(engine.dialect.name, deliveries.record, functools.partial(writer_turn, engine),
                        functools.partial(when_turn_free, engine))
    size = settings.workers if workers is None else workers
    pool, acknowledger = None, None
    if size > 0 or settings.has_app():  # an intake-only replica (--workers 0) with the App's key acknowledges
        settings.require("github")
        assert settings.app_id is not None
        github = GitHubApp(settings.app_id, settings.app_private_key(), settings.github_api_url)
        if notify is None:  # else the background process acknowledges, with its one warm GitHub client
            acknowledger = Acknowledger(github, runs, AcknowledgementStore(engine), warm=github.warm)
            writer.on_runs_queued(acknowledger.runs_queued)
            writer.on_committed(acknowledger.committed)
    if notify is not None:
        writer.on_runs_queued(notify)
        writer.on_committed(notify.committed)
    reconciler, scheduler = None, None
    if size > 0:
        keeper, reconciler = deployment_keeping(settings, engine)
        kinds = handlers(settings, github, engine, runs, reports, keeper)
        processor = RunProcessor(github, runs, kinds)
        options = PoolOptions(
            size=size, lease_seconds=settings.lease_seconds, max_attempts=settings.max_attempts
        )
        pool = WorkerPool(runs, processor, options, on_abandoned=processor.report_abandoned)
        writer.on_committed(lambda fresh: pool.wake() if any(d.job for d in fresh) else None)
        scheduler = Scheduler(ScheduleStore(engine), settings.schedule_seconds,
                              on_queued=lambda _: pool.wake())
    return Services(settings, engine, reports, deliveries, runs, writer, pool, acknowledger, reconciler,
                    scheduler)


@contextlib.contextmanager
def running(services: Services, *, intake: bool = True) -> Iterator[Services]:
    """Migrate, start writer and workers (these after preparing the MLflow store; with ``intake``, in the
    background: webhooks are taken meanwhile); stop them (finishing queued writes) on exit."""
    migrate(services.engine)
    checkpointer = checkpointer_for(services.engine)
    if checkpointer is not None:
        checkpointer.start()
    if services.acknowledger is not None:
        services.acknowledger.start()
    services.writer.start()
    unregister_runs = register_run_counts(services.runs.counts)
    unregister_deployments = register_collector(DeploymentCollector(DeploymentStore(services.engine).gauges))
    if services.pool is not None:  # intake takes deliveries while MLflow's store is prepared
        from pipelines.tracking_store import prepare_tracking_store

        uri = services.settings.mlflow_tracking_uri
        assert uri is not None  # derived in Settings
        reconciler, scheduler = services.reconciler, services.scheduler

        def prepare() -> None:
            prepare_tracking_store(uri)  # once, before runs race to migrate it
            if reconciler is not None:
                reconciler.start()  # deploys read MLflow too
            if scheduler is not None:
                scheduler.start()
            freeze_startup_heap("preparing the MLflow store")

        if intake:
            services.pool.start_in_background(prepare)
        else:  # a worker-only process has nothing else to do: a failure ends it
            prepare()
            services.pool.start()
    else:
        freeze_startup_heap("starting the intake")
    try:
        yield services
    finally:
        if services.scheduler is not None:
            services.scheduler.stop()
        if services.reconciler is not None:
            services.reconciler.stop()
        if services.pool is not None:
            services.pool.stop()
        services.writer.stop()
        if services.acknowledger is not None:
            services.acknowledger.stop()
        unregister_runs()
        unregister_deployments()
        if checkpointer is not None:
            checkpointer.stop()
        services.engine.dispose()


def create_app(services: Services) -> WebhookFastPath:
    """The ASGI app; its lifespan starts and stops ``services``."""
    settings = services.settings
    config = IngestConfig(settings.secret().encode(), settings.app_id, settings.http_read_timeout_seconds)
    intake = WebhookIntake(config, services.writer)

    async def healthz(request: Request) -> Response:
        ok = await run_in_threadpool(ping, services.engine)
        answer = {"status": "ok" if ok else "unavailable", "database": "up" if ok else "down"}
        workers = services.workers_state()
        if workers is not None:  # starting, running, failed (its MLflow store could not be prepared)
            answer["workers"] = workers
            ok = ok and workers != "failed"
            answer["status"] = "ok" if ok else "unavailable"
        return JSONResponse(answer, status_code=200 if ok else 503)

    # the gauges read from the store, for the multiprocess exposition (one process reads them for all)
    from_store = [RunStateCollector(services.runs.counts),
                  DeploymentCollector(DeploymentStore(services.engine).gauges)]

    async def metrics(request: Request) -> Response:
        body = await run_in_threadpool(exposition, from_store)
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        with running(services):
            yield

    routes = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
        services.reports.route(),
    ]
    return WebhookFastPath(Starlette(routes=routes, lifespan=lifespan), intake)


class WebhookFastPath:
    """Sends ``/api/github/webhooks`` straight to the ingest handler; the rest to Starlette.
    ``webhook_intake``: for an HTTP protocol that answers the endpoint itself (``bot.webhooks.direct``)."""

    path = PATH

    def __init__(self, app: Starlette, intake: WebhookIntake) -> None:
        self.app = app
        self.webhook_intake = intake
        self.ingest = WebhookIngest(intake)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == self.path:
            await self.ingest(scope, receive, send)
        else:
            await self.app(scope, receive, send)


def app_from_environment() -> WebhookFastPath:
    """uvicorn factory for multi-process serving: each process builds its own services."""
    from bot.logs import setup_logging
    from bot.settings import load_settings

    settings = load_settings().require("webhooks")
    setup_logging(settings.log_level, settings.log_format)  # a spawned process starts unconfigured
    return create_app(build_services(settings))
