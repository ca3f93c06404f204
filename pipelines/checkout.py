"""The checked-out repository's code: importing its modules and functions, and ``StepError``."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, cast


class StepError(Exception):
    """A step failed: ``kind`` is the result's error_kind, ``tail`` extra log lines (a traceback)."""

    def __init__(self, kind: str, message: str, tail: list[str] | None = None) -> None:
        super().__init__(message)
        self.kind, self.message, self.tail = kind, message, tail or []


def import_function(ref: str) -> Callable[..., Any]:
    """Import "module:function" (from the repository, first on sys.path); StepError("config") if absent."""
    module_name, _, attribute = ref.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name is not None and (module_name + ".").startswith(exc.name + "."):
            raise StepError("config", f"{ref}: module {module_name!r} not found in the repository") from exc
        raise
    function = getattr(module, attribute, None)
    if function is None:
        raise StepError("config", f"{ref}: module {module_name!r} has no attribute {attribute!r}")
    if not callable(function):
        raise StepError("config", f"{ref}: {attribute!r} is a {type(function).__name__}, not a function")
    return cast(Callable[..., Any], function)


@contextmanager
def repo_imports(repo_dir: Path) -> Iterator[None]:
    """Make the repository's top-level modules importable, fresh, and forget them afterwards."""
    root = str(repo_dir)
    names = _top_level_names(repo_dir)
    saved = {name: module for name, module in sys.modules.items() if name.partition(".")[0] in names}
    for name in saved:
        del sys.modules[name]
    sys.path.insert(0, root)
    write_bytecode, sys.dont_write_bytecode = sys.dont_write_bytecode, True  # no __pycache__ in the checkout
    importlib.invalidate_caches()
    try:
        yield
    finally:
        sys.dont_write_bytecode = write_bytecode
        with suppress(ValueError):
            sys.path.remove(root)
        for name in [name for name in sys.modules if name.partition(".")[0] in names]:
            del sys.modules[name]
        sys.modules.update(saved)


@contextmanager
def repo_code_by_value(repo_dir: Path) -> Iterator[None]:
    """Pickle the repository's loaded modules by value meanwhile, so a logged model that uses the
    repository's own classes or functions loads where the checkout is absent (MLflow's scoring
    server, a later run on other code)."""
    import cloudpickle

    root = repo_dir.resolve()
    names = _top_level_names(repo_dir)
    modules = [module for name, module in list(sys.modules.items())
               if name.partition(".")[0] in names and _defined_under(module, root)]
    registered = []
    for module in modules:
        with suppress(ValueError):  # already registered
            cloudpickle.register_pickle_by_value(module)
            registered.append(module)
    try:
        yield
    finally:
        for module in registered:
            with suppress(ValueError):
                cloudpickle.unregister_pickle_by_value(module)


def _defined_under(module: object, root: Path) -> bool:
    path = getattr(module, "__file__", None)
    return bool(path) and Path(str(path)).resolve().is_relative_to(root)


def _top_level_names(repo_dir: Path) -> set[str]:
    """Module names the repository defines at its root (never our own ``pipelines`` package)."""
    names = {path.stem for path in repo_dir.glob("*.py")}
    names |= {path.name for path in repo_dir.iterdir() if path.is_dir() and path.name.isidentifier()}
    return names - {"pipelines"}
