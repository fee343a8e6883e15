"""The daily report computation (DESIGN section 4), on Arrow tables, without per-row Python.

Two stages, so that a date's own work and its previous-close input are separable:
- `daily_aggregates`: one date's minute bars -> one row per ISIN (open, close, min, max, volume);
- `report_rows`: a date's aggregates plus the aggregates of its lookback window -> report rows.
Both are deterministic: output sorted by ISIN, ties between equal times broken by input order.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

# Canonical minute-bar columns after reading (see common.domain.columns.SOURCE_COLUMNS).
BAR_SCHEMA = pa.schema(
    [
        ("isin", pa.string()),
        ("time", pa.string()),
        ("start_price", pa.float64()),
        ("max_price", pa.float64()),
        ("min_price", pa.float64()),
        ("end_price", pa.float64()),
        ("traded_volume", pa.int64()),
    ]
)

AGGREGATE_SCHEMA = pa.schema(
    [
        ("isin", pa.string()),
        ("opening_price_eur", pa.float64()),
        ("closing_price_eur", pa.float64()),
        ("minimum_price_eur", pa.float64()),
        ("maximum_price_eur", pa.float64()),
        ("daily_traded_volume", pa.int64()),
    ]
)

REPORT_SCHEMA = pa.schema(
    [
        ("isin", pa.string()),
        ("date", pa.date32()),
        ("opening_price_eur", pa.float64()),
        ("closing_price_eur", pa.float64()),
        ("minimum_price_eur", pa.float64()),
        ("maximum_price_eur", pa.float64()),
        ("daily_traded_volume", pa.int64()),
        ("change_prev_closing_pct", pa.float64()),
    ]
)


def daily_aggregates(bars: pa.Table, *, include_zero_volume_rows: bool = False) -> pa.Table:
    """One row per ISIN that traded: open of its earliest minute, close of its latest, and so on.

    Rows with traded volume 0 are reference prices, not trades, and are dropped unless asked for.
    """
    fast = aggregates_of_unique_minutes(bars, include_zero_volume_rows=include_zero_volume_rows)
    if fast is not None:
        return fast
    bars = bars.select(BAR_SCHEMA.names)
    if not include_zero_volume_rows:
        bars = bars.filter(pc.greater(bars["traded_volume"], 0))
    if bars.num_rows == 0:
        return AGGREGATE_SCHEMA.empty_table()
    return _daily_aggregates_arrow(bars)


def aggregates_of_unique_minutes(
    bars: pa.Table, *, include_zero_volume_rows: bool = False, minutes: np.ndarray | None = None
) -> pa.Table | None:
    """`daily_aggregates` in a few linear numpy passes, or None when it does not apply.

    It applies when no ISIN has two rows for one minute (over all rows, zero volume included),
    every time is `hh:mm` and no value is null or NaN: then a security's open is the start price
    of its one earliest minute and its close the end price of its one latest, found by scatter
    reductions over integer codes; nothing is sorted but the ISIN dictionary. None tells the
    caller that the rows need the general path (or, for a repeated minute, deduplication first).
    """
    bars = bars.select(BAR_SCHEMA.names).combine_chunks()
    if bars.num_rows == 0:
        return AGGREGATE_SCHEMA.empty_table()
    if any(column.null_count for column in bars.columns):
        return None
    if minutes is None:  # `minutes`: each row's minute_of_day, when the caller has it already
        minutes = minute_of_day(bars["time"].chunk(0))
    if minutes is None:
        return None
    isins = pc.dictionary_encode(bars["isin"].chunk(0))
    codes = np.asarray(isins.indices)
    securities = len(isins.dictionary)
    seen = np.zeros(securities * MINUTES_PER_DAY, np.bool_)
    seen[codes.astype(np.int64) * MINUTES_PER_DAY + minutes] = True
    if np.count_nonzero(seen) != len(codes):
        return None  # a repeated minute
    start, high, low, end = (
        np.asarray(bars[name].chunk(0))
        for name in ("start_price", "max_price", "min_price", "end_price")
    )
    if np.isnan(start).any() or np.isnan(high).any() or np.isnan(low).any() or np.isnan(end).any():
        return None  # numpy and Arrow disagree about NaN in min/max
    volume = np.asarray(bars["traded_volume"].chunk(0))
    if not include_zero_volume_rows:
        # Rows without volume go to one extra, discarded group: no filtered copies of columns.
        codes = np.where(volume > 0, codes, securities)
    groups = securities + 1
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
    minimum = np.full(groups, np.inf)
    maximum = np.full(groups, -np.inf)
    np.minimum.at(minimum, codes, low)
    np.maximum.at(maximum, codes, high)
    total = np.zeros(groups, np.int64)
    np.add.at(total, codes, volume)
    order = np.asarray(pc.sort_indices(isins.dictionary))
    order = order[last[order] >= 0]  # ISINs with rows that all had volume 0 did not trade
    return pa.table(
        {
            "isin": isins.dictionary.take(pa.array(order)),
            "opening_price_eur": opening[order],
            "closing_price_eur": closing[order],
            "minimum_price_eur": minimum[order],
            "maximum_price_eur": maximum[order],
            "daily_traded_volume": total[order],
        },
        schema=AGGREGATE_SCHEMA,
    )


MINUTES_PER_DAY = 24 * 60


def minute_of_day(times: pa.Array) -> np.ndarray | None:
    """Minutes since midnight of `hh:mm` strings, read off the raw bytes; None unless all are."""
    raw = fixed_width_bytes(times, 5)
    if raw is None:
        return None
    digits = raw.astype(np.int16) - ord("0")
    h1, h2, colon, m1, m2 = (digits[:, i] for i in range(5))
    valid = (
        (((h1 == 0) | (h1 == 1)) & (h2 >= 0) & (h2 <= 9)) | ((h1 == 2) & (h2 >= 0) & (h2 <= 3))
    ) & ((colon == ord(":") - ord("0")) & (m1 >= 0) & (m1 <= 5) & (m2 >= 0) & (m2 <= 9))
    if not valid.all():
        return None
    minutes: np.ndarray = (h1 * 10 + h2) * 60 + m1 * 10 + m2
    return minutes


def fixed_width_bytes(strings: pa.Array, width: int) -> np.ndarray | None:
    """A string array's bytes as an (n, width) uint8 matrix, when every value is `width` bytes
    and none is null; else None. No copy."""
    n = len(strings)
    if strings.null_count or strings.type != pa.string():
        return None
    if n == 0:
        return np.empty((0, width), np.uint8)
    offsets = np.frombuffer(strings.buffers()[1], np.int32)[strings.offset : strings.offset + n + 1]
    if offsets[-1] - offsets[0] != width * n or not (np.diff(offsets) == width).all():
        return None
    data = np.frombuffer(strings.buffers()[2], np.uint8)[offsets[0] : offsets[-1]]
    return data.reshape(n, width)


def _daily_aggregates_arrow(bars: pa.Table) -> pa.Table:
    # A stable sort keeps the input order among rows of the same ISIN and minute.
    order = pc.sort_indices(bars, sort_keys=[("isin", "ascending"), ("time", "ascending")])
    bars = bars.take(order)
    grouped = bars.group_by("isin", use_threads=False).aggregate(
        [
            ("start_price", "first"),
            ("end_price", "last"),
            ("min_price", "min"),
            ("max_price", "max"),
            ("traded_volume", "sum"),
        ]
    )
    table = pa.table(
        {
            "isin": grouped["isin"],
            "opening_price_eur": grouped["start_price_first"],
            "closing_price_eur": grouped["end_price_last"],
            "minimum_price_eur": grouped["min_price_min"],
            "maximum_price_eur": grouped["max_price_max"],
            "daily_traded_volume": grouped["traded_volume_sum"],
        },
        schema=AGGREGATE_SCHEMA,
    )
    return table.take(pc.sort_indices(table, sort_keys=[("isin", "ascending")]))


def report_rows(
    day: dt.date,
    aggregates: pa.Table,
    window: Mapping[dt.date, pa.Table],
) -> pa.Table:
    """The report rows of `day`, sorted by ISIN.

    `window` holds the aggregates of every source date in the lookback window before `day`
    (dates without a folder are simply absent). A security's previous close is its close on
    the latest window date on which it traded. The change is null without a previous close or
    when that close is 0. No rounding.
    """
    if any(not (other < day) for other in window):
        raise ValueError(f"the previous-close window of {day} must hold only earlier dates")
    if aggregates.num_rows == 0:
        return REPORT_SCHEMA.empty_table()
    aggregates = aggregates.sort_by("isin")
    close = np.asarray(aggregates["closing_price_eur"])
    prev_close = np.zeros(len(close))
    found = np.zeros(len(close), np.bool_)
    for _, earlier in sorted(window.items()):  # oldest first: a later close overwrites
        if not earlier.num_rows:
            continue
        position = pc.index_in(aggregates["isin"], value_set=earlier["isin"]).combine_chunks()
        traded = np.asarray(position.is_valid())
        rows = np.asarray(position.fill_null(0))[traded]
        prev_close[traded] = np.asarray(earlier["closing_price_eur"])[rows]
        found |= traded
    usable = found & (prev_close != 0)
    change = np.full(len(close), np.nan)
    change[usable] = 100.0 * (close[usable] - prev_close[usable]) / prev_close[usable]
    return pa.table(
        {
            "isin": aggregates["isin"],
            "date": pa.array(np.full(aggregates.num_rows, day, "datetime64[D]"), pa.date32()),
            "opening_price_eur": aggregates["opening_price_eur"],
            "closing_price_eur": aggregates["closing_price_eur"],
            "minimum_price_eur": aggregates["minimum_price_eur"],
            "maximum_price_eur": aggregates["maximum_price_eur"],
            "daily_traded_volume": aggregates["daily_traded_volume"],
            "change_prev_closing_pct": pa.array(change, pa.float64(), mask=~usable),
        },
        schema=REPORT_SCHEMA,
    )
