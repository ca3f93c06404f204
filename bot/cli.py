"""``modelgate`` command line: serve, worker, migrate, run, rollback, deployments, setup, protect, schema,
sandbox, demo."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from bot.logs import setup_logging
from bot.settings import Settings, SettingsError, load_settings

# Nothing modelgate runs may call home.
os.environ.setdefault("MLFLOW_ENABLE_TELEMETRY", "false")
os.environ.setdefault("DO_NOT_TRACK", "true")


def _settings(args: argparse.Namespace) -> Settings:
    names = ("host", "port", "workers", "processes")
    overrides = {k: v for k in names if (v := getattr(args, k, None)) is not None}
    settings = load_settings(**overrides)
    setup_logging(settings.log_level, settings.log_format)
    return settings


def cmd_serve(args: argparse.Namespace) -> int:
    """Run the webhook receiver and the run workers: in one process, or (on several cores) intake
    processes sharing the port and a background process for the workers, under a supervisor."""
    from bot.processes.plan import plan_processes, usable_cpus
    from bot.processes.supervisor import Supervisor, prepare_metrics

    settings = _settings(args).require("webhooks")
    if settings.workers > 0:
        settings.require("github")
    plan = plan_processes(usable_cpus(), settings.processes, settings.workers)
    if not plan.single:  # before anything imports prometheus-client
        prepare_metrics(settings.data_dir / "prometheus")
    from bot.runs.source import warn_if_tarfile_filter_is_weak

    warn_if_tarfile_filter_is_weak()
    if settings.workers > 0:  # intake alone never opens MLflow nor runs jobs
        require_isolation(settings)
    if plan.single:
        import uvicorn

        from bot.server import build_services, create_app
        from bot.webhooks.server_options import server_options

        uvicorn.run(create_app(build_services(settings)), **server_options(settings))
        return 0
    return Supervisor(settings, plan).run()  # each process migrates as it starts (safe at once)


def cmd_worker(args: argparse.Namespace) -> int:
    """Run only the workers (no HTTP): scale processing apart from intake."""
    import signal
    import threading

    from bot.runs.source import warn_if_tarfile_filter_is_weak
    from bot.server import build_services, running

    settings = _settings(args)
    warn_if_tarfile_filter_is_weak()
    require_isolation(settings)
    services = build_services(settings, workers=max(settings.workers, 1))
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    with running(services, intake=False):
        stop.wait()
    return 0


def require_isolation(settings: Settings) -> None:
    """Refuse to run repositories' code unless the sandbox works here and hides the App's secrets;
    with ``MODELGATE_ISOLATION=none`` (chosen explicitly) warn instead."""
    from pipelines.sandbox import Isolation, SandboxError, check_isolation

    try:
        check_isolation(Isolation(settings.isolation), settings.secret_paths())
    except SandboxError as exc:
        raise SettingsError(f"MODELGATE_ISOLATION={settings.isolation}: {exc}") from None
    if settings.isolation == Isolation.NONE:
        logging.getLogger("modelgate").warning(
            "MODELGATE_ISOLATION=none: repositories' code runs with the App's own access (development only)")


def migrate_once(settings: Settings) -> None:
    """Create or upgrade the database schema of ``settings``."""
    from bot.store import create_db_engine, migrate

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = create_db_engine(settings.db_url)
    try:
        migrate(engine)
    finally:
        engine.dispose()


def cmd_migrate(args: argparse.Namespace) -> int:
    """Create or upgrade the database schema."""
    settings = _settings(args)
    migrate_once(settings)
    print(f"database at {settings.db_url} is up to date")
    return 0


def cmd_sandbox(args: argparse.Namespace) -> int:
    """Run the GitHub stand-in."""
    from github_standin.app import run_sandbox
    from github_standin.cli import config_from_args

    setup_logging("INFO")
    run_sandbox(config_from_args(args))
    return 0


def cmd_schema(args: argparse.Namespace) -> int:
    """Print the JSON Schema of .modelgate.yml."""
    import json

    from pipelines.config import config_json_schema

    print(json.dumps(config_json_schema(), indent=2))
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    """Run a pipeline on a local checkout (no GitHub): exit 0 passed, 1 failed, 2 error."""
    import json

    from pipelines.local import cli_json, exit_code, run_local, terminal_gate_table
    from pipelines.tracking_store import prepare_tracking_store

    settings = _settings(args)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    assert settings.mlflow_tracking_uri is not None
    require_isolation(settings)
    prepare_tracking_store(settings.mlflow_tracking_uri)  # first runs at once must not both migrate it
    result = run_local(Path(args.path).resolve(), args.kind, settings.mlflow_tracking_uri,
                       Path(args.output).resolve() if args.output else None, use_cache=not args.force,
                       policy=settings.job_policy())
    if args.json:
        print(json.dumps(cli_json(result)))
    else:
        print(terminal_gate_table(result))
    return exit_code(result)


def cmd_rollback(args: argparse.Namespace) -> int:
    """Move `champion` back (to `previous-champion`, or --to VERSION) and redeploy it."""
    import getpass
    import json

    from bot.runs.rollback import request_rollback, wait_for
    from bot.store import RunStore, create_db_engine
    from pipelines.promotion import PromotionError

    settings = _settings(args)
    assert settings.mlflow_tracking_uri is not None
    migrate_once(settings)
    engine = create_db_engine(settings.db_url)
    runs = RunStore(engine)
    actor = args.actor or f"{getpass.getuser()} (modelgate rollback)"
    try:
        run = request_rollback(runs, settings.mlflow_tracking_uri, args.model, args.to, actor,
                               repository=args.repository)
        print(f"rollback of {args.model} queued as run {run.id}; waiting for a worker", file=sys.stderr)
        done = wait_for(runs, run.id, args.timeout)
    except PromotionError as exc:
        print(f"modelgate rollback: {exc}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    if done is None:
        print(f"modelgate rollback: run {run.id} has not finished after {args.timeout:g} s; "
              "is `modelgate serve` or `modelgate worker` running?", file=sys.stderr)
        return 3
    print(json.dumps({"run": done.id, "state": done.state, "error": done.error, **(done.result or {})}))
    return 0 if done.state == "succeeded" else 1


def cmd_deployments(args: argparse.Namespace) -> int:
    """What is deployed where; stop or start a deployment."""
    from bot.deployments import cli
    from bot.store import DeploymentStore, create_db_engine

    settings = _settings(args)
    migrate_once(settings)
    engine = create_db_engine(settings.db_url)
    try:
        return cli.run(args, DeploymentStore(engine), settings.reconcile_seconds)
    finally:
        engine.dispose()


def cmd_demo(args: argparse.Namespace) -> int:
    """Run the offline demo against the sandbox."""
    from github_standin.demo import run_demo

    setup_logging("WARNING")
    return run_demo(json_output=args.json, keep=args.keep)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = argparse.ArgumentParser(prog="modelgate", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help=cmd_serve.__doc__)
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--workers", type=int, help="run-worker threads per process (0: intake only)")
    serve.add_argument("--processes", type=int,
                       help="intake processes sharing the port (default: one per core, at most 4; 1: one "
                       "process runs everything)")
    serve.set_defaults(func=cmd_serve)
    worker = sub.add_parser("worker", help=cmd_worker.__doc__)
    worker.add_argument("--workers", type=int)
    worker.set_defaults(func=cmd_worker)
    sub.add_parser("migrate", help=cmd_migrate.__doc__).set_defaults(func=cmd_migrate)
    sandbox = sub.add_parser("sandbox", help=cmd_sandbox.__doc__)
    from github_standin.cli import add_arguments

    add_arguments(sandbox)
    sandbox.set_defaults(func=cmd_sandbox)
    sub.add_parser("schema", help=cmd_schema.__doc__).set_defaults(func=cmd_schema)
    run = sub.add_parser("run", help=cmd_run.__doc__)
    run.add_argument("kind", choices=["staging", "production"])
    run.add_argument("path", nargs="?", default=".", help="the repository checkout (default: .)")
    run.add_argument("--json", action="store_true", help="print one JSON object")
    run.add_argument("--output", help="also write result.json (and later the report) here")
    run.add_argument("--force", action="store_true", help="retrain even if a cached result matches")
    run.set_defaults(func=cmd_run)
    rollback = sub.add_parser("rollback", help=cmd_rollback.__doc__)
    rollback.add_argument("model", help="the registered model name")
    rollback.add_argument("--to", type=int, help="the version to restore (default: previous-champion)")
    rollback.add_argument("--repository", help="owner/name (default: from the champion's tags)")
    rollback.add_argument("--actor", help="who rolls back, recorded on the version (default: your login)")
    rollback.add_argument("--timeout", type=float, default=600.0, help="seconds to wait for a worker")
    rollback.set_defaults(func=cmd_rollback)
    from bot.deployments.cli import add_parser as add_deployments
    from bot.install.cli import add_parsers as add_install

    add_deployments(sub, cmd_deployments)
    add_install(sub, _settings)
    demo = sub.add_parser("demo", help=cmd_demo.__doc__)
    demo.add_argument("--json", action="store_true", help="print a JSON summary as the last line")
    demo.add_argument("--keep", action="store_true", help="keep the demo's working directory")
    demo.set_defaults(func=cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``modelgate`` console script."""
    args = build_parser().parse_args(argv)
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return func(args)
    except SettingsError as exc:
        print(f"modelgate: configuration error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
