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

# Canonical minute-bar columns after reading (see xetra_etl.common.domain.columns.SOURCE_COLUMNS).
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
    This is the reference form of the maths; `common.kernels.daily_aggregates` is its fast form.
    """
    bars = bars.select(BAR_SCHEMA.names)
    if not include_zero_volume_rows:
        bars = bars.filter(pc.greater(bars["traded_volume"], 0))
    if bars.num_rows == 0:
        return AGGREGATE_SCHEMA.empty_table()
    # A stable sort keeps the input order among rows of the same ISIN and minute.
    order = pc.sort_indices(bars, sort_keys=[("isin", "ascending"), ("time", "ascending")])
    grouped = (
        bars.take(order)
        .group_by("isin", use_threads=False)
        .aggregate(
            [
                ("start_price", "first"),
                ("end_price", "last"),
                ("min_price", "min"),
                ("max_price", "max"),
                ("traded_volume", "sum"),
            ]
        )
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
    return table.sort_by("isin")


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
