"""Extract: a date's source objects -> its daily aggregates, staged by fingerprint.

The staged aggregates (`<staging>/daily/<date>/<fingerprint>.parquet`) are reused by every later
run and by every date whose previous close needs them, as long as the source is unchanged.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from xetra_etl.common.adapters.catalog import list_source_dates
from xetra_etl.common.adapters.parquetio import from_parquet, to_parquet
from xetra_etl.common.app.context import StepContext
from xetra_etl.common.domain.source_layout import SourceDate
from xetra_etl.common.domain.wording import counted
from xetra_etl.common.infra.errors import InputMissingError, ObjectNotFoundError
from xetra_etl.common.kernels import daily_aggregates

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ExtractResult:
    date: dt.date
    fingerprint: str
    objects: int
    rows: int
    securities: int
    reused: bool


def extract(ctx: StepContext, day: dt.date) -> ExtractResult:
    source_date = source_date_of(ctx, day)
    key = _aggregates_key(ctx, source_date)
    if any(True for _ in ctx.target.list(key)):
        log.info(
            "aggregates for %s are staged already (fingerprint %s)", day, source_date.fingerprint
        )
        table, meta = from_parquet(ctx.target.get(key).data)
        return ExtractResult(
            day,
            source_date.fingerprint,
            len(source_date.objects),
            meta.get("rows", 0),
            table.num_rows,
            reused=True,
        )
    table, meta = _extract_source(ctx, source_date)
    return ExtractResult(
        day,
        source_date.fingerprint,
        len(source_date.objects),
        meta["rows"],
        table.num_rows,
        reused=False,
    )


def source_date_of(ctx: StepContext, day: dt.date) -> SourceDate:
    found = list_source_dates(ctx.source, day, day)
    if day not in found:
        raise InputMissingError(
            f"no source objects for {day} under {ctx.source.location(day.isoformat() + '/')}"
        )
    return found[day]


@dataclass(frozen=True)
class StagedAggregates:
    """The staged aggregates' keys from one listing: which dates have aggregates to reuse, and
    which stale copies to remove, without a request per date. Valid while no other run writes
    staging, which the run lock ensures."""

    keys: frozenset[str]

    @classmethod
    def listed(cls, ctx: StepContext, since: dt.date) -> StagedAggregates:
        root = ctx.layout.aggregates_root
        found = ctx.target.list(root, start_after=f"{root}{since.isoformat()}")
        return cls(frozenset(info.key for info in found))

    def under(self, prefix: str) -> list[str]:
        return sorted(key for key in self.keys if key.startswith(prefix))


def aggregates_for(
    ctx: StepContext, source_date: SourceDate, staged: StagedAggregates | None = None
) -> tuple[pa.Table, dict[str, Any]]:
    """The date's aggregates (and their metadata) from staging; extracted first when missing.

    `staged`, when given, says what staging holds: no GET for aggregates it does not list.
    """
    key = _aggregates_key(ctx, source_date)
    if staged is None or key in staged.keys:
        try:
            return from_parquet(ctx.target.get(key).data)
        except ObjectNotFoundError:
            pass
    log.info("no staged aggregates for %s: extracting them from the source", source_date.date)
    return _extract_source(ctx, source_date, staged)


def _extract_source(
    ctx: StepContext, source_date: SourceDate, staged: StagedAggregates | None = None
) -> tuple[pa.Table, dict[str, Any]]:
    date_bars = ctx.reader.read_date(source_date)
    table = daily_aggregates(
        date_bars.bars,
        date_bars.minutes,
        include_zero_volume_rows=ctx.config.pipeline.include_zero_volume_rows,
        isin_codes=date_bars.isin_codes,
    )
    warnings: list[str] = []
    empty = [obj.key for obj in source_date.objects if obj.size == 0]
    if empty:
        warnings.append(f"{counted(len(empty), 'empty (0-byte) object')} skipped, e.g. {empty[0]}")
    if date_bars.duplicates:
        warnings.append(f"{counted(date_bars.duplicates, 'exact duplicate row')} dropped")
    meta: dict[str, Any] = {
        "fingerprint": source_date.fingerprint,
        "rows": date_bars.rows_read,
        "warnings": warnings,
    }
    key = _aggregates_key(ctx, source_date)
    ctx.target.put(key, to_parquet(table, meta))
    prefix = ctx.layout.aggregates_prefix(source_date.date)
    if staged is None:
        kept = [info.key for info in ctx.target.list(prefix)]
    else:
        kept = staged.under(prefix)
    for stale in kept:
        if stale != key:
            ctx.target.delete(stale)
    log.info(
        "extracted %s: %d objects, %d rows, %d securities traded",
        source_date.date,
        len(source_date.objects),
        date_bars.rows_read,
        table.num_rows,
    )
    for warning in warnings:
        log.warning("%s: %s", source_date.date, warning)
    return table, meta


def _aggregates_key(ctx: StepContext, source_date: SourceDate) -> str:
    # Keyed by the source fingerprint and the settings that shape aggregates, so neither a
    # changed source object nor a changed column mapping can reuse stale aggregates.
    return ctx.layout.aggregates_key(
        source_date.date, f"{source_date.fingerprint}-{ctx.extract_settings}"
    )
