"""xetra-etl run: the whole pipeline locally (discover, per-date steps in workers, merge)."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections.abc import Sequence

from common.app.merge import RunReport
from common.config import Config
from common.entry import add_config_arg, add_run_id_arg, optional_date, run_step
from common.localrun import run_local

STEP = "run"


def build_parser(prog: str = "xetra-etl run") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Run the whole pipeline on this machine: discover the dates that need work, "
        "extract, transform and load them on parallel worker threads, then merge. Works on "
        "local directories and on any S3 endpoint alike.",
    )
    add_config_arg(parser)
    add_run_id_arg(parser, required=False)
    parser.add_argument("--first-date", help="YYYY-MM-DD (default: pipeline.first_date)")
    parser.add_argument("--last-date", help="YYYY-MM-DD (default: today, UTC)")
    parser.add_argument(
        "--workers", type=int, default=None, help="worker threads (default: pipeline.workers)"
    )
    parser.add_argument(
        "--json", action="store_true", help="print the run report as JSON instead of a table"
    )
    return parser


def summary_table(report: RunReport) -> str:
    lines = [
        f"run {report.run_id}  {report.first_date} .. {report.last_date}",
        f"  processed  {report.done:>6} dates  {report.rows:>10} rows",
        f"  skipped    {report.skipped:>6} dates  (up to date)",
        f"  failed     {report.failed:>6} dates",
    ]
    for outcome in report.dates:
        if outcome.state != "done":
            lines.append(f"    {outcome.date}  exit {outcome.exit_code}  {outcome.error}")
    return "\n".join(lines)


def _run(args: argparse.Namespace, config: Config) -> int:
    first = optional_date(args.first_date, "--first-date") or config.pipeline.first_date
    last = optional_date(args.last_date, "--last-date") or dt.datetime.now(dt.UTC).date()
    workers = args.workers or config.pipeline.workers
    result = run_local(config, run_id=args.run_id, first=first, last=last, workers=workers)
    if args.json:
        sys.stdout.write(result.report.to_json().decode() + "\n")
    else:
        sys.stdout.write(summary_table(result.report) + "\n")
    return result.exit_code


def main(argv: Sequence[str] | None = None) -> int:
    return run_step(STEP, build_parser(), argv, _run)
