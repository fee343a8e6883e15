"""Transform: a date's aggregates and its lookback window -> the date's report rows, staged."""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from common.app.context import Pipeline
from common.app.extract import aggregates_for
from common.catalog import list_source_dates
from common.domain.dates import lookback_start
from common.domain.layout import SourceDate
from common.domain.quality import quality_checks
from common.domain.report import report_rows
from common.errors import InputMissingError
from common.parquetio import to_parquet

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TransformResult:
    date: dt.date
    rows: int
    window: tuple[dt.date, ...]


def transform(pipeline: Pipeline, day: dt.date) -> TransformResult:
    started = time.time()
    lookback = pipeline.config.pipeline.prev_close_lookback_days
    found = list_source_dates(pipeline.source, lookback_start(day, lookback), day)
    if day not in found:
        raise InputMissingError(f"no source objects for {day}")
    own = found.pop(day)
    aggregates, own_meta = aggregates_for(pipeline, own)
    window = {d: aggregates_for(pipeline, s)[0] for d, s in sorted(found.items())}
    rows, meta = report_for(
        pipeline,
        own,
        aggregates=aggregates,
        own_meta=own_meta,
        window=window,
        window_fingerprints={d: s.fingerprint for d, s in found.items()},
        started_at=started,
    )
    pipeline.target.put(
        pipeline.layout.staged_report_key(pipeline.run_id, day), to_parquet(rows, meta)
    )
    log.info("transformed %s: %d report rows, %d window dates", day, rows.num_rows, len(window))
    return TransformResult(day, rows.num_rows, tuple(sorted(window)))


def report_for(
    pipeline: Pipeline,
    own: SourceDate,
    *,
    aggregates: pa.Table,
    own_meta: Mapping[str, Any],
    window: Mapping[dt.date, pa.Table],
    window_fingerprints: Mapping[dt.date, str],
    started_at: float,
) -> tuple[pa.Table, dict[str, Any]]:
    """A date's report rows and the metadata that load records with them.

    `window` and `window_fingerprints` cover every source date of the lookback window before
    the date (dates without a folder are simply absent).
    """
    day = own.date
    rows = report_rows(day, aggregates, window)
    previous = window[max(window)].num_rows if window else None
    checks, warnings = quality_checks(day, rows, previous)
    warnings = [*own_meta.get("warnings", []), *warnings]
    for warning in warnings:
        log.warning("%s: %s", day, warning)
    meta = {
        "fingerprint": own.fingerprint,
        "inputs_fingerprint": pipeline.inputs_digest(day, dict(window_fingerprints)),
        "started_at": started_at,
        "warnings": warnings,
        "checks": checks,
    }
    return rows, meta
