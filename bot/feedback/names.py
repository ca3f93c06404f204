"""The names modelgate shows on GitHub, defined once: check runs, commit status contexts, the
check run's button, and the hidden markers of sticky comments. Webhook routing reads them too
(a press of our button, a re-run of our production check)."""

from __future__ import annotations

STAGING_CHECK = "modelgate / staging"
PRODUCTION_CHECK = "modelgate / production"
SCHEDULED_CHECK = "modelgate / scheduled"
CHECK_NAME = {"staging": STAGING_CHECK, "production": PRODUCTION_CHECK, "scheduled": SCHEDULED_CHECK}
STATUS_CONTEXT = {"staging": "modelgate/staging", "production": "modelgate/production",
                  "scheduled": "modelgate/scheduled"}
DASHBOARD_MARKER = "<!-- modelgate:dashboard -->"  # the repository's dashboard issue
RETRAIN_MARKER = "<!-- modelgate:retrain-now -->"  # its "retrain now" checkbox line

RETRAIN_ACTION_ID = "retrain"
RETRAIN_ACTION = {"label": "Retrain", "description": "Run staging again on this commit",
                  "identifier": RETRAIN_ACTION_ID}


def marker(kind: str) -> str:
    """The hidden marker that identifies modelgate's sticky comment for ``kind`` on a PR."""
    return f"<!-- modelgate:{kind} -->"
