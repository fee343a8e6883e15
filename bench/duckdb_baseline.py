"""The anchor: one hand-written DuckDB query over the same source files (DESIGN section 4).

Explicit schema (only the mapped columns are typed, the rest read as text), arg_min/arg_max per
ISIN and date, a window for the previous close, Hive-partitioned parquet out.

    python bench/duckdb_baseline.py SOURCE OUT LOOKBACK_DAYS

SOURCE and OUT are directories, or `s3://bucket/prefix` URIs read and written through DuckDB's
httpfs extension (the `duckdb-extension-httpfs` package), with the endpoint and keys of the
standard environment (`AWS_ENDPOINT_URL`, `AWS_ACCESS_KEY_ID`, ...).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import duckdb

COLUMNS = {
    "ISIN": "VARCHAR",
    "Mnemonic": "VARCHAR",
    "SecurityDesc": "VARCHAR",
    "SecurityType": "VARCHAR",
    "Currency": "VARCHAR",
    "SecurityID": "VARCHAR",
    "Date": "DATE",
    "Time": "VARCHAR",
    "StartPrice": "DOUBLE",
    "MaxPrice": "DOUBLE",
    "MinPrice": "DOUBLE",
    "EndPrice": "DOUBLE",
    "TradedVolume": "BIGINT",
    "NumberOfTrades": "VARCHAR",
}


def connect_s3(con: duckdb.DuckDBPyConnection) -> None:
    import duckdb_extension_httpfs

    package = Path(duckdb_extension_httpfs.__file__).parent
    (extension,) = package.glob(f"extensions/v{duckdb.__version__}/httpfs.duckdb_extension")
    con.load_extension(str(extension))
    endpoint = os.environ.get("AWS_ENDPOINT_URL", "")
    scheme, _, host = endpoint.partition("://")
    options = {
        "TYPE": "s3",
        "KEY_ID": os.environ["AWS_ACCESS_KEY_ID"],
        "SECRET": os.environ["AWS_SECRET_ACCESS_KEY"],
        "REGION": os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
    }
    if host:
        options |= {"ENDPOINT": host, "URL_STYLE": "path", "USE_SSL": str(scheme == "https")}
    secret = ", ".join(f"{key} '{value}'" for key, value in options.items())
    con.execute(f"CREATE SECRET bench ({secret})")


def main(source: str, out: str, lookback: int) -> None:
    con = duckdb.connect()
    if source.startswith("s3://") or out.startswith("s3://"):
        connect_s3(con)
    # `[0-9][0-9]`, not `??`: in an s3:// URI DuckDB reads `?` as the start of a query string.
    columns = "{" + ", ".join(f"'{k}': '{v}'" for k, v in COLUMNS.items()) + "}"
    con.execute(
        f"""
        COPY (
          WITH bars AS (
            SELECT ISIN AS isin, Date AS date, Time AS time, StartPrice, MaxPrice, MinPrice,
                   EndPrice, TradedVolume
            FROM read_csv('{source}/*/*_BINS_XETR[0-9][0-9].csv', header = true, quote = '"',
                          columns = {columns}, auto_detect = false)
            WHERE TradedVolume > 0
          ),
          daily AS (
            SELECT isin, date,
                   arg_min(StartPrice, time) AS opening_price_eur,
                   arg_max(EndPrice, time) AS closing_price_eur,
                   min(MinPrice) AS minimum_price_eur,
                   max(MaxPrice) AS maximum_price_eur,
                   sum(TradedVolume)::BIGINT AS daily_traded_volume
            FROM bars GROUP BY isin, date
          ),
          prev AS (
            SELECT *,
                   lag(closing_price_eur) OVER w AS prev_close,
                   lag(date) OVER w AS prev_date
            FROM daily WINDOW w AS (PARTITION BY isin ORDER BY date)
          )
          SELECT isin, opening_price_eur, closing_price_eur, minimum_price_eur,
                 maximum_price_eur, daily_traded_volume,
                 CASE WHEN prev_date >= date - INTERVAL {lookback} DAY AND prev_close <> 0
                      THEN 100.0 * (closing_price_eur - prev_close) / prev_close END
                   AS change_prev_closing_pct,
                 date
          FROM prev
        ) TO '{out}' (FORMAT parquet, PARTITION_BY (date), OVERWRITE_OR_IGNORE)
        """
    )


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
