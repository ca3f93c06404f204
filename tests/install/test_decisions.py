"""Table tests of setup's and protect's pure decisions."""

from __future__ import annotations

from typing import Any

import pytest

from bot.install.manifest import build_manifest, default_manifest, form_action, github_urls
from bot.install.protection import keep_rules, kept_rules, require_check

GET_FULL: dict[str, Any] = {  # GitHub's GET shape
    "url": "u",
    "required_status_checks": {"strict": True, "contexts": ["ci", "lint"],
                               "checks": [{"context": "ci", "app_id": None},
                                          {"context": "lint", "app_id": 7}]},
    "enforce_admins": {"url": "u", "enabled": True},
    "required_pull_request_reviews": {
        "url": "u", "dismiss_stale_reviews": False, "require_code_owner_reviews": True,
        "required_approving_review_count": 2,
        "dismissal_restrictions": {"users": [{"login": "ann"}], "teams": [{"slug": "core"}], "apps": []}},
    "restrictions": {"users": [], "teams": [{"slug": "core"}], "apps": [{"slug": "deployer"}]},
    "required_linear_history": {"enabled": True}, "allow_force_pushes": {"enabled": False},
    "required_signatures": {"url": "u", "enabled": True},
}
PUT_FULL: dict[str, Any] = {
    "required_status_checks": {"strict": True, "contexts": ["ci", "lint"],
                               "checks": [{"context": "ci", "app_id": -1}, {"context": "lint", "app_id": 7}]},
    "enforce_admins": True,
    "required_pull_request_reviews": {
        "dismiss_stale_reviews": False, "require_code_owner_reviews": True,
        "required_approving_review_count": 2,
        "dismissal_restrictions": {"users": ["ann"], "teams": ["core"], "apps": []}},
    "restrictions": {"users": [], "teams": ["core"], "apps": ["deployer"]},
    "required_linear_history": True, "allow_force_pushes": False,
}
NONE_PUT = {"required_status_checks": None, "enforce_admins": False, "required_pull_request_reviews": None,
            "restrictions": None}


@pytest.mark.parametrize(("current", "expected"), [
    (None, NONE_PUT),
    ({"enforce_admins": {"enabled": False}}, NONE_PUT),
    (GET_FULL, PUT_FULL),
    ({"required_status_checks": {"strict": False, "contexts": ["old"]}},  # no checks (older servers)
     {**NONE_PUT, "required_status_checks": {"strict": False, "contexts": ["old"],
                                             "checks": [{"context": "old", "app_id": -1}]}}),
])
def test_keep_rules_turns_what_get_shows_into_the_put_that_sets_it(current: Any, expected: Any) -> None:
    assert keep_rules(current) == expected


STAGING = "modelgate/staging"
MINE = {"context": STAGING, "app_id": 5}


@pytest.mark.parametrize(("checks", "change", "after", "previous"), [
    (None, "added", [MINE], None),
    ([], "added", [MINE], None),
    ([{"context": "ci", "app_id": None}], "added", [{"context": "ci", "app_id": -1}, MINE], None),
    ([{"context": STAGING, "app_id": None}], "bound", [MINE], None),
    ([{"context": STAGING, "app_id": 9}, {"context": "ci", "app_id": 3}], "bound",
     [{"context": "ci", "app_id": 3}, MINE], 9),
    ([{"context": STAGING, "app_id": 5}], "unchanged", None, None),
])
def test_require_check(checks: list[dict[str, Any]] | None, change: str, after: list[dict[str, Any]] | None,
                       previous: int | None) -> None:
    current = None if checks is None else {"required_status_checks": {"strict": False, "checks": checks,
                                                                      "contexts": []}}
    decision = require_check(current, STAGING, 5)
    assert (decision.change, decision.previous_app_id) == (change, previous)
    if after is None:
        assert decision.body is None
    else:
        assert decision.body is not None
        status = decision.body["required_status_checks"]
        assert status["checks"] == after and status["contexts"] == [c["context"] for c in after]


def test_kept_rules_in_words() -> None:
    assert kept_rules(PUT_FULL, "lint") == [
        "required checks ci", "branches must be up to date (strict)", "rules apply to administrators",
        "2 approving review(s) required", "pushes restricted", "required linear history"]
    assert kept_rules(NONE_PUT, STAGING) == []


@pytest.mark.parametrize(("web", "api", "configured", "expected"), [
    (None, None, "https://api.github.com", ("https://github.com", "https://api.github.com")),
    (None, None, "https://ghe.corp/api/v3", ("https://ghe.corp", "https://ghe.corp/api/v3")),
    ("https://github.com/", None, "https://ghe.corp/api/v3", ("https://github.com", "https://api.github.com")),
    ("https://ghe.corp", None, "https://api.github.com", ("https://ghe.corp", "https://ghe.corp/api/v3")),
    ("http://127.0.0.1:9", "http://127.0.0.1:9/", "x", ("http://127.0.0.1:9", "http://127.0.0.1:9")),
    (None, "https://ghe.corp/api/v3", "x", ("https://ghe.corp", "https://ghe.corp/api/v3")),
])
def test_github_urls(web: str | None, api: str | None, configured: str, expected: tuple[str, str]) -> None:
    assert github_urls(web, api, configured) == expected


def test_the_manifest_is_app_yml_with_this_installations_urls() -> None:
    template = default_manifest()
    assert template["default_permissions"]["administration"] == "write"  # for `modelgate protect`
    manifest = build_manifest(template, public_url="https://mg.example.org",
                              redirect_url="http://127.0.0.1:3001/callback", name="mg-acme")
    assert manifest["hook_attributes"] == {"url": "https://mg.example.org/api/github/webhooks",
                                           "active": True}
    assert (manifest["name"], manifest["url"], manifest["redirect_url"]) == (
        "mg-acme", "https://mg.example.org", "http://127.0.0.1:3001/callback")
    assert manifest["default_events"] == template["default_events"] and template["name"] == "modelgate"
    assert form_action("https://github.com", "s t") == "https://github.com/settings/apps/new?state=s+t"
    assert form_action("https://ghe.corp", "s", "acme") == "https://ghe.corp/organizations/acme/settings/apps/new?state=s"
