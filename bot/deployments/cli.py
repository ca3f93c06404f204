"""``modelgate deployments``: what is deployed where, and an operator's stop and start.

``list`` and ``status`` read the records the reconcile loops keep current (health as of the last check);
``stop`` and ``start`` change the record, and each deployment's reconcile loop acts on it within one
period. ``--json`` prints what scripts read."""

from __future__ import annotations

import argparse
import json
from datetime import datetime

from tabulate import tabulate

from bot.store import DeploymentRecord, DeploymentState, DeploymentStore

COLUMNS = ("repository", "model", "version", "target", "url", "health", "since")


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser], settings_run: object) -> None:
    """Add ``deployments list|status|stop|start`` to the CLI's subcommands."""
    deployments = sub.add_parser("deployments", help="what is deployed where; stop or start a deployment")
    actions = deployments.add_subparsers(dest="action", required=True)
    listing = actions.add_parser("list", help="one row per recorded deployment")
    listing.add_argument("--json", action="store_true", help="print a JSON array")
    listing.add_argument("--all", action="store_true", help="include retired deployments")
    status = actions.add_parser("status", help="one model's deployments in detail")
    status.add_argument("model")
    status.add_argument("--json", action="store_true", help="print a JSON array")
    for name, help_text in (("stop", "stop serving MODEL (recorded: it stays stopped until `start`)"),
                            ("start", "serve MODEL's recorded version again")):
        command = actions.add_parser(name, help=help_text)
        command.add_argument("model")
        command.add_argument("--repository", help="owner/name, when the model is deployed for several")
    deployments.set_defaults(func=settings_run)


def run(args: argparse.Namespace, store: DeploymentStore, period_seconds: float) -> int:
    """Carry out ``args.action``; the exit code (1: no such deployment)."""
    if args.action == "list":
        records = [r for r in store.all() if args.all or r.state != DeploymentState.RETIRED]
        print(_render(records, args.json))
        return 0
    if args.action == "status":
        records = [r for r in store.all() if r.model_name == args.model]
        if not records:
            print(f"modelgate deployments: no deployment of {args.model!r} is recorded")
            return 1
        print(_render(records, args.json, detailed=True))
        return 0
    state = DeploymentState.STOPPED if args.action == "stop" else DeploymentState.SERVING
    changed = store.set_state(args.model, state, args.repository)
    if not changed:
        print(f"modelgate deployments: no deployment of {args.model!r} to {args.action} "
              "(none recorded, retired, or already so)")
        return 1
    for record in changed:
        print(f"{record.model_name} at {record.target} ({record.repository}) is now recorded {state.value}; "
              f"its worker acts on it within {period_seconds:g} s (MODELGATE_RECONCILE_SECONDS)")
    return 0


def health_text(record: DeploymentRecord) -> str:
    """How the deployment stands, in a word or two."""
    if record.state != DeploymentState.SERVING:
        return record.state.value
    return record.health.value


def _render(records: list[DeploymentRecord], as_json: bool, detailed: bool = False) -> str:
    if as_json:
        return json.dumps([r.as_dict() for r in records], indent=2)
    rows = [[r.repository, r.model_name, r.version, r.target, r.url or "-", health_text(r), _when(r.since)]
            for r in records]
    headers = list(COLUMNS)
    if detailed:
        headers += ["checked", "detail", "restarts", "kept by"]
        for row, r in zip(rows, records, strict=True):
            row += [_when(r.checked_at), r.health_detail or "", r.restarts, r.holder or "-"]
    return tabulate(rows, headers=headers) if rows else "no deployments recorded"


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC") if moment is not None else "-"
