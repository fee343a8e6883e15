"""The package's optional extras: which one brings a module, and checking that one is installed.

The bare install runs the control steps only; a command that needs more says which extra to
install (a usage error, exit 2), never fails later as a bug.
"""

from __future__ import annotations

import importlib.util

from xetra_etl.common.infra.errors import UsageError

# The top-level modules each extra of pyproject.toml brings that the code imports.
EXTRA_MODULES: dict[str, tuple[str, ...]] = {
    "data": ("pyarrow", "pandas", "numpy", "obstore"),
    "argo": ("hera", "requests"),
}


class ExtraMissingError(UsageError):
    """A command needs an optional extra of the package that is not installed."""

    def __init__(self, extra: str, module: str) -> None:
        self.extra, self.module = extra, module
        super().__init__(
            f"this command needs the package's {extra!r} extra ({module} is not installed): "
            f"pip install 'xetra-etl[{extra}]'"
        )


def extra_of(module: str) -> str | None:
    root = module.split(".", maxsplit=1)[0]
    return next((extra for extra, roots in EXTRA_MODULES.items() if root in roots), None)


def missing_extra(exc: BaseException) -> ExtraMissingError | None:
    """The usage error for an import that failed because an extra is not installed, if it is one."""
    if not isinstance(exc, ModuleNotFoundError) or not exc.name:
        return None
    extra = extra_of(exc.name)
    return ExtraMissingError(extra, exc.name.split(".")[0]) if extra else None


def require_extra(extra: str) -> None:
    """Raise ExtraMissingError unless every module of `extra` can be imported (imports none)."""
    for module in EXTRA_MODULES[extra]:
        try:
            found = importlib.util.find_spec(module) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            raise ExtraMissingError(extra, module)
