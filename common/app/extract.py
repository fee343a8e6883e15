"""Extract: a date's source objects -> its daily aggregates, staged by fingerprint.

The staged aggregates (`<staging>/daily/<date>/<fingerprint>.parquet`) are reused by every later
run and by every date whose previous close needs them, as long as the source is unchanged.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import logging
import threading
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from common.app.context import Pipeline
from common.catalog import list_source_dates
from common.domain.layout import SourceDate, SourceObject
from common.domain.report import BAR_SCHEMA, aggregates_of_unique_minutes, daily_aggregates
from common.errors import InputMissingError, ObjectNotFoundError, SourceDataError
from common.faults import crash_point
from common.parquetio import from_parquet, to_parquet
from common.sourceio import (
    JoinedObjects,
    join_objects,
    line_of_row,
    read_bars,
    read_joined_bars,
)
from common.storage.base import Stream

log = logging.getLogger(__name__)
# Per worker thread: the buffer a date's objects are joined in, reused from date to date (a
# fresh one per date cost ~5,600 page faults: most of a run's faults, in the profile).
_join_buffers = threading.local()


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
    table, meta = _extract_source(pipeline, source_date)
    return ExtractResult(
        day,
        source_date.fingerprint,
        len(source_date.objects),
        meta["rows"],
        table.num_rows,
        reused=False,
    )


def source_date_of(pipeline: Pipeline, day: dt.date) -> SourceDate:
    found = list_source_dates(pipeline.source, day, day)
    if day not in found:
        raise InputMissingError(
            f"no source objects for {day} under {pipeline.source.location(day.isoformat() + '/')}"
        )
    return found[day]


def aggregates_for(pipeline: Pipeline, source_date: SourceDate) -> tuple[pa.Table, dict[str, Any]]:
    """The date's aggregates (and their metadata) from staging; extracted first when missing."""
    key = _aggregates_key(pipeline, source_date)
    try:
        return from_parquet(pipeline.target.get(key).data)
    except ObjectNotFoundError:
        log.info("no staged aggregates for %s: extracting them from the source", source_date.date)
        return _extract_source(pipeline, source_date)


def _extract_source(pipeline: Pipeline, source_date: SourceDate) -> tuple[pa.Table, dict[str, Any]]:
    size = sum(obj.size + 1 for obj in source_date.objects)  # +1: a newline may be added
    joined, blobs = join_objects(
        _fetch(pipeline, source_date),
        columns=pipeline.config.source.columns,
        into=_take_join_buffer(size),
    )
    if joined is not None:
        _join_buffers.buffer = joined.buffer  # for this thread's next date
    crash_point("extract:read")
    warnings: list[str] = []
    empty = [obj.key for obj in source_date.objects if obj.size == 0]
    if empty:
        warnings.append(f"{len(empty)} empty (0-byte) object(s) skipped, e.g. {empty[0]}")
    bars_read, duplicates, table = _aggregate(pipeline, source_date, joined, blobs)
    if duplicates:
        warnings.append(f"{duplicates} exact duplicate row(s) dropped")
    meta: dict[str, Any] = {
        "fingerprint": source_date.fingerprint,
        "rows": bars_read,
        "warnings": warnings,
    }
    layout = pipeline.layout
    key = _aggregates_key(pipeline, source_date)
    pipeline.target.put(key, to_parquet(table, meta))
    for stale in pipeline.target.list(layout.aggregates_prefix(source_date.date)):
        if stale.key != key:
            pipeline.target.delete(stale.key)
    log.info(
        "extracted %s: %d objects, %d rows, %d securities traded",
        source_date.date,
        len(source_date.objects),
        bars_read,
        table.num_rows,
    )
    for warning in warnings:
        log.warning("%s: %s", source_date.date, warning)
    return table, meta


def _take_join_buffer(size: int) -> bytearray:
    """This thread's buffer from its date before, when it holds `size` bytes; else a new one.

    Taken, not shared: a date's text lives in one buffer at a time, not two.
    """
    buffer: bytearray | None = getattr(_join_buffers, "buffer", None)
    _join_buffers.buffer = None
    if buffer is not None and len(buffer) >= size:
        return buffer
    del buffer  # freed before its larger successor is made
    return bytearray(size * 5 // 4)  # headroom: dates differ in size; zeroing is not free


def _fetch(pipeline: Pipeline, source_date: SourceDate) -> Iterator[bytes | Stream]:
    """The date's objects in key order, as they arrive: open streams, read one after another,
    where reads do not wait on the network (local files); else bodies, a few reads ahead."""

    def get(obj: SourceObject) -> bytes:
        return pipeline.source.get(obj.key).data

    if not pipeline.source.concurrent_reads:
        for obj in source_date.objects:
            with contextlib.closing(pipeline.source.open_object(obj.key)) as stream:
                yield stream  # read by the consumer before it asks for the next one
        return
    workers = pipeline.config.source.read_workers
    pool = _read_pool(workers)
    pending: deque[Future[bytes]] = deque()
    try:
        for obj in source_date.objects:
            if len(pending) == workers:  # bounded: at most `workers` objects in flight or waiting
                yield pending.popleft().result()
            pending.append(pool.submit(get, obj))
        while pending:
            yield pending.popleft().result()
    finally:
        for future in pending:
            future.cancel()


@functools.cache
def _read_pool(workers: int) -> ThreadPoolExecutor:
    """One pool of reader threads for the process, shared by the dates worked on at once: not a
    fresh set of threads (each with its own allocator arena) per date."""
    return ThreadPoolExecutor(max_workers=workers, thread_name_prefix="read")


def _aggregate(
    pipeline: Pipeline, source_date: SourceDate, joined: JoinedObjects | None, blobs: list[bytes]
) -> tuple[int, int, pa.Table]:
    """(rows read, exact duplicates dropped, aggregates) of a date's objects.

    Fast path: the joined objects parsed at once, linear-time aggregates. Anything unusual
    (differing headers, a bad value, a repeated minute) takes the object-by-object path, which
    drops exact duplicates and names the object, line and column of a problem.
    """
    columns = pipeline.config.source.columns
    zero_volume = pipeline.config.pipeline.include_zero_volume_rows
    day = source_date.date
    if joined is not None:
        parsed = read_joined_bars(joined, columns=columns, day=day)
        if parsed is not None:
            fast, minutes = parsed
            table = aggregates_of_unique_minutes(
                fast, include_zero_volume_rows=zero_volume, minutes=minutes
            )
            if table is None and not _repeats_a_minute(fast):  # NaN or odd times
                table = daily_aggregates(fast, include_zero_volume_rows=zero_volume)
            if table is not None:
                return fast.num_rows, 0, table
        del parsed
        blobs = [joined.object_bytes(i) for i in range(len(source_date.objects))]
        del joined
    parts = [
        read_bars(data, key=pipeline.source.location(obj.key), columns=columns, day=day)
        for obj, data in zip(source_date.objects, blobs, strict=True)
    ]
    del blobs
    bars, duplicates = drop_exact_duplicates(parts, source_date, pipeline)
    return bars.num_rows, duplicates, daily_aggregates(bars, include_zero_volume_rows=zero_volume)


def drop_exact_duplicates(
    parts: list[pa.Table], source_date: SourceDate, pipeline: Pipeline
) -> tuple[pa.Table, int]:
    """Concatenate a date's bars; drop rows repeated exactly, refuse conflicting ones.

    Two rows for the same ISIN and minute with different numbers cannot both be true: the date
    fails, naming the object and line of the second one.
    """
    if not parts:
        return BAR_SCHEMA.empty_table(), 0
    tagged = pa.concat_tables(
        [
            part.append_column("_part", pa.array([i] * part.num_rows, pa.int32())).append_column(
                "_row", pa.array(range(part.num_rows), pa.int64())
            )
            for i, part in enumerate(parts)
        ]
    )
    keys = ["isin", "time"]
    per_minute = tagged.group_by(keys).aggregate([("_row", "count")])
    if per_minute.num_rows == tagged.num_rows:
        return tagged.select(BAR_SCHEMA.names), 0
    distinct = tagged.group_by(BAR_SCHEMA.names, use_threads=False).aggregate(
        [("_part", "min"), ("_row", "min"), ("_row", "count")]
    )
    if distinct.num_rows != per_minute.num_rows:
        raise _conflicting_duplicate(tagged, source_date, pipeline)
    kept = distinct.sort_by([("_part_min", "ascending"), ("_row_min", "ascending")])
    return kept.select(BAR_SCHEMA.names), tagged.num_rows - distinct.num_rows


def _repeats_a_minute(bars: pa.Table) -> bool:
    """Whether two rows share an ISIN and minute (hashing only; no sort, no per-row Python)."""
    if bars.num_rows < 2:
        return False
    isin = pc.dictionary_encode(bars["isin"].combine_chunks())
    minute = pc.dictionary_encode(bars["time"].combine_chunks())
    key = pc.add(
        pc.multiply(pc.cast(isin.indices, pa.int64()), len(minute.dictionary)),
        pc.cast(minute.indices, pa.int64()),
    )
    return bool(pc.count_distinct(key).as_py() < bars.num_rows)


def _conflicting_duplicate(
    tagged: pa.Table, source_date: SourceDate, pipeline: Pipeline
) -> SourceDataError:
    seen: set[tuple[str, str]] = set()
    isins, times = tagged["isin"].to_pylist(), tagged["time"].to_pylist()
    parts, rows = tagged["_part"].to_pylist(), tagged["_row"].to_pylist()
    for isin, minute, part, row in zip(isins, times, parts, rows, strict=True):
        if (isin, minute) in seen:
            obj = source_date.objects[part]
            data = pipeline.source.get(obj.key).data
            return SourceDataError(
                f"a second, different row for ISIN {isin} at {minute}",
                key=pipeline.source.location(obj.key),
                line=line_of_row(data, row),
                column=pipeline.config.source.columns["time"],
            )
        seen.add((isin, minute))
    return SourceDataError("conflicting duplicate rows", key=source_date.date.isoformat())


def _aggregates_key(pipeline: Pipeline, source_date: SourceDate) -> str:
    # Keyed by the source fingerprint and the settings that shape aggregates, so neither a
    # changed source object nor a changed column mapping can reuse stale aggregates.
    return pipeline.layout.aggregates_key(
        source_date.date, f"{source_date.fingerprint}-{pipeline.extract_settings}"
    )
