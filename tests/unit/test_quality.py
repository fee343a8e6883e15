from __future__ import annotations

import datetime as dt
import random
import string

import pyarrow as pa

from xetra_etl.common.domain.isin import check_digit, is_valid
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
    assert checks["price_within_range"] == "ok"
    assert checks["isin_check_digit"] == "ok"


def test_wrong_check_digit_and_price_order_warn() -> None:
    checks, warnings = quality_checks(MONDAY, rows("DE0007664038", low=2.5), previous_rows=None)
    assert checks["isin_check_digit"] == "1 invalid"
    assert checks["price_within_range"] == "FAILED"
    assert len(warnings) == 2


def test_sudden_row_drop_warns_on_weekdays_only() -> None:
    _, warnings = quality_checks(MONDAY, rows("DE0007664039"), previous_rows=10)
    assert any("dropped" in w for w in warnings)
    _, weekend = quality_checks(SATURDAY, rows("DE0007664039"), previous_rows=10)
    assert weekend == []


def _textbook_check_digit(body: str) -> int:
    """ISO 6166 spelled out: letters to numbers, then Luhn from the rightmost digit."""
    digits = "".join(str(int(ch, 36)) for ch in body.upper())
    total = 0
    for index, ch in enumerate(reversed(digits)):
        value = int(ch) * (2 if index % 2 == 0 else 1)
        total += value - 9 if value > 9 else value
    return (10 - total % 10) % 10


def test_isin_check_digits_of_real_isins_and_random_bodies() -> None:
    for real in ("DE0007164600", "US0378331005", "DE000BASF111", "GB0002634946", "IE00B4L5Y983"):
        assert is_valid(real)
        assert not any(is_valid(real[:11] + str(d)) for d in range(10) if str(d) != real[11])
    rng = random.Random(6166)
    alphabet = string.ascii_uppercase + string.digits
    for _ in range(2000):
        body = "".join(rng.choice(alphabet) for _ in range(11))
        assert check_digit(body) == _textbook_check_digit(body)


def test_isins_with_other_characters_are_invalid_not_errors() -> None:
    for isin in ("DE00071646É0", "DE000716460²", "DE000716460", "DE0007164600 ", "de0007164600x"):
        assert not is_valid(isin)
