"""The job runtime: what modelgate's own job code (``pipelines/job``) needs in every environment."""

from __future__ import annotations

from importlib.metadata import version

from packaging.utils import canonicalize_name

# Pinned only where the trusted side must read what the job writes; everything else unpinned so
# the repository's own pins win.
_UNPINNED = ("numpy", "pandas", "scikit-learn", "pydantic>=2", "pyyaml")

# Installed for the job code alone: left out of a model's recorded requirements unless the
# repository declared them itself.
RUNTIME_ONLY = frozenset({"pydantic", "pydantic-core", "annotated-types", "typing-inspection", "pyyaml"})


def job_runtime() -> tuple[str, ...]:
    """Requirement lines of the job runtime; cloudpickle pinned to the App's version (the trusted side
    and scoring read what it writes)."""
    return (*_UNPINNED, f"cloudpickle=={version('cloudpickle')}")


def is_runtime_only(name: str) -> bool:
    """Whether the distribution ``name`` is installed only for the job code."""
    return canonicalize_name(name) in RUNTIME_ONLY
