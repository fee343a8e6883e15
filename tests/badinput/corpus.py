"""The bad-input corpus: each case corrupts one clean source object in a known way and states the
documented outcome. `tests/badinput/test_corpus.py` runs all data cases in one `xetra-etl run`,
one case per date, and the command-line cases on their own.

Outcomes:
- "ok": the date is done and its numbers equal the reference computed on the corrupted source;
- "ok-as-clean": done, numbers equal the reference on the clean source (the corruption is harmless);
- "warn": done, with a warning recorded in job control containing `warning`;
- "fail": the date fails with exit code 65 and a message naming the object key, `line` and
  `column`; nothing is marked done for it.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass

Corrupt = Callable[[bytes], bytes]


@dataclass(frozen=True)
class Case:
    name: str
    corrupt: Corrupt
    outcome: str  # ok | ok-as-clean | warn | fail
    line: int | None = None
    column: str | None = None
    warning: str = ""


def _lines(data: bytes) -> list[bytes]:
    return data.rstrip(b"\n").split(b"\n")


def _join(lines: list[bytes]) -> bytes:
    return b"\n".join(lines) + b"\n"


def _set_field(line_no: int, column: str, value: bytes) -> Corrupt:
    """Replace one field of line `line_no` (1-based, header is 1)."""

    def corrupt(data: bytes) -> bytes:
        lines = _lines(data)
        header = next(csv.reader([lines[0].decode()]))
        row = next(csv.reader([lines[line_no - 1].decode("utf-8", "surrogateescape")]))
        row[header.index(column)] = value.decode("utf-8", "surrogateescape")
        out = io.StringIO()
        csv.writer(out, lineterminator="").writerow(row)
        lines[line_no - 1] = out.getvalue().encode("utf-8", "surrogateescape")
        return _join(lines)

    return corrupt


def _truncate_last_line(data: bytes) -> bytes:
    lines = _lines(data)
    lines[-1] = lines[-1][: len(lines[-1]) // 2]
    return _join(lines)


def _rename_header(old: bytes, new: bytes) -> Corrupt:
    def corrupt(data: bytes) -> bytes:
        lines = _lines(data)
        lines[0] = lines[0].replace(old, new)
        return _join(lines)

    return corrupt


def _reorder_and_extend(data: bytes) -> bytes:
    rows = list(csv.reader(io.StringIO(data.decode("utf-8"))))
    order = list(reversed(range(len(rows[0]))))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["Venue", *(rows[0][i] for i in order)])
    for row in rows[1:]:
        writer.writerow(["XETR", *(row[i] for i in order)])
    return out.getvalue().encode()


def _duplicate_line(line_no: int, change: Corrupt | None = None) -> Corrupt:
    def corrupt(data: bytes) -> bytes:
        lines = _lines(data)
        copy = lines[line_no - 1]
        if change is not None:
            copy = _lines(change(_join([lines[0], copy])))[1]
        return _join([*lines, copy])

    return corrupt


def _header_only(data: bytes) -> bytes:
    return _lines(data)[0] + b"\n"


def _unused_not_utf8(data: bytes) -> bytes:
    lines = _lines(data)
    lines[1] = lines[1].replace(b"DEMO", b"D\xe9MO\xff", 1)
    return _join(lines)


CASES: list[Case] = [
    Case("empty-object", lambda data: b"", "warn", warning="empty (0-byte) object"),
    Case("header-only-object", _header_only, "ok"),
    Case("truncated-last-line", _truncate_last_line, "fail", line=-1),
    Case(
        "header-lacks-mapped-column",
        _rename_header(b"EndPrice", b"ClosePrice"),
        "fail",
        line=1,
        column="EndPrice",
    ),
    Case("extra-and-reordered-columns", _reorder_and_extend, "ok-as-clean"),
    Case(
        "unparsable-number", _set_field(3, "MaxPrice", b"12,5x"), "fail", line=3, column="MaxPrice"
    ),
    Case("negative-price", _set_field(2, "MinPrice", b"-1.5"), "fail", line=2, column="MinPrice"),
    Case("zero-price", _set_field(2, "StartPrice", b"0"), "fail", line=2, column="StartPrice"),
    Case(
        "negative-volume",
        _set_field(2, "TradedVolume", b"-100"),
        "fail",
        line=2,
        column="TradedVolume",
    ),
    Case("exact-duplicate-row", _duplicate_line(2), "warn", warning="exact duplicate row"),
    Case(
        "conflicting-duplicate-row",
        _duplicate_line(2, _set_field(2, "TradedVolume", b"1")),
        "fail",
        line=-1,
        column="Time",
    ),
    Case("crlf-line-endings", lambda data: data.replace(b"\n", b"\r\n"), "ok-as-clean"),
    Case("utf8-byte-order-mark", lambda data: b"\xef\xbb\xbf" + data, "ok-as-clean"),
    Case(
        "not-utf8-in-used-column",
        _set_field(2, "ISIN", b"DE00\xff0100000"),
        "fail",
        line=2,
        column="ISIN",
    ),
    Case("not-utf8-in-unused-column", _unused_not_utf8, "ok-as-clean"),
    Case(
        "row-dated-unlike-its-folder",
        _set_field(2, "Date", b"1999-01-01"),
        "fail",
        line=2,
        column="Date",
    ),
    Case("time-not-hh-mm", _set_field(2, "Time", b"9:5"), "fail", line=2, column="Time"),
    Case("empty-price-field", _set_field(2, "EndPrice", b""), "fail", line=2, column="EndPrice"),
]
