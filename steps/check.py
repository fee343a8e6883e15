"""xetra-etl check: validate the config, reach the source and the target; one line per check."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Iterator, Sequence

from xetra_etl.common.adapters.storage.local import LocalStore
from xetra_etl.common.app.check import (
    CheckResult,
    check_columns,
    check_freshness,
    check_source,
    check_target,
    failed,
)
from xetra_etl.common.entrypoints.entry import build_context, find_config, report_failure
from xetra_etl.common.infra import logs
from xetra_etl.common.infra.config import load_config
from xetra_etl.common.infra.errors import ConfigError, ExitCode, UsageError, XetraEtlError
from xetra_etl.common.ports import ObjectStore
from xetra_etl.steps.args import add_config_arg, add_date_range_args, run_date_range

STEP = "check"
# A probe gives up soon on a store that does not answer (unless the environment says otherwise):
# an unreachable endpoint fails the check within seconds, not after a run's patient retries.
PROBE_ENV = {
    "AWS_MAX_ATTEMPTS": "2",
    "XETRA_S3_CONNECT_TIMEOUT": "2",
    "XETRA_S3_READ_TIMEOUT": "10",
}


def build_parser(prog: str = "xetra-etl check") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Check that a run can work: the config is valid, the source can be listed "
        "(and how many source dates lie in the range), and the target takes a conditional "
        "write, which is then removed (on a local target nothing is left behind). Also shows the "
        "newest source date and its age (source.freshness) and reads one source header to "
        "check the column mapping. Prints one line per check; exits 0 when all pass (a stale "
        "source past warn_after_days only warns), else with the exit code of the first "
        "failure: 66 a source older than error_after_days, 78 a bad config or column "
        "mapping, 75 when a retry may help.",
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
    for name, value in PROBE_ENV.items():
        os.environ.setdefault(name, value)
    try:
        ctx = build_context(config, "check")
    except XetraEtlError as exc:
        _print(failed("stores", exc))
        return int(exc.exit_code)
    listed, dates = check_source(ctx.source, first, last)
    results = [listed]
    _print(results[-1])
    if listed.ok:
        results.append(check_columns(ctx.source, dates, config.source.columns))
        _print(results[-1])
        results.append(check_freshness(dates, first, last, config.source.freshness))
        _print(results[-1])
    with _leaving_no_trace(ctx.target):
        results.append(check_target(ctx.target, ctx.layout))
    _print(results[-1])
    return int(ExitCode.combine(r.exit_code for r in results))


@contextlib.contextmanager
def _leaving_no_trace(target: ObjectStore) -> Iterator[None]:
    """On a local target, the folders and the lock file that the write check creates (the
    target itself, when it did not exist yet) are removed again afterwards."""
    if not isinstance(target, LocalStore):
        yield
        return
    lock = target.root / target.scratch / "lock"
    created = []
    for path in (lock, *lock.parents):
        if path.exists():
            break
        created.append(path)
    try:
        yield
    finally:
        for path in created:  # the deepest first; a folder that now holds anything stays
            try:
                path.rmdir() if path.is_dir() else path.unlink()
            except OSError:
                break


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logs.configure(verbosity=args.verbosity)
    logs.set_context(step=STEP)
    try:
        return _checks(args)
    except (Exception, KeyboardInterrupt) as exc:
        return report_failure(STEP, exc)
