"""The names modelgate shows on GitHub, defined once: check runs, commit status contexts, the
check run's button, and the hidden markers of sticky comments. Webhook routing reads them too
(a press of our button, a re-run of our production check)."""

from __future__ import annotations

STAGING_CHECK = "modelgate / staging"
PRODUCTION_CHECK = "modelgate / production"
CHECK_NAME = {"staging": STAGING_CHECK, "production": PRODUCTION_CHECK}
STATUS_CONTEXT = {"staging": "modelgate/staging", "production": "modelgate/production"}

RETRAIN_ACTION_ID = "retrain"
RETRAIN_ACTION = {"label": "Retrain", "description": "Run staging again on this commit",
                  "identifier": RETRAIN_ACTION_ID}


def marker(kind: str) -> str:
    """The hidden marker that identifies modelgate's sticky comment for ``kind`` on a PR."""
    return f"<!-- modelgate:{kind} -->"
