"""Realistic Xetra-format source data for demos, tests and benchmarks.

Deterministic for a seed. Writes what the real bucket holds: 24 hourly files per trading day
(header-only outside trading hours), per-minute files for the newest date (a day not yet
collapsed), quoted descriptions with commas, the three quoting styles seen over the years,
securities that skip days, zero-volume reference rows in the evening auction hour, Saturdays
with reference rows only, and no folders for Sundays.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from xetra_etl.common.domain.dates import date_range
from xetra_etl.common.domain.isin import check_digit
from xetra_etl.common.ports import ObjectStore

log = logging.getLogger(__name__)

HEADER = (
    "ISIN,Mnemonic,SecurityDesc,SecurityType,Currency,SecurityID,Date,Time,"
    "StartPrice,MaxPrice,MinPrice,EndPrice,TradedVolume,NumberOfTrades"
)
TRADING_MINUTES = range(8 * 60, 16 * 60 + 30)  # 08:00-16:29 UTC
REFERENCE_MINUTE = 20 * 60 + 30  # evening reference prices, volume 0
STYLES = ("all-quoted", "strings-quoted", "minimal")
_TYPES = ("Common stock", "ETF", "ETC", "Other")


@dataclass(frozen=True)
class Security:
    isin: str
    mnemonic: str
    description: str
    kind: str
    security_id: int
    liquidity: float  # chance of a trade in any minute
    skip_chance: float  # chance of not trading at all on a day


def securities(
    count: int, rng: np.random.Generator, liquidity: tuple[float, float] = (0.02, 0.9)
) -> list[Security]:
    result = []
    for index in range(count):
        body = f"DE000{index + 100000:06d}"
        isin = body + str(check_digit(body))
        result.append(
            Security(
                isin=isin,
                mnemonic=f"X{index:03d}",
                description=f"DEMO {index} AG INH., O.N. {index % 7},50",
                kind=_TYPES[index % len(_TYPES)],
                security_id=2500000 + index,
                liquidity=float(rng.uniform(*liquidity)),
                skip_chance=0.15 if index % 5 == 4 else 0.0,
            )
        )
    return result


# Which columns are strings (quoted in the "strings-quoted" style, like 2018's files).
_STRING_COLUMNS = [True, True, True, False, True, False, False, False] + [False] * 6


@dataclass
class _Bars:
    """One date's rows as columns (no per-row Python): security index, minute, numbers."""

    security: np.ndarray
    minute: np.ndarray
    start: np.ndarray
    high: np.ndarray
    low: np.ndarray
    end: np.ndarray
    volume: np.ndarray
    trades: np.ndarray

    def __len__(self) -> int:
        return len(self.minute)


def _day_rows(
    secs: list[Security],
    prices: np.ndarray,
    rng: np.random.Generator,
    *,
    trading: bool,
) -> _Bars:
    """Rows of one date, ordered by minute, then security; updates `prices` (the random walk)."""
    minutes = np.array(TRADING_MINUTES)
    parts: list[tuple[np.ndarray, ...]] = []
    for index, sec in enumerate(secs):
        if trading and rng.random() >= sec.skip_chance:
            active = minutes[rng.random(len(minutes)) < sec.liquidity]
            steps = np.exp(np.cumsum(rng.normal(0.0, 0.0015, len(active) + 1)))
            path = np.round(prices[index] * steps, 2).clip(0.01)
            start, end = path[:-1], path[1:]
            high = np.round(
                np.maximum(start, end) * (1 + np.abs(rng.normal(0, 5e-4, len(active)))), 2
            )
            low = np.round(
                np.minimum(start, end) * (1 - np.abs(rng.normal(0, 5e-4, len(active)))), 2
            )
            low = np.minimum(low.clip(0.01), np.minimum(start, end))
            trades = rng.integers(1, 12, len(active))
            volume = rng.integers(1, 40, len(active)) * 25 * trades
            if len(active):
                parts.append(
                    (np.full(len(active), index), active, start, high, low, end, volume, trades)
                )
                prices[index] = path[-1]
        if index % 3 == 0:  # evening reference price: a row, but not a trade
            price = np.array([round(float(prices[index]), 2)])
            parts.append(
                (
                    np.array([index]),
                    np.array([REFERENCE_MINUTE]),
                    price,
                    price,
                    price,
                    price,
                    np.array([0]),
                    np.array([1]),
                )
            )
    if not parts:
        empty_i, empty_f = np.array([], np.int64), np.array([], np.float64)
        return _Bars(empty_i, empty_i, empty_f, empty_f, empty_f, empty_f, empty_i, empty_i)
    columns = [np.concatenate(column) for column in zip(*parts, strict=True)]
    order = np.lexsort((columns[0], columns[1]))  # by minute, then security (stable)
    return _Bars(*(column[order] for column in columns))


def _cents(values: np.ndarray) -> pa.Array:
    """Prices with two decimals as text (what f"{v:.2f}" gives), vectorised."""
    cents = np.rint(values * 100).astype(np.int64)
    whole = pc.cast(pa.array(cents // 100), pa.string())
    part = pc.utf8_lpad(pc.cast(pa.array(cents % 100), pa.string()), 2, "0")
    return pc.binary_join_element_wise(whole, part, ".")


def _lines(
    bars: _Bars, secs: list[Security], day: dt.date, style: str
) -> tuple[pa.StringArray, np.ndarray]:
    """Every row as one CSV line (with its newline), and the byte offset where each starts."""
    n = len(bars)
    per_security = {
        0: [s.isin for s in secs],
        1: [s.mnemonic for s in secs],
        2: [s.description for s in secs],
        3: [s.kind for s in secs],
        5: [str(s.security_id) for s in secs],
    }
    index = pa.array(bars.security)
    times = pa.array([f"{m // 60:02d}:{m % 60:02d}" for m in range(24 * 60)])
    fields: list[pa.Array | str] = [
        pa.array(per_security[0]).take(index),
        pa.array(per_security[1]).take(index),
        pa.array(per_security[2]).take(index),
        pa.array(per_security[3]).take(index),
        "EUR",
        pa.array(per_security[5]).take(index),
        day.isoformat(),
        times.take(pa.array(bars.minute)),
        _cents(bars.start),
        _cents(bars.high),
        _cents(bars.low),
        _cents(bars.end),
        pc.cast(pa.array(bars.volume), pa.string()),
        pc.cast(pa.array(bars.trades), pa.string()),
    ]
    lines = pc.binary_join_element_wise(*_quoted_columns(fields, style, n), ",")
    lines = pc.binary_join_element_wise(lines, "\n", "")
    lines = lines.cast(pa.large_string())
    offsets = np.frombuffer(lines.buffers()[1], np.int64)[lines.offset : lines.offset + n + 1]
    return lines, offsets


def _quoted_columns(fields: list[pa.Array | str], style: str, n: int) -> list[pa.Array]:
    """The fields quoted as `style` says, each a column of `n` values."""
    columns: list[pa.Array] = []
    for number, (value, is_string) in enumerate(zip(fields, _STRING_COLUMNS, strict=True)):
        # Only the description ever holds a comma, so minimal quoting quotes just that column.
        quote = style == "all-quoted" or (style == "strings-quoted" and is_string) or number == 2
        text = pc.binary_join_element_wise('"', value, '"', "") if quote else value
        columns.append(text if isinstance(text, pa.Array) else pa.array([text] * n, pa.string()))
    return columns


def generate(
    store: ObjectStore,
    *,
    first_date: dt.date,
    days: int,
    securities_count: int = 60,
    seed: int = 7,
    minute_files_for_last: bool = True,
    liquidity: tuple[float, float] = (0.02, 0.9),
) -> dict[str, int]:
    """Write `days` calendar days of source data; returns counts of dates, objects and rows.

    `liquidity` is the range of each security's chance to trade in a minute: the default gives
    busy demo data; about (0.005, 0.232) with 3,000 securities gives 2021's volume (some 177,000
    rows and 22-25 MB of CSV per trading day).
    """
    rng = np.random.default_rng(seed)
    secs = securities(securities_count, rng, liquidity)
    prices = rng.uniform(5.0, 250.0, len(secs))
    last = first_date + dt.timedelta(days=days - 1)
    counts = {"dates": 0, "objects": 0, "rows": 0}
    header = (HEADER + "\n").encode()
    for number, day in enumerate(date_range(first_date, last)):
        if day.weekday() == 6:  # Sundays have no folder at all
            continue
        style = STYLES[number % len(STYLES)]
        bars = _day_rows(secs, prices, rng, trading=day.weekday() < 5)
        lines, offsets = _lines(bars, secs, day, style)
        data = lines.buffers()[2]
        minute_files = minute_files_for_last and day == last
        # Rows are ordered by minute: each file is one contiguous run of lines.
        bounds = np.searchsorted(bars.minute, np.arange(0, 24 * 60 + 1))
        for hour in range(24):
            if minute_files and bounds[hour * 60] < bounds[hour * 60 + 60]:
                pieces = [
                    (
                        f"{hour:02d}{minute:02d}",
                        bounds[hour * 60 + minute],
                        bounds[hour * 60 + minute + 1],
                    )
                    for minute in range(60)
                    if bounds[hour * 60 + minute] < bounds[hour * 60 + minute + 1]
                ]
            else:
                pieces = [(f"{hour:02d}", bounds[hour * 60], bounds[hour * 60 + 60])]
            for suffix, first_row, end_row in pieces:
                body = (
                    data[offsets[first_row] : offsets[end_row]].to_pybytes()
                    if end_row > first_row
                    else b""
                )
                store.put(f"{day}/{day}_BINS_XETR{suffix}.csv", header + body)
                counts["objects"] += 1
                counts["rows"] += int(end_row - first_row)
        counts["dates"] += 1
    log.info("wrote %(dates)d dates, %(objects)d objects, %(rows)d rows", counts)
    return counts
