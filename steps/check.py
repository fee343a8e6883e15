"""xetra-etl check: validate the config, reach the source and the target; one line per check."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from xetra_etl.common.app.check import CheckResult, check_source, check_target, failed
from xetra_etl.common.entrypoints.entry import (
    add_config_arg,
    add_date_range_args,
    build_context,
    find_config,
    report_failure,
    run_date_range,
)
from xetra_etl.common.infra import logs
from xetra_etl.common.infra.config import load_config
from xetra_etl.common.infra.errors import ConfigError, ExitCode, UsageError, XetraEtlError

STEP = "check"


def build_parser(prog: str = "xetra-etl check") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Check that a run can work: the config is valid, the source can be listed "
        "(and how many source dates lie in the range), and the target takes a conditional "
        "write, which is then removed. Prints one line per check; exits 0 when all pass, "
        "else with the exit code of the first failure (75 when a retry may help).",
    )
    add_config_arg(parser)
    add_date_range_args(
        parser,
        first="count source dates from here (default: pipeline.first_date)",
        last="count source dates up to here (default: today, UTC)",
    )
    return parser


def _print(result: CheckResult) -> None:
    sys.stdout.write(result.line() + "\n")
    sys.stdout.flush()


def _checks(args: argparse.Namespace) -> int:
    try:
        path = find_config(args.config)
        config = load_config(path)
    except ConfigError as exc:
        _print(CheckResult("config", exc.head, int(exc.exit_code)))
        sys.stdout.write("".join(f"              - {problem}\n" for problem in exc.problems))
        return int(exc.exit_code)
    _print(CheckResult("config", f"{path}: valid"))
    try:
        first, last = run_date_range(args, config)
    except UsageError as exc:
        _print(failed("dates", exc))
        return int(exc.exit_code)
    try:
        ctx = build_context(config, "check")
    except XetraEtlError as exc:
        _print(failed("stores", exc))
        return int(exc.exit_code)
    results = [check_source(ctx.source, first, last)]
    _print(results[-1])
    results.append(check_target(ctx.target, ctx.layout))
    _print(results[-1])
    return int(ExitCode.combine(r.exit_code for r in results))


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logs.configure(verbosity=args.verbosity)
    logs.set_context(step=STEP)
    try:
        return _checks(args)
    except (Exception, KeyboardInterrupt) as exc:
        return report_failure(STEP, exc)
