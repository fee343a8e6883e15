"""Fast numpy forms of the row rules and the report maths, read straight off Arrow's buffers.

Each kernel gives exactly what its plain form gives (tests compare them on shuffled data, zero
volumes, repeats, NaN and nulls):
- `quick_check`: the row rules of `common.domain.rules`, for plain tables (no nulls, fixed-width
  ASCII strings); it steps aside (None) for anything else;
- `daily_aggregates`: `common.domain.report.daily_aggregates` by scatter reductions over ISIN
  codes, for rows with one row per ISIN and minute and no NaN; else it calls the reference.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from xetra_etl.common.domain import report
from xetra_etl.common.domain.rules import RULES, Broken, RowProblem, first_problem

MINUTES_PER_DAY = 24 * 60


def fixed_width_bytes(strings: pa.Array, width: int) -> np.ndarray | None:
    """A string array's bytes as an (n, width) uint8 matrix, when every value is `width` bytes
    and none is null; else None. No copy."""
    n = len(strings)
    if strings.null_count or strings.type != pa.string():
        return None
    if n == 0:
        return np.empty((0, width), np.uint8)
    offsets = _offsets(strings)
    if offsets[-1] - offsets[0] != width * n or not (np.diff(offsets) == width).all():
        return None
    data = np.frombuffer(strings.buffers()[2], np.uint8)[offsets[0] : offsets[-1]]
    return data.reshape(n, width)


def _offsets(strings: pa.Array) -> np.ndarray:
    n = len(strings)
    return np.frombuffer(strings.buffers()[1], np.int32)[strings.offset : strings.offset + n + 1]


def hh_mm_minutes(times: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """(minute of the day, whether the value is `hh:mm` 00:00-23:59) of each value: the one
    hh:mm check of the project. Minutes of invalid values are 0."""
    times = times.cast(pa.string())
    n = len(times)
    raw = fixed_width_bytes(times, 5)
    if raw is not None:
        valid = np.ones(n, np.bool_)
    else:
        offsets = _offsets(times) if n else np.zeros(1, np.int32)
        valid = np.diff(offsets) == 5
        if times.null_count:
            valid &= np.asarray(times.is_valid())
        data = times.buffers()[2]
        data_bytes = np.frombuffer(data, np.uint8) if data is not None else np.empty(0, np.uint8)
        raw = data_bytes[offsets[:-1][valid][:, None] + np.arange(5)]
    # Each two-digit field read as one number and looked up: -1 for anything but 00-23 / 00-59.
    hours = _HOUR_MINUTES[_byte_pairs(raw, 0)]
    minutes_past = _MINUTES[_byte_pairs(raw, 3)]
    ok = raw[:, 2] == ord(":")
    ok &= hours >= 0
    ok &= minutes_past >= 0
    minutes = np.zeros(n, np.int16)
    minutes[valid] = np.where(ok, hours + minutes_past, 0)
    valid[valid] = ok
    return minutes, valid


def _two_digit_table(count: int, scale: int) -> np.ndarray:
    """`value * scale` for the two ASCII digits of each value below `count`, indexed by the
    digits read as one big-endian uint16; -1 for every other pair of bytes."""
    table = np.full(1 << 16, -1, np.int16)
    for value in range(count):
        table[(ord("0") + value // 10) << 8 | (ord("0") + value % 10)] = value * scale
    return table


_HOUR_MINUTES = _two_digit_table(24, 60)
_MINUTES = _two_digit_table(60, 1)


def _byte_pairs(raw: np.ndarray, column: int) -> np.ndarray:
    """Bytes `column` and `column + 1` of each row of a uint8 matrix, as big-endian uint16s."""
    pairs: np.ndarray = raw[:, column : column + 2].view(">u2")[:, 0]
    return pairs


def rows_other_than(raw: np.ndarray, value: bytes) -> np.ndarray:
    """Which rows of an (n, len(value)) uint8 matrix are not `value`, compared in 8-, 4-, 2- and
    1-byte words, not a row-wise `any` over the bytes (docs/performance.md, the figures behind
    the code)."""
    other = np.zeros(len(raw), np.bool_)
    expected = np.frombuffer(value, np.uint8)
    start = 0
    for width, word in ((8, "<u8"), (4, "<u4"), (2, "<u2"), (1, "u1")):
        while len(value) - start >= width:
            stop = start + width
            other |= raw[:, start:stop].view(word)[:, 0] != expected[start:stop].view(word)[0]
            start = stop
    return other


def not_hh_mm(times: pa.Array) -> np.ndarray:
    """Where a time is not `hh:mm`; the rule table's precise check uses it too."""
    return ~hh_mm_minutes(times)[1]


def quick_check(table: pa.Table, day: dt.date) -> tuple[RowProblem | None, np.ndarray] | None:
    """(the first broken rule or None, each row's minute), or None when the table is not plain.

    Never accepts a table that `common.domain.rules.first_broken_row` rejects, and names the same
    row when both find one (a property test holds them to it).
    """
    table = table.combine_chunks()
    if any(column.null_count for column in table.columns):
        return None
    columns = {name: table[name].chunk(0) for name in table.column_names}
    minutes, valid_times = hh_mm_minutes(columns["time"])
    firsts: list[int | None] = []
    for rule in RULES:
        mask = _quick_mask(rule.broken, columns, day, valid_times)
        if mask is None:
            return None
        firsts.append(int(np.argmax(mask)) if mask.any() else None)
    return first_problem(firsts, day), minutes


def _quick_mask(
    broken: Broken, columns: dict[str, pa.Array], day: dt.date, valid_times: np.ndarray
) -> np.ndarray | None:
    column = columns[broken.column]
    if broken.op == "null":
        return np.zeros(len(column), np.bool_)  # nulls were ruled out
    if broken.op == "not_hh_mm":
        return ~valid_times
    if broken.op == "other_date":
        expected = day.isoformat().encode()
        raw = fixed_width_bytes(column, len(expected))
        return None if raw is None else rows_other_than(raw, expected)
    if broken.op == "not_12_chars":
        raw = fixed_width_bytes(column, 12)
        if raw is None or (raw >= 0x80).any():  # only ASCII has as many characters as bytes
            return None
        return np.zeros(len(column), np.bool_)
    values = np.asarray(column)
    than = np.asarray(columns[broken.than]) if isinstance(broken.than, str) else broken.than
    if broken.op == "lt":
        return values < than
    if broken.op == "le":
        return values <= than
    return values > than


def first_rows_of_minutes(
    codes: np.ndarray, minutes: np.ndarray, securities: int
) -> np.ndarray | None:
    """None when no two rows share an ISIN code and minute (the usual case, found with a bitmap);
    else, for each row, the index of the first row with its ISIN and minute."""
    keys = codes.astype(np.int64) * MINUTES_PER_DAY + minutes
    seen = np.zeros(securities * MINUTES_PER_DAY, np.bool_)
    seen[keys] = True
    if np.count_nonzero(seen) == len(keys):
        return None
    _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    firsts: np.ndarray = first[inverse.reshape(-1)]
    return firsts


def daily_aggregates(
    bars: pa.Table,
    minutes: np.ndarray,
    *,
    include_zero_volume_rows: bool = False,
    isin_codes: tuple[np.ndarray, pa.Array] | None = None,
) -> pa.Table:
    """`xetra_etl.common.domain.report.daily_aggregates` of validated bars, given each row's minute.

    With one row per ISIN and minute and no NaN, a security's open is the start price of its one
    earliest minute and its close the end price of its one latest: scatter reductions over ISIN
    codes, nothing sorted but the ISIN dictionary. Otherwise the reference computes it.

    `isin_codes` (each row's index into the distinct ISINs, and those ISINs) is given by a caller
    that has them and promises one row per ISIN and minute; else both are found here.
    """
    bars = bars.select(report.BAR_SCHEMA.names).combine_chunks()
    if bars.num_rows == 0 or any(column.null_count for column in bars.columns):
        return report.daily_aggregates(bars, include_zero_volume_rows=include_zero_volume_rows)
    start, high, low, end = (
        np.asarray(bars[name].chunk(0))
        for name in ("start_price", "max_price", "min_price", "end_price")
    )
    if isin_codes is None:
        isins = pc.dictionary_encode(bars["isin"].chunk(0))
        codes, dictionary = np.asarray(isins.indices), isins.dictionary
        repeated = first_rows_of_minutes(codes, minutes, len(dictionary)) is not None
    else:
        (codes, dictionary), repeated = isin_codes, False
    securities = len(dictionary)
    nan = np.isnan(start).any() or np.isnan(high).any() or np.isnan(low).any()
    if nan or np.isnan(end).any() or repeated:
        return report.daily_aggregates(bars, include_zero_volume_rows=include_zero_volume_rows)
    volume = np.asarray(bars["traded_volume"].chunk(0))
    if not include_zero_volume_rows:
        # Rows without volume go to one extra, discarded group: no filtered copies of columns.
        codes = np.where(volume > 0, codes, securities)
    groups = securities + 1
    opening, closing, last = _open_close(codes, minutes, start, end, groups)
    minimum = np.full(groups, np.inf)
    maximum = np.full(groups, -np.inf)
    np.minimum.at(minimum, codes, low)
    np.maximum.at(maximum, codes, high)
    total = np.zeros(groups, np.int64)
    np.add.at(total, codes, volume)
    order = np.asarray(pc.sort_indices(dictionary))
    order = order[last[order] >= 0]  # ISINs with rows that all had volume 0 did not trade
    return pa.table(
        {
            "isin": dictionary.take(pa.array(order)),
            "opening_price_eur": opening[order],
            "closing_price_eur": closing[order],
            "minimum_price_eur": minimum[order],
            "maximum_price_eur": maximum[order],
            "daily_traded_volume": total[order],
        },
        schema=report.AGGREGATE_SCHEMA,
    )


def _open_close(
    codes: np.ndarray, minutes: np.ndarray, start: np.ndarray, end: np.ndarray, groups: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per group: the start price of its earliest minute, the end price of its latest, and
    that latest minute (-1 for a group without rows)."""
    first = np.full(groups, MINUTES_PER_DAY, np.int16)
    last = np.full(groups, -1, np.int16)
    np.minimum.at(first, codes, minutes)
    np.maximum.at(last, codes, minutes)
    opening = np.empty(groups)
    closing = np.empty(groups)
    at_open = minutes == first[codes]
    opening[codes[at_open]] = start[at_open]
    at_close = minutes == last[codes]
    closing[codes[at_close]] = end[at_close]
    return opening, closing, last
