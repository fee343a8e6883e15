"""Transform: a date's aggregates and its lookback window -> the date's report rows, staged."""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from xetra_etl.common.adapters.catalog import list_source_dates
from xetra_etl.common.adapters.parquetio import to_parquet
from xetra_etl.common.app.context import StepContext
from xetra_etl.common.app.extract import aggregates_for
from xetra_etl.common.domain.dates import date_range, lookback_start, lookback_window
from xetra_etl.common.domain.quality import quality_checks
from xetra_etl.common.domain.report import report_rows
from xetra_etl.common.domain.source_layout import SourceDate
from xetra_etl.common.infra.errors import (
    InputMissingError,
    PreviousCloseUnknownError,
    XetraEtlError,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TransformResult:
    date: dt.date
    rows: int
    window: tuple[dt.date, ...]


def transform(ctx: StepContext, day: dt.date) -> TransformResult:
    started = time.time()
    lookback = ctx.config.pipeline.prev_close_lookback_days
    found = list_source_dates(ctx.source, lookback_start(day, lookback), day)
    if day not in found:
        raise InputMissingError(f"no source objects for {day}")
    aggregates, own_meta = aggregates_for(ctx, found[day])
    rows, meta, window = report_for(
        ctx,
        found,
        day,
        aggregates=aggregates,
        own_meta=own_meta,
        aggregates_of=lambda window_date: aggregates_for(ctx, found[window_date])[0],
        started_at=started,
    )
    ctx.target.put(ctx.layout.staged_report_key(ctx.run_id, day), to_parquet(rows, meta))
    log.info("transformed %s: %d report rows, %d window dates", day, rows.num_rows, len(window))
    return TransformResult(day, rows.num_rows, window)


def needs_previous_close(aggregates: pa.Table) -> bool:
    """A date without trades (a Saturday of reference prices) has no change to compute."""
    return bool(aggregates.num_rows > 0)


def report_for(
    ctx: StepContext,
    listing: Mapping[dt.date, SourceDate],
    day: dt.date,
    *,
    aggregates: pa.Table,
    own_meta: Mapping[str, Any],
    aggregates_of: Callable[[dt.date], pa.Table],
    started_at: float,
) -> tuple[pa.Table, dict[str, Any], tuple[dt.date, ...]]:
    """A date's report rows, the metadata that load records with them, and the window it used.

    `listing` holds the source dates up to `day` (at least its lookback window before it; dates
    without a folder are simply absent). The window's aggregates come from `aggregates_of`, and
    only when the date needs a previous close (`needs_previous_close`); a window date that cannot
    be read makes the previous close unknown.
    """
    own = listing[day]
    lookback = ctx.config.pipeline.prev_close_lookback_days
    # A run's listing may hold years of dates: only the lookback's days are looked up.
    nearby = [d for d in date_range(lookback_start(day, lookback), day) if d in listing]
    window_dates = lookback_window(day, nearby, lookback)
    window: dict[dt.date, pa.Table] = {}
    if needs_previous_close(aggregates):
        for window_date in window_dates:
            try:
                window[window_date] = aggregates_of(window_date)
            except PreviousCloseUnknownError:
                raise
            except XetraEtlError as exc:
                raise PreviousCloseUnknownError(window_date, exc) from exc
    rows = report_rows(day, aggregates, window)
    previous = window[max(window)].num_rows if window else None
    checks, warnings = quality_checks(day, rows, previous)
    for warning in warnings:  # the extraction's own warnings were logged when it ran
        log.warning("%s: %s", day, warning)
    warnings = [*own_meta.get("warnings", []), *warnings]
    meta = {
        "fingerprint": own.fingerprint,
        "inputs_fingerprint": ctx.inputs_digest(
            day, {d: listing[d].fingerprint for d in window_dates}
        ),
        "started_at": started_at,
        "warnings": warnings,
        "checks": checks,
    }
    return rows, meta, tuple(sorted(window))
