"""xetra-etl: one command with a subcommand per step and per local operation."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence

from xetra_etl.common.infra.extras import ExtraMissingError, missing_extra, require_extra

# Subcommand -> (module, one-line help). Modules are imported only when used, so the discover
# image (no pandas, no pyarrow) can still run `xetra-etl discover`.
COMMANDS: dict[str, tuple[str, str]] = {
    "run": (
        "xetra_etl.steps.run",
        "run the whole pipeline locally (discover, per-date steps, merge)",
    ),
    "check": ("xetra_etl.steps.check", "validate the config and reach the source and the target"),
    "discover": ("xetra_etl.steps.discover", "write the JSON list of dates that need work"),
    "extract": ("xetra_etl.steps.extract", "stage the daily aggregates of a work item's dates"),
    "transform": ("xetra_etl.steps.transform", "compute a work item's report rows"),
    "load": ("xetra_etl.steps.load", "write a work item's partitions and mark its dates done"),
    "merge": (
        "xetra_etl.steps.merge",
        "record the run, rebuild the meta file, write the run summary",
    ),
    "notify": ("xetra_etl.steps.notify", "post the run's summary to a webhook (Argo exit hook)"),
    "status": ("xetra_etl.steps.status", "print every date's state from job control"),
    "show": ("xetra_etl.steps.show", "print where the report is and a few of its rows"),
    "demo-data": ("xetra_etl.steps.demo_data", "write realistic Xetra-format source files"),
    "workflows": (
        "xetra_etl.workflows.cli",
        "render the Argo manifests (workflows render --out DIR)",
    ),
    "argo": (
        "xetra_etl.workflows.cli",
        "apply, lint, submit, backfill or retry on an Argo server",
    ),
}


# The optional extra (pyproject.toml) each command needs beyond the bare install; its --help
# works without it.
NEEDS_EXTRA: dict[str, str] = {
    "run": "data",
    "extract": "data",
    "transform": "data",
    "load": "data",
    "show": "data",
    "demo-data": "data",
    "workflows": "argo",
    "argo": "argo",
}
HELP_FLAGS = {"-h", "--help"}


def usage() -> str:
    width = max(map(len, COMMANDS))
    lines = [
        "usage: xetra-etl COMMAND [ARGS] (xetra-etl COMMAND --help for its options)",
        "       xetra-etl --version",
        "",
        "The config is --config FILE, else $XETRA_CONFIG, else ./xetra-etl.yaml.",
        "",
    ]
    lines += [f"  {name:<{width}}  {help_}" for name, (_, help_) in COMMANDS.items()]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in {"-h", "--help", "help"}:
        sys.stdout.write(usage())
        return 0
    if args[0] in {"-V", "--version"}:
        from xetra_etl.common.infra.naming import version

        sys.stdout.write(f"xetra-etl {version()}\n")
        return 0
    command, rest = args[0], args[1:]
    if command not in COMMANDS:
        sys.stderr.write(f"xetra-etl: unknown command {command!r}\n\n{usage()}")
        return 2
    try:
        if command in NEEDS_EXTRA and not HELP_FLAGS & set(rest):
            require_extra(NEEDS_EXTRA[command])
        return _run_command(command, rest)
    except ModuleNotFoundError as exc:
        usage_error = missing_extra(exc)
        if usage_error is None:
            raise
        sys.stderr.write(f"xetra-etl {command}: {usage_error}\n")
        return int(usage_error.exit_code)
    except ExtraMissingError as exc:
        sys.stderr.write(f"xetra-etl {command}: {exc}\n")
        return int(exc.exit_code)


def _run_command(command: str, rest: list[str]) -> int:
    module_name = COMMANDS[command][0]
    module = __import__(module_name, fromlist=["main"])
    step_main: Callable[[Sequence[str]], int] = module.main
    if module_name == "xetra_etl.workflows.cli":
        return step_main([command, *rest])  # the group word sets the usage's program name
    return step_main(rest)


if __name__ == "__main__":
    raise SystemExit(main())
