"""Load: a staged report -> the date's Hive partition, then the date's job-control record.

Order matters for crash safety: the partition is written (one object, replaced atomically)
before the record says `done`, so no date is ever marked done without its data.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from xetra_etl.common.adapters.parquetio import from_parquet, to_parquet
from xetra_etl.common.app.context import StepContext, utc_now
from xetra_etl.common.domain.jobcontrol import DateRecord, PartitionFile, State
from xetra_etl.common.infra.errors import InputMissingError, ObjectNotFoundError
from xetra_etl.common.infra.faults import crash_point

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LoadResult:
    date: dt.date
    rows: int


def load(ctx: StepContext, day: dt.date) -> LoadResult:
    layout = ctx.layout
    staged_key = layout.staged_report_key(ctx.run_id, day)
    try:
        staged = ctx.target.get(staged_key).data
    except ObjectNotFoundError as exc:
        raise InputMissingError(
            f"no staged report for {day} in run {ctx.run_id} "
            f"({ctx.target.location(staged_key)}); run transform first"
        ) from exc
    rows, meta = from_parquet(staged)
    return write_report(ctx, day, rows, meta)


def write_report(
    ctx: StepContext, day: dt.date, rows: pa.Table, meta: dict[str, Any]
) -> LoadResult:
    """The date's partition, then its `done` record (see the module docstring for the order)."""
    layout = ctx.layout
    partition = layout.partition_key(day)
    written: frozenset[PartitionFile] = frozenset()
    if rows.num_rows:
        data = to_parquet(output_table(ctx, rows), meta)
        etag = ctx.target.put(partition, data)
        name = partition.removeprefix(layout.partition_prefix(day))
        written = frozenset({PartitionFile.of(name, len(data), etag)})
    else:
        ctx.target.delete(partition)  # a date without trades has no partition
    crash_point("load:partition-written")
    started = float(meta.get("started_at", time.time()))
    ctx.jobs.write(
        DateRecord(
            date=day,
            state=State.DONE,
            fingerprint=str(meta["fingerprint"]),
            inputs_fingerprint=str(meta["inputs_fingerprint"]),
            row_count=rows.num_rows,
            run_id=ctx.run_id,
            processed_at=utc_now(),
            duration_seconds=round(time.time() - started, 3),
            warnings=tuple(meta.get("warnings", ())),
            checks=dict(meta.get("checks", {})),
            partition=written,
        )
    )
    crash_point("load:record-written")
    if rows.num_rows:
        log.info("loaded %s: %d rows into %s", day, rows.num_rows, ctx.target.location(partition))
    else:
        log.info("loaded %s: no trades, so no partition", day)

    return LoadResult(day, rows.num_rows)


def output_table(ctx: StepContext, rows: pa.Table) -> pa.Table:
    """Report rows as stored: output names from config; `date` only in the partition path."""
    names = ctx.config.report.columns
    kept = [c for c in rows.column_names if c != "date"]
    return rows.select(kept).rename_columns([names[c] for c in kept])
