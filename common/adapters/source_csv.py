"""Reading one source CSV object into canonical minute bars, with errors that point at the line.

The fast path is one pyarrow `read_csv` per object that converts only the mapped columns (so bytes
that are not UTF-8 in other columns never matter). When pyarrow rejects an object, or a check on
the parsed columns fails, a slow diagnostic pass over that one object with the `csv` module finds
the line and column to name in the error.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import mmap
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.csv as pv

from xetra_etl.common.domain.report import BAR_SCHEMA
from xetra_etl.common.domain.rules import first_broken_row
from xetra_etl.common.domain.wording import noun
from xetra_etl.common.infra.errors import SourceDataError
from xetra_etl.common.kernels import not_hh_mm
from xetra_etl.common.ports import Stream

# What the parse makes of each mapped column (`BAR_SCHEMA` and the date, still as text).
PARSED_TYPES: dict[str, pa.DataType] = {
    "isin": pa.string(),
    "date": pa.string(),
    "time": pa.string(),
    "start_price": pa.float64(),
    "max_price": pa.float64(),
    "min_price": pa.float64(),
    "end_price": pa.float64(),
    "traded_volume": pa.int64(),
}
_BOM = b"\xef\xbb\xbf"


def read_bars(data: bytes, *, key: str, columns: Mapping[str, str], day: dt.date) -> pa.Table:
    """Parse one object into BAR_SCHEMA columns; raise SourceDataError naming key, line, column."""
    if data.startswith(_BOM):
        data = data[len(_BOM) :]
    if not data.strip():
        return BAR_SCHEMA.empty_table()
    header = _read_header(data, key)
    missing = [name for name in columns.values() if name not in header]
    if missing:
        raise SourceDataError(
            f"the header lacks the mapped {noun(len(missing), 'column')} {', '.join(missing)}",
            key=key,
            line=1,
            column=missing[0],
        )
    try:
        table = parse_csv(io.BytesIO(data), columns, block_size=1 << 26)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise diagnose(data, key=key, columns=columns, fallback=str(exc)) from exc
    problem = first_broken_row(table, day, not_hh_mm)
    if problem is not None:
        raise SourceDataError(
            problem.message,
            key=key,
            line=line_of_row(data, problem.row),
            column=columns[problem.column],
        )
    return table.select(BAR_SCHEMA.names).cast(BAR_SCHEMA)


def parse_csv(
    source: Any, columns: Mapping[str, str], *, block_size: int, use_threads: bool = False
) -> pa.Table:
    """One `read_csv` of only the mapped columns, typed, renamed to canonical names.

    `use_threads`: parse blocks on Arrow's CPU pool too, not only on the calling thread.
    Raises pyarrow's errors; callers decide between diagnosing and falling back.
    """
    by_header = {header_name: canonical for canonical, header_name in columns.items()}
    table = pv.read_csv(
        source,
        read_options=pv.ReadOptions(use_threads=use_threads, block_size=block_size),
        convert_options=pv.ConvertOptions(
            include_columns=list(columns.values()),
            column_types={columns[c]: t for c, t in PARSED_TYPES.items()},
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        ),
    )
    return table.rename_columns([by_header[name] for name in table.column_names])


@dataclass(frozen=True)
class JoinedObjects:
    """A date's objects as one CSV text: their shared header once, then every object's body.

    Lines are independent (a newline always ends a row), so parsing `data` gives exactly the
    rows of reading each object on its own, in one `read_csv`. `spans` locate each object's
    body in `data`, so the objects can be handed back for a diagnostic read without keeping
    a second copy of the date in memory. `data` is a view of `buffer`, which the caller may
    reuse for the next date once it is done with this one.
    """

    buffer: mmap.mmap
    length: int
    header: bytes
    spans: tuple[tuple[int, int] | None, ...]  # None: the object was empty

    @property
    def data(self) -> memoryview:
        return memoryview(self.buffer)[: self.length]

    def object_bytes(self, index: int) -> bytes:
        """Object `index` as a CSV of its own: the header line, then its body (same lines)."""
        span = self.spans[index]
        if span is None:
            return b""
        return self.header + b"\n" + bytes(self.buffer[span[0] : span[1]])


_HEAD = 1 << 16  # read first from a streamed object: its header line and the first rows


def join_objects(
    objects: Iterable[bytes | Stream],
    *,
    columns: Mapping[str, str],
    into: mmap.mmap | None = None,
) -> tuple[JoinedObjects | None, list[bytes]]:
    """(the objects joined under their one header, []) or, when their headers differ or lack
    a mapped column, (None, every object).

    An object is its bytes, or an open binary stream (a local file), whose rows are then read
    straight into the joined text: no copy of the object in between. Consumes `objects` one at a
    time and keeps only the joined text, so a date's objects are never in memory twice. The
    text is written into `into` when it fits (a larger buffer replaces it when not): a worker
    that passes the same buffer date after date touches no fresh memory.
    """
    joined = _Joiner(into if into is not None else new_buffer(0))
    objects = iter(objects)
    for obj in objects:
        head, stream = _head_of(obj)
        if stream is None and _blank(head):
            joined.spans.append(None)
            continue
        first, end = _header_line(head)
        if not joined.takes(first, columns):
            earlier = joined.objects_so_far()
            return None, [*earlier, _whole(head, stream), *map(_read_all, objects)]
        joined.add_body(memoryview(head)[end + 1 :], stream)
    return joined.result(), []


def _blank(data: bytes) -> bool:
    """Whether an object holds nothing but a BOM and white space."""
    skip = len(_BOM) if data.startswith(_BOM) else 0
    return len(data) == skip or data[skip:].isspace()


def _header_line(head: bytes) -> tuple[bytes, int]:
    """An object's header line (without a BOM or line end) and where that line ends in `head`."""
    skip = len(_BOM) if head.startswith(_BOM) else 0
    end = head.find(b"\n", skip)
    if end < 0:
        end = len(head)
    return head[skip:end].rstrip(b"\r"), end


def new_buffer(size: int) -> mmap.mmap:
    """A writable buffer of `size` bytes (at least one) for joining objects into.

    Anonymous memory, not a `bytearray`: a bytearray is zeroed in full when it is made, while
    its thread holds the GIL, so every other worker waited through a first date's buffer. The
    kernel supplies these pages zeroed as the reads first write them, with the GIL released.
    """
    return mmap.mmap(-1, max(size, 1))


def _head_of(obj: bytes | Stream) -> tuple[bytes, Stream | None]:
    """The object's first bytes, and the stream its remaining bytes are still to come from."""
    if isinstance(obj, bytes):
        return obj, None
    head = obj.read(_HEAD) or b""
    if b"\n" not in head or head.isspace():  # no whole first line yet, or only blanks: read it all
        return head + (obj.read() or b""), None
    return head, obj


def _whole(head: bytes, stream: Stream | None) -> bytes:
    return head if stream is None else head + stream.read()


def _read_all(obj: bytes | Stream) -> bytes:
    return obj if isinstance(obj, bytes) else obj.read()


class _Joiner:
    def __init__(self, buffer: mmap.mmap) -> None:
        self.buffer, self.length = buffer, 0
        self.header: bytes | None = None
        self.spans: list[tuple[int, int] | None] = []

    def _reserve(self, size: int) -> None:
        if self.length + size > len(self.buffer):  # never resized in place: a view may be alive
            grown = new_buffer(max(self.length + size, len(self.buffer) * 3 // 2, 1 << 16))
            grown[: self.length] = memoryview(self.buffer)[: self.length]
            self.buffer = grown

    def append(self, chunk: bytes | memoryview) -> None:
        self._reserve(len(chunk))
        self.buffer[self.length : self.length + len(chunk)] = chunk
        self.length += len(chunk)

    def append_stream(self, stream: Stream) -> None:
        """Everything left in `stream`, read into the buffer in place."""
        while True:
            self._reserve(_HEAD)
            count = stream.readinto(memoryview(self.buffer)[self.length :])
            if not count:
                return
            self.length += count

    def takes(self, header: bytes, columns: Mapping[str, str]) -> bool:
        """Whether an object with this header line joins the others (the first sets it)."""
        if self.header is not None:
            return header == self.header
        if not _has_columns(header, columns):
            return False
        self.header = header
        self.append(header + b"\n")
        return True

    def add_body(self, body: bytes | memoryview, stream: Stream | None) -> None:
        """An object's rows after its header: `body`, then what is left in `stream`."""
        start = self.length
        self.append(body)
        if stream is not None:
            self.append_stream(stream)
        if self.length > start and self.buffer[self.length - 1] != ord("\n"):
            self.append(b"\n")
        self.spans.append((start, self.length))

    def objects_so_far(self) -> list[bytes]:
        """Each object joined so far as a CSV of its own (an empty one as b"")."""
        partial = self.result()
        return [partial.object_bytes(i) for i in range(len(self.spans))]

    def result(self) -> JoinedObjects:
        return JoinedObjects(self.buffer, self.length, self.header or b"", tuple(self.spans))


def _has_columns(header: bytes, columns: Mapping[str, str]) -> bool:
    try:
        names = next(csv.reader([header.decode("utf-8")]))
    except (UnicodeDecodeError, StopIteration, csv.Error):
        return False
    return all(name in names for name in columns.values())


def _read_header(data: bytes, key: str) -> list[str]:
    first_line = data.split(b"\n", 1)[0].rstrip(b"\r")
    try:
        text = first_line.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SourceDataError("the header is not UTF-8", key=key, line=1) from exc
    return next(csv.reader([text]))


def line_of_row(data: bytes, row: int) -> int:
    """The 1-based line number where data row `row` (0-based, after the header) starts."""
    reader = csv.reader(io.StringIO(data.decode("utf-8", errors="replace"), newline=""))
    next(reader, None)
    start = reader.line_num + 1
    for index, _ in enumerate(reader):
        if index == row:
            return start
        start = reader.line_num + 1
    return start


def diagnose(
    data: bytes, *, key: str, columns: Mapping[str, str], fallback: str
) -> SourceDataError:
    """Find the first line and column that the fast path could not convert."""
    text = data.decode("utf-8", errors="surrogateescape")
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader)
    positions = {canonical: header.index(name) for canonical, name in columns.items()}
    line = reader.line_num + 1
    for fields in reader:
        if fields and len(fields) != len(header):
            return SourceDataError(
                f"expected {len(header)} columns, got {len(fields)} (truncated or malformed line)",
                key=key,
                line=line,
                column=header[len(fields)] if len(fields) < len(header) else None,
            )
        for canonical, position in positions.items() if fields else ():
            value = fields[position]
            problem = _conversion_problem(value, PARSED_TYPES[canonical])
            if problem:
                return SourceDataError(
                    f"{problem}: {value!r}", key=key, line=line, column=columns[canonical]
                )
        line = reader.line_num + 1
    return SourceDataError(f"unreadable CSV ({fallback})", key=key)


def _conversion_problem(value: str, kind: pa.DataType) -> str | None:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "bytes that are not UTF-8"
    try:
        if pa.types.is_floating(kind):
            float(value)
        elif pa.types.is_integer(kind):
            int(value)
    except ValueError:
        return f"not a {'number' if pa.types.is_floating(kind) else 'whole number'}"
    return None
