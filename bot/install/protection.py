"""Pure decisions of ``modelgate protect``: the ``PUT`` body that keeps a branch's protection rules as they
are (GitHub's ``PUT`` replaces all of them, and its ``GET`` shows them in another shape), with one required
status check added, and a description of what changed and what was kept."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

FLAGS = ("required_linear_history", "allow_force_pushes", "allow_deletions", "block_creations",
         "required_conversation_resolution", "lock_branch", "allow_fork_syncing")
REVIEW_FLAGS = ("dismiss_stale_reviews", "require_code_owner_reviews", "require_last_push_approval")
ANY_SOURCE = -1  # app_id of a check any App (or user) may set
Change = Literal["added", "bound", "unchanged"]


@dataclass(frozen=True)
class Decision:
    """The body to send (None: nothing to change) and what it changes."""

    change: Change
    body: dict[str, Any] | None
    previous_app_id: int | None = None  # for "bound": who could set the check before (None: anyone)


def _names(people: Any) -> dict[str, list[str]]:
    """``{"users": [user objects], "teams": [...], "apps": [...]}`` (GET) → logins and slugs (PUT)."""
    people = people if isinstance(people, dict) else {}
    return {"users": [u["login"] for u in people.get("users") or []],
            "teams": [t["slug"] for t in people.get("teams") or []],
            "apps": [a["slug"] for a in people.get("apps") or []]}


def _reviews(current: Any) -> dict[str, Any] | None:
    if not isinstance(current, dict):
        return None
    reviews: dict[str, Any] = {key: bool(current[key]) for key in REVIEW_FLAGS if key in current}
    reviews["required_approving_review_count"] = int(current.get("required_approving_review_count") or 0)
    for key in ("dismissal_restrictions", "bypass_pull_request_allowances"):
        if key in current:
            reviews[key] = _names(current[key])
    return reviews


def _checks(current: dict[str, Any]) -> list[dict[str, Any]]:
    """The required checks as PUT takes them; a check any source may set keeps ``app_id: -1`` (leaving it
    out would let GitHub bind it to whichever App set it last)."""
    checks = current.get("checks") or [{"context": c, "app_id": None} for c in current.get("contexts") or []]
    return [{"context": c["context"], "app_id": ANY_SOURCE if c.get("app_id") is None else c["app_id"]}
            for c in checks]


def keep_rules(current: dict[str, Any] | None) -> dict[str, Any]:
    """The ``PUT`` body that sets exactly the rules of ``current`` (a ``GET``; None: not protected)."""
    current = current or {}
    status = current.get("required_status_checks")
    body: dict[str, Any] = {
        "required_status_checks": None if not isinstance(status, dict) else {
            "strict": bool(status.get("strict")), "contexts": [], "checks": _checks(status)},
        "enforce_admins": bool((current.get("enforce_admins") or {}).get("enabled")),
        "required_pull_request_reviews": _reviews(current.get("required_pull_request_reviews")),
        "restrictions": None if current.get("restrictions") is None else _names(current["restrictions"]),
    }
    required = body["required_status_checks"]
    if required is not None:
        required["contexts"] = [check["context"] for check in required["checks"]]
    body.update({flag: bool(current[flag].get("enabled"))
                 for flag in FLAGS if isinstance(current.get(flag), dict)})
    return body


def require_check(current: dict[str, Any] | None, context: str, app_id: int) -> Decision:
    """Require ``context`` from App ``app_id`` on top of the rules ``current`` has."""
    body = keep_rules(current)
    status = body["required_status_checks"] or {"strict": False, "contexts": [], "checks": []}
    found = [check for check in status["checks"] if check["context"] == context]
    if found and found[0]["app_id"] == app_id:
        return Decision("unchanged", None)
    previous = None if not found or found[0]["app_id"] == ANY_SOURCE else found[0]["app_id"]
    checks = [check for check in status["checks"] if check["context"] != context]
    checks.append({"context": context, "app_id": app_id})
    body["required_status_checks"] = {**status, "checks": checks, "contexts": [c["context"] for c in checks]}
    return Decision("bound" if found else "added", body, previous)


def kept_rules(body: dict[str, Any], context: str) -> list[str]:
    """The rules of a ``PUT`` body other than ``context``, in words."""
    words = []
    status = body.get("required_status_checks")
    if status is not None:
        others = [c["context"] for c in status["checks"] if c["context"] != context]
        if others:
            words.append(f"required checks {', '.join(others)}")
        if status["strict"]:
            words.append("branches must be up to date (strict)")
    if body.get("enforce_admins"):
        words.append("rules apply to administrators")
    reviews = body.get("required_pull_request_reviews")
    if reviews is not None:
        words.append(f"{reviews['required_approving_review_count']} approving review(s) required")
    if body.get("restrictions") is not None:
        words.append("pushes restricted")
    words += [flag.replace("_", " ") for flag in FLAGS if body.get(flag)]
    return words
