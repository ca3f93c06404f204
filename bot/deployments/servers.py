"""The server of a recorded deployment, built from its record as the run that deployed it built it (the
deploy section, the App's address, the repository's job policy), and the rows a restarted version must
predict before it takes traffic."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.deployments.keeper import NOT_KEPT
from bot.runs.pipeline import RunOptions, repository_policy
from bot.store import DeploymentRecord
from pipelines.deploy import Server

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RecordedServers:
    """Servers and samples of recorded deployments, for the reconcile loop."""

    options: RunOptions
    serve_logs: Path  # where scoring servers log, under the App's data dir
    handover_seconds: float = 0.0  # how long a restart waits for a port another process still serves

    def server(self, record: DeploymentRecord) -> Server | None:
        """The record's server; None for a target nothing keeps serving (``command``)."""
        from pipelines.deploy import deployer_for

        if record.target in NOT_KEPT:
            return None
        deployer = deployer_for(record.spec, tracking_uri=self.options.tracking_uri, workdir=self.serve_logs,
                                log_dir=self.serve_logs, key=(record.repository, record.model_name),
                                policy=repository_policy(self.options, record.repository),
                                handover_seconds=self.handover_seconds, ray_serve=self.options.ray_serve)
        return deployer if isinstance(deployer, Server) else None

    def sample(self, record: DeploymentRecord) -> Any | None:
        """The sample rows of the run that trained the recorded version (None when there are none)."""
        from pipelines.promotion import RUN_ID_TAG, PromotionError, version_tags
        from pipelines.tracking import load_sample

        if record.version is None:
            return None
        uri = self.options.tracking_uri
        try:
            run_id = version_tags(uri, record.model_name, record.version).get(RUN_ID_TAG)
        except PromotionError:
            log.warning("version %s of %s is not in the registry", record.version, record.model_name)
            return None
        return load_sample(uri, run_id) if run_id else None
