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
    bars = bars.select(BAR_SCHEMA.names)
    if not include_zero_volume_rows:
        bars = bars.filter(pc.greater(bars["traded_volume"], 0))
    if bars.num_rows == 0:
        return AGGREGATE_SCHEMA.empty_table()
    if any(column.null_count for column in bars.columns):
        return _daily_aggregates_arrow(bars)
    fast = _daily_aggregates_numpy(bars.combine_chunks())
    return fast if fast is not None else _daily_aggregates_arrow(bars)


def _daily_aggregates_numpy(bars: pa.Table) -> pa.Table | None:
    """The same result as `_daily_aggregates_arrow`, without sorting strings.

    ISINs and times are dictionary-encoded (hashing, no string sort); one stable sort of an
    integer key (ISIN code, rank of the time) orders the rows, so ties keep their input order;
    groups are then contiguous and every aggregate is one numpy reduction. None when a price is
    NaN (numpy and Arrow treat NaN differently in min/max): the caller uses the Arrow path then.
    """
    isin = pc.dictionary_encode(bars["isin"]).chunk(0)
    time = pc.dictionary_encode(bars["time"]).chunk(0)
    # Rank of each distinct time in string order: the dictionary is small (minutes of a day).
    time_rank = np.empty(len(time.dictionary), np.int64)
    time_rank[np.asarray(pc.sort_indices(time.dictionary))] = np.arange(len(time.dictionary))
    isin_code = np.asarray(isin.indices).astype(np.int64)
    key = isin_code * len(time.dictionary) + time_rank[np.asarray(time.indices)]
    order = np.argsort(key, kind="stable")
    start = np.asarray(bars["start_price"].chunk(0))[order]
    end = np.asarray(bars["end_price"].chunk(0))[order]
    low = np.asarray(bars["min_price"].chunk(0))[order]
    high = np.asarray(bars["max_price"].chunk(0))[order]
    if np.isnan(low).any() or np.isnan(high).any():
        return None
    volume = np.asarray(bars["traded_volume"].chunk(0))[order]
    codes = isin_code[order]
    firsts = np.flatnonzero(np.concatenate(([True], codes[1:] != codes[:-1])))
    lasts = np.concatenate((firsts[1:], [len(codes)])) - 1
    table = pa.table(
        {
            "isin": isin.dictionary.take(pa.array(codes[firsts])),
            "opening_price_eur": start[firsts],
            "closing_price_eur": end[lasts],
            "minimum_price_eur": np.minimum.reduceat(low, firsts),
            "maximum_price_eur": np.maximum.reduceat(high, firsts),
            "daily_traded_volume": np.add.reduceat(volume, firsts),
        },
        schema=AGGREGATE_SCHEMA,
    )
    return table.take(pc.sort_indices(table, sort_keys=[("isin", "ascending")]))


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


def previous_closes(window: Mapping[dt.date, pa.Table]) -> pa.Table:
    """Per ISIN, the close of the latest date in `window` on which it traded."""
    parts = [
        pa.table(
            {
                "isin": table["isin"],
                "prev_date": pa.array([day] * table.num_rows, pa.date32()),
                "prev_close": table["closing_price_eur"],
            }
        )
        for day, table in sorted(window.items())
        if table.num_rows
    ]
    if not parts:
        return pa.table(
            {
                "isin": pa.array([], pa.string()),
                "prev_date": pa.array([], pa.date32()),
                "prev_close": pa.array([], pa.float64()),
            }
        )
    stacked = pa.concat_tables(parts)
    order = pc.sort_indices(stacked, sort_keys=[("isin", "ascending"), ("prev_date", "descending")])
    latest = (
        stacked.take(order)
        .group_by("isin", use_threads=False)
        .aggregate([("prev_date", "first"), ("prev_close", "first")])
    )
    return latest.rename_columns(["isin", "prev_date", "prev_close"])


def report_rows(
    day: dt.date,
    aggregates: pa.Table,
    window: Mapping[dt.date, pa.Table],
) -> pa.Table:
    """The report rows of `day`.

    `window` holds the aggregates of every source date in the lookback window before `day`
    (dates without a folder are simply absent). The change is null without a previous close or
    when that close is 0. No rounding.
    """
    if any(not (other < day) for other in window):
        raise ValueError(f"the previous-close window of {day} must hold only earlier dates")
    if aggregates.num_rows == 0:
        return REPORT_SCHEMA.empty_table()
    prev = previous_closes(window)
    joined = aggregates.join(prev, "isin", join_type="left outer", use_threads=False)
    joined = joined.take(pc.sort_indices(joined, sort_keys=[("isin", "ascending")]))
    close = joined["closing_price_eur"]
    prev_close = joined["prev_close"]
    usable = pc.and_kleene(pc.is_valid(prev_close), pc.not_equal(prev_close, 0.0))
    change = pc.if_else(
        usable,
        pc.divide(pc.multiply(100.0, pc.subtract(close, prev_close)), prev_close),
        pa.scalar(None, pa.float64()),
    )
    return pa.table(
        {
            "isin": joined["isin"],
            "date": pa.array([day] * joined.num_rows, pa.date32()),
            "opening_price_eur": joined["opening_price_eur"],
            "closing_price_eur": close,
            "minimum_price_eur": joined["minimum_price_eur"],
            "maximum_price_eur": joined["maximum_price_eur"],
            "daily_traded_volume": joined["daily_traded_volume"],
            "change_prev_closing_pct": change,
        },
        schema=REPORT_SCHEMA,
    )
