from __future__ import annotations

import datetime as dt

import pyarrow as pa

from xetra_etl.common.domain.quality import quality_checks
from xetra_etl.common.domain.report import REPORT_SCHEMA

MONDAY, SATURDAY = dt.date(2021, 3, 1), dt.date(2021, 3, 6)


def rows(*isins: str, low: float = 1.0) -> pa.Table:
    return pa.Table.from_pylist(
        [
            {
                "isin": i,
                "date": MONDAY,
                "opening_price_eur": 2.0,
                "closing_price_eur": 2.0,
                "minimum_price_eur": low,
                "maximum_price_eur": 3.0,
                "daily_traded_volume": 5,
                "change_prev_closing_pct": None,
            }
            for i in isins
        ],
        schema=REPORT_SCHEMA,
    )


def test_clean_rows_pass_every_check() -> None:
    checks, warnings = quality_checks(MONDAY, rows("DE0007664039"), previous_rows=1)
    assert warnings == []
    assert checks["min<=open,close<=max"] == "ok"
    assert checks["isin_check_digit"] == "ok"


def test_wrong_check_digit_and_price_order_warn() -> None:
    checks, warnings = quality_checks(MONDAY, rows("DE0007664038", low=2.5), previous_rows=None)
    assert checks["isin_check_digit"] == "1 invalid"
    assert checks["min<=open,close<=max"] == "FAILED"
    assert len(warnings) == 2


def test_sudden_row_drop_warns_on_weekdays_only() -> None:
    _, warnings = quality_checks(MONDAY, rows("DE0007664039"), previous_rows=10)
    assert any("dropped" in w for w in warnings)
    _, weekend = quality_checks(SATURDAY, rows("DE0007664039"), previous_rows=10)
    assert weekend == []
