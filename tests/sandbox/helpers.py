"""Shared bits of the sandbox tests: the OpenAPI subset, the corpus, a seeded repository."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from typing import Any

import pytest
from openapi_schema_validator import OAS30Validator

from tests.corpus import OPENAPI, WEBHOOKS
from tests.fixtures_sandbox import SandboxHandle

OWNER, NAME = "octo", "hello"
FILES = {"README.md": "# hello\n", "src/model.py": "WEIGHTS = [1, 2, 3]\n",
         "configs/train.yaml": "lr: 0.1\n"}


@cache
def spec() -> dict[str, Any]:
    """The OpenAPI subset (skips the test when the shared corpus is absent)."""
    if not OPENAPI.exists():
        pytest.skip(f"no OpenAPI subset at {OPENAPI}")
    return json.loads(OPENAPI.read_text())


def corpus(name: str) -> dict[str, Any]:
    """A corpus webhook payload by name, e.g. ``pull_request.opened.1``."""
    path = WEBHOOKS / f"{name}.json"
    if not path.exists():
        pytest.skip(f"no corpus payload {path}")
    return json.loads(path.read_text())


def validator_for(schema: dict[str, Any]) -> OAS30Validator:
    """A validator that resolves ``#/components/...`` refs of the subset."""
    return OAS30Validator({"components": spec()["components"], "allOf": [schema]},
                          format_checker=OAS30Validator.FORMAT_CHECKER)


def response_schema(method: str, path: str, status: int,
                    content_type: str = "application/json") -> dict[str, Any] | None:
    """The documented schema of one response; fails if ``status`` is undocumented."""
    responses = spec()["paths"][path][method.lower()]["responses"]
    assert str(status) in responses, f"{method} {path} does not document {status}"
    response = responses[str(status)]
    if "$ref" in response:
        response = spec()["components"]["responses"][response["$ref"].rsplit("/", 1)[-1]]
    content = response.get("content", {}).get(content_type)
    return content["schema"] if content else None


def assert_conforms(method: str, path: str, status: int, body: Any,
                    content_type: str = "application/json") -> None:
    """``body`` is valid for the documented ``status`` response of ``method path``."""
    schema = response_schema(method, path, status, content_type)
    if schema is not None:
        _assert_valid(schema, body)


def assert_component(name: str, body: Any) -> None:
    """``body`` is valid against ``#/components/schemas/<name>``."""
    _assert_valid({"$ref": f"#/components/schemas/{name}"}, body)


def _assert_valid(schema: dict[str, Any], body: Any) -> None:
    errors = [e for e in validator_for(schema).iter_errors(body) if not _nullable_enum_null(e)]
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:5])


def _nullable_enum_null(error: Any) -> bool:
    """GitHub sends ``null`` for nullable enums (e.g. an unfinished check run's ``conclusion``);
    OAS 3.0.3 strictly wants ``null`` listed in the enum, which GitHub's description omits (the
    corpus README lists this for the check-run example). That one case is accepted."""
    return (error.validator == "enum" and error.instance is None
            and error.schema.get("nullable") is True)


@dataclass
class Seeded:
    """A repository with a feature branch one commit ahead and PR #1 from it."""

    base_sha: str
    head_sha: str
    number: int


def seed(sandbox: SandboxHandle, author: str = "alice") -> Seeded:
    """Create ``octo/hello`` (main), a ``feature`` commit and PR #1 by ``author``."""
    base = sandbox.client.create_repo(OWNER, NAME, files=FILES)
    head = sandbox.client.commit(OWNER, NAME, {"src/model.py": "WEIGHTS = [4, 5, 6]\n"},
                                 branch="feature", author=author)
    pull = sandbox.client.open_pull(OWNER, NAME, "feature", author=author, title="Retrain")
    return Seeded(base["sha"], head["sha"], pull["number"])


REPO = f"/repos/{OWNER}/{NAME}"
