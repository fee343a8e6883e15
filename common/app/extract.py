"""Extract: a date's source objects -> its daily aggregates, staged by fingerprint.

The staged aggregates (`<staging>/daily/<date>/<fingerprint>.parquet`) are reused by every later
run and by every date whose previous close needs them, as long as the source is unchanged.
"""

from __future__ import annotations

import datetime as dt
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pyarrow as pa

from common.app.context import Pipeline
from common.catalog import list_source_dates
from common.domain.layout import SourceDate
from common.domain.report import BAR_SCHEMA, daily_aggregates
from common.errors import InputMissingError, ObjectNotFoundError
from common.parquetio import from_parquet, to_parquet
from common.sourceio import read_bars

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ExtractResult:
    date: dt.date
    fingerprint: str
    objects: int
    rows: int
    securities: int
    reused: bool


def extract(pipeline: Pipeline, day: dt.date) -> ExtractResult:
    source_date = source_date_of(pipeline, day)
    key = _aggregates_key(pipeline, source_date)
    if any(True for _ in pipeline.target.list(key)):
        log.info(
            "aggregates for %s are staged already (fingerprint %s)", day, source_date.fingerprint
        )
        table, meta = from_parquet(pipeline.target.get(key).data)
        return ExtractResult(
            day,
            source_date.fingerprint,
            len(source_date.objects),
            meta.get("rows", 0),
            table.num_rows,
            reused=True,
        )
    table, rows = _extract_source(pipeline, source_date)
    return ExtractResult(
        day, source_date.fingerprint, len(source_date.objects), rows, table.num_rows, reused=False
    )


def source_date_of(pipeline: Pipeline, day: dt.date) -> SourceDate:
    found = list_source_dates(pipeline.source, day, day)
    if day not in found:
        raise InputMissingError(
            f"no source objects for {day} under {pipeline.source.location(day.isoformat() + '/')}"
        )
    return found[day]


def aggregates_for(pipeline: Pipeline, source_date: SourceDate) -> pa.Table:
    """The date's aggregates from staging, extracting them first when they are not there."""
    key = _aggregates_key(pipeline, source_date)
    try:
        return from_parquet(pipeline.target.get(key).data)[0]
    except ObjectNotFoundError:
        log.info("extracting %s, needed as previous-close input", source_date.date)
        return _extract_source(pipeline, source_date)[0]


def _extract_source(pipeline: Pipeline, source_date: SourceDate) -> tuple[pa.Table, int]:
    config = pipeline.config
    columns = config.source.columns

    def read(key: str) -> pa.Table:
        return read_bars(
            pipeline.source.get(key).data,
            key=pipeline.source.location(key),
            columns=columns,
            day=source_date.date,
        )

    keys = [obj.key for obj in source_date.objects]
    with ThreadPoolExecutor(max_workers=config.source.read_workers) as pool:
        parts = list(pool.map(read, keys))
    bars = pa.concat_tables(parts) if parts else BAR_SCHEMA.empty_table()
    table = daily_aggregates(
        bars, include_zero_volume_rows=config.pipeline.include_zero_volume_rows
    )
    layout = pipeline.layout
    key = _aggregates_key(pipeline, source_date)
    pipeline.target.put(
        key,
        to_parquet(table, {"fingerprint": source_date.fingerprint, "rows": bars.num_rows}),
    )
    for stale in pipeline.target.list(layout.aggregates_prefix(source_date.date)):
        if stale.key != key:
            pipeline.target.delete(stale.key)
    log.info(
        "extracted %s: %d objects, %d rows, %d securities traded",
        source_date.date,
        len(keys),
        bars.num_rows,
        table.num_rows,
    )
    return table, bars.num_rows


def _aggregates_key(pipeline: Pipeline, source_date: SourceDate) -> str:
    # Keyed by the source fingerprint and the settings that shape aggregates, so neither a
    # changed source object nor a changed column mapping can reuse stale aggregates.
    return pipeline.layout.aggregates_key(
        source_date.date, f"{source_date.fingerprint}-{pipeline.extract_settings}"
    )
