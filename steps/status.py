"""xetra-etl status: every date's state from job control, as a table (or CSV, or JSON)."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import sys
from collections.abc import Sequence

from xetra_etl.common.adapters.catalog import (
    list_partitions,
    list_planned_source_dates,
)
from xetra_etl.common.adapters.jobstore import Records
from xetra_etl.common.app.context import StepContext
from xetra_etl.common.domain.freshness import Freshness
from xetra_etl.common.domain.jobcontrol import (
    DateRecord,
    PartitionFile,
    Reason,
    State,
    partition_problem,
    render_meta,
)
from xetra_etl.common.domain.wording import counted
from xetra_etl.common.entrypoints.entry import build_context, run_step
from xetra_etl.common.infra.config import Config
from xetra_etl.common.infra.errors import XetraEtlError
from xetra_etl.steps.args import add_config_arg, add_date_range_args, run_date_range

STEP = "status"
PENDING = "pending"  # a source date in range without a record: never started

log = logging.getLogger(__name__)


def build_parser(prog: str = "xetra-etl status") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Print each date's state (done/failed), fingerprint, row count, processing "
        "time and run id from the meta file and the date records in the target, and the reason "
        "the next run will redo it: retry (failed), partition-missing or partition-changed (its "
        "report partition was deleted or overwritten since). Source dates in the range that "
        "have no record yet are listed as pending (reason new).",
    )
    add_config_arg(parser)
    add_date_range_args(
        parser,
        first="pending dates from here (default: pipeline.first_date)",
        last="pending dates up to here (default: today, UTC)",
    )
    parser.add_argument(
        "--format",
        choices=("table", "csv", "json"),
        default="table",
        help="table for people (default), csv as the meta file, json for programs",
    )
    return parser


def redo_reason(record: DateRecord, partition: set[PartitionFile] | None) -> str:
    """Why the next run will process the date again, as far as job control and the target tell
    (a changed source shows only when the source is listed: `xetra-etl discover`)."""
    if record.state is not State.DONE:
        return str(Reason.RETRY)
    problem = partition_problem(record, partition)
    return str(problem) if problem else ""


def source_dates(ctx: StepContext, first: dt.date, last: dt.date) -> list[dt.date] | str:
    """The source dates in [first, last], listed once for the pending dates and the freshness
    line; or why the source cannot be listed: job control is still worth showing."""
    try:
        return sorted(list_planned_source_dates(ctx.source, first, last))
    except XetraEtlError as exc:
        log.warning("pending dates unknown: %s", exc)
        return f"{ctx.source.uri} cannot be listed: {exc}"


def _run(args: argparse.Namespace, config: Config) -> int:
    first, last = run_date_range(args, config)
    ctx = build_context(config, "status")
    records = ctx.jobs.load()
    partitions = list_partitions(ctx.target, ctx.layout.report_prefix)
    reasons = {
        day: redo_reason(record, partitions.get(day)) for day, (record, _) in records.items()
    }
    if args.format == "csv":
        sys.stdout.write(render_meta(records).decode())
        return 0
    found = source_dates(ctx, first, last)
    # Source dates in range without a record: never started (a run was stopped before them,
    # or has not come yet).
    pending = [day for day in found if day not in records] if isinstance(found, list) else []
    if args.format == "json":
        sys.stdout.write(json_rows(records, reasons, pending) + "\n")
        return 0
    lines = [*table_lines(records, reasons, pending), summary_line(records, reasons, pending)]
    lines.append(f"source: {freshness_line(ctx, found, first, last)}")
    sys.stdout.write("\n".join(lines) + "\n")
    return 0


def json_rows(records: Records, reasons: dict[dt.date, str], pending: list[dt.date]) -> str:
    rows = [
        {**json.loads(record.to_json()), "reason": reasons[day]}
        for day, (record, _) in records.items()
    ]
    rows += [
        {"date": day.isoformat(), "state": PENDING, "reason": str(Reason.NEW)} for day in pending
    ]
    return json.dumps(sorted(rows, key=lambda r: r["date"]), indent=2)


def table_lines(records: Records, reasons: dict[dt.date, str], pending: list[dt.date]) -> list[str]:
    """The table's header and a line per date, recorded or pending, in date order."""
    header = (
        f"{'date':<10}  {'state':<6}  {'rows':>7}  {'processed_at':<25}  {'run_id':<30}  "
        f"{'quality':<8}  {'reason':<17}  note"
    )
    lines = [header, "-" * len(header)]
    for day in sorted([*records, *pending]):
        if day not in records:
            lines.append(
                f"{day.isoformat():<10}  {PENDING:<6}  {'':>7}  {'':<25}  {'':<30}  "
                f"{'':<8}  {Reason.NEW!s}"
            )
            continue
        record = records[day][0]
        note = record.error or " | ".join(record.warnings)
        quality = "warn" if record.warnings else ("ok" if record.checks else "-")
        lines.append(
            f"{day.isoformat():<10}  {record.state!s:<6}  {record.row_count:>7}  "
            f"{record.processed_at:<25}  {record.run_id:<30}  {quality:<8}  {reasons[day]:<17}  "
            f"{note}"
        )
    return lines


def summary_line(records: Records, reasons: dict[dt.date, str], pending: list[dt.date]) -> str:
    done = sum(1 for r, _ in records.values() if r.state == "done")
    touched = sum(1 for r in reasons.values() if r.startswith("partition-"))
    summary = (
        f"{counted(len(records) + len(pending), 'date')}: {done} done, "
        f"{len(records) - done} failed, {len(pending)} pending"
    )
    if touched:
        summary += (
            f"; {touched} done with a partition missing or changed (the next run redoes them)"
        )
    return summary


def freshness_line(
    ctx: StepContext, found: list[dt.date] | str, first: dt.date, last: dt.date
) -> str:
    """The source's newest date in [first, last] and its age on `last` (today by default), as
    `check` and `run` count it."""
    if isinstance(found, str):
        return found
    fresh = Freshness.of(found, since=first, as_of=last, rule=ctx.config.source.freshness)
    return f"{ctx.source.uri}: {fresh.describe()}"


def main(argv: Sequence[str] | None = None) -> int:
    return run_step(STEP, build_parser(), argv, _run)
