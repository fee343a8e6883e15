"""Plain pandas: read_csv per file, concat, groupby (DESIGN section 4), a partition per date.

python bench/pandas_baseline.py SOURCE_DIR OUT_DIR LOOKBACK_DAYS
"""

from __future__ import annotations

import glob
import os
import sys

import pandas as pd

USE = ["ISIN", "Date", "Time", "StartPrice", "MaxPrice", "MinPrice", "EndPrice", "TradedVolume"]
TYPES = {
    "ISIN": "string",
    "Date": "string",
    "Time": "string",
    "StartPrice": "float64",
    "MaxPrice": "float64",
    "MinPrice": "float64",
    "EndPrice": "float64",
    "TradedVolume": "int64",
}


def main(source: str, out: str, lookback: int) -> None:
    files = sorted(glob.glob(os.path.join(source, "*", "*_BINS_XETR??.csv")))
    bars = pd.concat(
        [pd.read_csv(f, usecols=USE, dtype=TYPES, encoding="latin-1") for f in files],
        ignore_index=True,
    )
    bars = bars[bars["TradedVolume"] > 0].sort_values(["ISIN", "Date", "Time"], kind="stable")
    daily = (
        bars.groupby(["ISIN", "Date"], sort=True)
        .agg(
            opening_price_eur=("StartPrice", "first"),
            closing_price_eur=("EndPrice", "last"),
            minimum_price_eur=("MinPrice", "min"),
            maximum_price_eur=("MaxPrice", "max"),
            daily_traded_volume=("TradedVolume", "sum"),
        )
        .reset_index()
        .rename(columns={"ISIN": "isin", "Date": "date"})
    )
    day = pd.to_datetime(daily["date"])
    prev_close = daily.groupby("isin")["closing_price_eur"].shift(1)
    prev_day = day.groupby(daily["isin"]).shift(1)
    usable = (day - prev_day <= pd.Timedelta(days=lookback)) & (prev_close != 0)
    change = 100.0 * (daily["closing_price_eur"] - prev_close) / prev_close
    daily["change_prev_closing_pct"] = change.where(usable)
    daily["daily_traded_volume"] = daily["daily_traded_volume"].astype("int64")
    for date, rows in daily.groupby("date", sort=True):
        folder = os.path.join(out, f"date={date}")
        os.makedirs(folder, exist_ok=True)
        rows.drop(columns="date").to_parquet(os.path.join(folder, "part-0.parquet"), index=False)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
