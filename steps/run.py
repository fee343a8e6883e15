"""xetra-etl run: the whole pipeline locally (discover, per-date steps in workers, merge)."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from xetra_etl.common.domain.wording import noun
from xetra_etl.common.entrypoints.entry import build_context, run_step
from xetra_etl.common.infra.config import Config
from xetra_etl.common.infra.errors import ExitCode
from xetra_etl.common.infra.tuning import tune_data_process
from xetra_etl.steps.args import (
    add_config_arg,
    add_date_range_args,
    add_run_id_arg,
    positive_int,
    run_date_range,
)

if TYPE_CHECKING:
    from xetra_etl.common.app.merge import RunSummary
    from xetra_etl.common.entrypoints.localrun import RunResult

STEP = "run"
log = logging.getLogger("xetra_etl")


def build_parser(prog: str = "xetra-etl run") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Run the whole pipeline on this machine: discover the dates that need work, "
        "extract, transform and load them on parallel worker threads, then merge. Works on "
        "local directories and on any S3 endpoint alike. Ctrl-C stops it (exit 130); run it "
        "again to resume. The summary shows the newest source date and its age; a source older "
        "than source.freshness.error_after_days makes the run exit 66 once its work is done.",
    )
    add_config_arg(parser)
    add_run_id_arg(parser, required=False)
    add_date_range_args(
        parser,
        first="first date to report (default: pipeline.first_date)",
        last="last date to report (default: today, UTC)",
    )
    parser.add_argument(
        "--workers",
        type=positive_int,
        default=None,
        metavar="N",
        help="worker threads (default: pipeline.workers)",
    )
    parser.add_argument(
        "--json", action="store_true", help="print the run summary as JSON instead of a table"
    )
    return parser


def summary_table(summary: RunSummary) -> str:
    lines = [
        f"run {summary.run_id}  {summary.first_date} .. {summary.last_date}",
        f"  processed  {summary.done:>6} {noun(summary.done, 'date'):<5}  {summary.rows:>10} "
        f"{noun(summary.rows, 'row')}",
        f"  skipped    {summary.skipped:>6} {noun(summary.skipped, 'date'):<5}  (up to date)",
        f"  failed     {summary.failed:>6} {noun(summary.failed, 'date')}",
    ]
    for outcome in summary.dates:
        if outcome.state != "done":
            lines.append(f"    {outcome.date}  exit {outcome.exit_code}  {outcome.error}")
    freshness = summary.extra.get("source_freshness") or {}
    if freshness:
        lines.append(f"  source     {freshness['state']:<6}  {freshness['detail']}")
    return "\n".join(lines)


def stale_source_exit(report: RunSummary, exit_code: int) -> int:
    """The run's exit code, made 66 (missing input) when the source is stale past
    `source.freshness.error_after_days` and nothing else failed."""
    freshness = report.extra.get("source_freshness") or {}
    if freshness.get("state") != "error":
        return exit_code
    log.error(
        "run failed (exit %d): %s; point source.uri at a source that is still updated, or "
        "raise source.freshness.error_after_days",
        ExitCode.NO_INPUT,
        freshness["detail"],
    )
    return int(ExitCode.combine([exit_code, ExitCode.NO_INPUT]))


def interrupted_summary(run_id: str, result: RunResult) -> str:
    """What an interrupted run did, and where a rerun resumes."""
    plan, not_finished = result.plan, result.not_finished
    lines = [
        f"run {run_id} interrupted  {plan.first_date} .. {plan.last_date}",
        f"  done          {len(result.done):>6} {noun(len(result.done), 'date')}",
        f"  failed        {len(result.failed):>6} {noun(len(result.failed), 'date')}",
        f"  not finished  {len(not_finished):>6} {noun(len(not_finished), 'date')}",
    ]
    for day, outcome in result.failed.items():
        lines.append(f"    {day}  exit {outcome.exit_code}  {outcome.error}")
    resume = resume_line(result)
    if resume:
        lines.append(resume)
    return "\n".join(lines)


def resume_line(result: RunResult) -> str | None:
    if not result.not_finished:
        return None
    return (
        f"resume: run the same command again; it starts at {result.not_finished[0]} and redoes "
        "only the dates that are not done"
    )


def print_interrupted(summary: str, resume: str | None) -> None:
    """The summary of an interrupted run, kept when its reader is gone.

    Ctrl-C during `xetra-etl run | cat` stops the reader too: the summary then goes to stderr.
    The resume line goes to stderr as well whenever stdout is not the terminal.
    """
    try:
        sys.stdout.write(summary + "\n")
        sys.stdout.flush()
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no error at exit
        sys.stderr.write(summary + "\n")
        return
    if resume and not sys.stdout.isatty():
        sys.stderr.write(resume + "\n")


def interrupted_json(run_id: str, result: RunResult) -> str:
    return json.dumps(
        {
            "run_id": run_id,
            "interrupted": True,
            "first_date": result.plan.first_date,
            "last_date": result.plan.last_date,
            "done": [d.isoformat() for d in result.done],
            "failed": {d.isoformat(): o.error for d, o in result.failed.items()},
            "not_finished": [d.isoformat() for d in result.not_finished],
        },
        indent=2,
    )


def _run(args: argparse.Namespace, config: Config) -> int:
    from xetra_etl.common.entrypoints.localrun import run_local

    first, last = run_date_range(args, config)
    ctx = build_context(config, args.run_id)
    workers = args.workers or config.pipeline.workers
    result = run_local(ctx, first=first, last=last, workers=workers)
    if result.summary is None:
        text = interrupted_json if args.json else interrupted_summary
        print_interrupted(text(args.run_id, result), resume_line(result))
        if result.abandoned:
            # Python would wait for the abandoned worker threads at exit; the run is over, and
            # leaving at any moment is safe (a date is done only once its partition is written).
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(result.exit_code)
        return result.exit_code
    if args.json:
        sys.stdout.write(result.summary.to_json().decode() + "\n")
    else:
        log_key = ctx.layout.run_log_key(args.run_id)
        sys.stdout.write(summary_table(result.summary) + "\n")
        sys.stdout.write(f"  log: {ctx.target.location(log_key)}\n")
    return stale_source_exit(result.summary, result.exit_code)


def main(argv: Sequence[str] | None = None) -> int:
    tune_data_process()
    return run_step(STEP, build_parser(), argv, _run)
