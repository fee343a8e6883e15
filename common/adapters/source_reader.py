"""Reading a date: its source objects -> validated minute bars, in one adapter.

Quick path: the date's objects joined under their one header and parsed at once, the row rules
checked by the numpy kernel. Careful path, when anything is unusual (headers that differ, a value
that does not parse, a broken rule, two different rows for one minute): object by object, to name
the object, line and column of the problem.

Objects arrive as open streams from local files (read straight into the join buffer, no copy) and
as bodies fetched a few at a time by a pool of reader threads from any other store.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import mmap
import threading
from collections import deque
from collections.abc import Generator, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from xetra_etl.common.adapters.source_csv import (
    JoinedObjects,
    join_objects,
    line_of_row,
    new_buffer,
    parse_csv,
    read_bars,
)
from xetra_etl.common.domain.report import BAR_SCHEMA
from xetra_etl.common.domain.rules import first_broken_row
from xetra_etl.common.domain.source_layout import SourceDate
from xetra_etl.common.infra.config import SourceConfig
from xetra_etl.common.infra.errors import SourceDataError
from xetra_etl.common.infra.faults import crash_point
from xetra_etl.common.kernels import first_rows_of_minutes, hh_mm_minutes, not_hh_mm, quick_check
from xetra_etl.common.ports import DateBars, ObjectStore, Stream


class SourceReader:
    """`read_date` for the source store: the `DateReader` of the application."""

    def __init__(self, store: ObjectStore, config: SourceConfig) -> None:
        self.store = store
        self.columns: Mapping[str, str] = config.columns
        self._pool = _ReadPool(config.read_workers)
        # Per worker thread: the buffer a date's objects are joined in, reused from date to date
        # (a fresh one per date made most of a run's page faults).
        self._buffers = threading.local()
        self._lock = threading.Lock()
        self._reading = 0  # dates being read right now, by any thread

    def read_date(self, source_date: SourceDate) -> DateBars:
        with self._lock:
            self._reading += 1
        try:
            return self._read_date(source_date)
        finally:
            with self._lock:
                self._reading -= 1

    def _read_date(self, source_date: SourceDate) -> DateBars:
        size = sum(obj.size + 1 for obj in source_date.objects)  # +1: a newline may be added
        with contextlib.closing(self._objects(source_date)) as objects:
            joined, blobs = join_objects(objects, columns=self.columns, into=self._buffer(size))
        crash_point("extract:read")
        if joined is not None:
            self._buffers.buffer = joined.buffer  # for this thread's next date
            bars = self._read_quickly(joined, source_date.date)
            if bars is not None:
                return bars
            blobs = [joined.object_bytes(i) for i in range(len(joined.spans))]
            del joined
        return self._read_carefully(source_date, blobs)

    def _read_quickly(self, joined: JoinedObjects, day: dt.date) -> DateBars | None:
        """The joined objects in one parse; None when the careful path must find a problem."""
        if joined.length <= len(joined.header) + 1:
            return DateBars(BAR_SCHEMA.empty_table(), np.empty(0, np.int16), 0)
        try:
            # 1 MiB blocks keep the parser's working set small; one concatenation afterwards
            # gives the contiguous columns that the checks and kernels read as numpy arrays.
            # A date read alone (a step's one date, a run's last) parses on every core.
            table = _contiguous(
                parse_csv(
                    pa.py_buffer(joined.data),
                    self.columns,
                    block_size=1 << 20,
                    use_threads=self._reading == 1,
                )
            )
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return None
        checked = quick_check(table, day)
        if checked is None:  # not plain (nulls, odd widths): the precise check decides
            minutes = hh_mm_minutes(table["time"].combine_chunks())[0]
            checked = first_broken_row(table, day, not_hh_mm), minutes
        problem, minutes = checked
        if problem is not None:
            return None
        try:
            return _drop_exact_duplicates(table.select(BAR_SCHEMA.names).cast(BAR_SCHEMA), minutes)
        except _ConflictingRowError:
            return None

    def _read_carefully(self, source_date: SourceDate, blobs: Sequence[bytes]) -> DateBars:
        """Object by object: SourceDataError names the object, line and column of a problem."""
        day = source_date.date
        parts = [
            read_bars(data, key=self.store.location(obj.key), columns=self.columns, day=day)
            for obj, data in zip(source_date.objects, blobs, strict=True)
        ]
        table = pa.concat_tables([BAR_SCHEMA.empty_table(), *parts]).combine_chunks()
        minutes = hh_mm_minutes(table["time"].combine_chunks())[0]
        try:
            return _drop_exact_duplicates(table, minutes)
        except _ConflictingRowError as conflict:
            ends = np.cumsum([part.num_rows for part in parts])
            index = int(np.searchsorted(ends, conflict.row, side="right"))
            row = conflict.row - (int(ends[index - 1]) if index else 0)
            raise SourceDataError(
                f"a second, different row for ISIN {conflict.isin} at {conflict.time}",
                key=self.store.location(source_date.objects[index].key),
                line=line_of_row(blobs[index], row),
                column=self.columns["time"],
            ) from None

    def _buffer(self, size: int) -> mmap.mmap:
        """This thread's buffer from its date before, when it holds `size` bytes; else a new one.

        Taken, not shared: a date's text lives in one buffer at a time, not two.
        """
        buffer: mmap.mmap | None = getattr(self._buffers, "buffer", None)
        self._buffers.buffer = None
        if buffer is not None and len(buffer) >= size:
            return buffer
        del buffer  # freed before its larger successor is made
        return new_buffer(size * 5 // 4)  # headroom: dates differ in size

    def _objects(self, source_date: SourceDate) -> Generator[bytes | Stream]:
        """The date's objects in key order, as they arrive: opened one after another where reads
        do not wait on the network (a local store); else fetched a few reads ahead."""
        if self.store.local:
            for obj in source_date.objects:
                body = self.store.open_object(obj.key)
                try:
                    yield body  # read by the consumer before it asks for the next one
                finally:
                    if not isinstance(body, bytes):
                        body.close()
            return
        with self._pool.use() as pool:
            pending: deque[Future[bytes | Stream]] = deque()
            try:
                for obj in source_date.objects:
                    if len(pending) == self._pool.workers:  # at most `workers` in flight
                        yield pending.popleft().result()
                    pending.append(pool.submit(self.store.open_object, obj.key))
                while pending:
                    yield pending.popleft().result()
            finally:
                for future in pending:
                    future.cancel()


class _ReadPool:
    """Reader threads shared by the dates read at once: started by the first of them, shut
    down when the last is done (not a fresh set of threads, each with its own allocator arena,
    per date of a busy run; not threads kept after the work)."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._lock = threading.Lock()
        self._users = 0
        self._executor: ThreadPoolExecutor | None = None

    @contextlib.contextmanager
    def use(self) -> Iterator[ThreadPoolExecutor]:
        with self._lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(self.workers, thread_name_prefix="read")
            self._users += 1
            executor = self._executor
        try:
            yield executor
        finally:
            with self._lock:
                self._users -= 1
                if self._users == 0:
                    self._executor = None
                    executor.shutdown(wait=False, cancel_futures=True)


def _contiguous(table: pa.Table) -> pa.Table:
    """`table.combine_chunks()`, a column at a time: each column's chunks are freed once its
    contiguous copy exists, so a date's columns are in memory about once, not twice at the
    peak. The caller hands over its only reference to `table`."""
    schema, columns = table.schema, table.columns
    del table
    for index, column in enumerate(columns):
        columns[index] = column.combine_chunks()
        del column
    return pa.Table.from_arrays(columns, schema=schema)


class _ConflictingRowError(Exception):
    def __init__(self, row: int, isin: str, time: str) -> None:
        super().__init__(row)
        self.row, self.isin, self.time = row, isin, time


def _drop_exact_duplicates(bars: pa.Table, minutes: np.ndarray) -> DateBars:
    """Drop rows that repeat an earlier row exactly; a second, different row for one ISIN and
    minute cannot be true: `_ConflictingRowError` names the first such row."""
    isins = pc.dictionary_encode(bars["isin"].combine_chunks())
    codes = np.asarray(isins.indices)
    firsts = first_rows_of_minutes(codes, minutes, len(isins.dictionary))
    if firsts is None:
        return DateBars(bars, minutes, 0, (codes, isins.dictionary))
    repeats = np.flatnonzero(firsts != np.arange(len(firsts)))
    same = np.ones(len(repeats), np.bool_)
    for name in BAR_SCHEMA.names:
        column = bars[name].combine_chunks()
        again, first = column.take(pa.array(repeats)), column.take(pa.array(firsts[repeats]))
        equal = np.asarray(pc.fill_null(pc.equal(again, first), False))
        if pa.types.is_floating(column.type):  # NaN repeated is the same NaN
            equal |= np.asarray(pc.and_(pc.is_nan(again), pc.is_nan(first)))
        same &= equal
    if not same.all():
        row = int(repeats[np.argmin(same)])
        raise _ConflictingRowError(row, bars["isin"][row].as_py(), bars["time"][row].as_py())
    keep = np.ones(bars.num_rows, np.bool_)
    keep[repeats] = False
    return DateBars(bars.filter(keep), minutes[keep], len(repeats), (codes[keep], isins.dictionary))
