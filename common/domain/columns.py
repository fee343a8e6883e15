"""Canonical column names of the source and the report."""

from __future__ import annotations

# Canonical source columns, in the order the pipeline uses them.
SOURCE_COLUMNS: tuple[str, ...] = (
    "isin",
    "date",
    "time",
    "start_price",
    "max_price",
    "min_price",
    "end_price",
    "traded_volume",
)

# The header names Deutsche Börse uses; the default column mapping.
XETRA_HEADER_NAMES: dict[str, str] = {
    "isin": "ISIN",
    "date": "Date",
    "time": "Time",
    "start_price": "StartPrice",
    "max_price": "MaxPrice",
    "min_price": "MinPrice",
    "end_price": "EndPrice",
    "traded_volume": "TradedVolume",
}

# Report columns (DESIGN section 4) in output order.
OUTPUT_COLUMNS: tuple[str, ...] = (
    "isin",
    "date",
    "opening_price_eur",
    "closing_price_eur",
    "minimum_price_eur",
    "maximum_price_eur",
    "daily_traded_volume",
    "change_prev_closing_pct",
)
