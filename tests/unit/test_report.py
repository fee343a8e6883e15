"""The report semantics of DESIGN section 4, on plain tables and on real Xetra days."""

from __future__ import annotations

import datetime as dt
import math

import pyarrow as pa
import pytest

from tests import oracle
from tests.sample_data import sample_dir
from xetra_etl.common.adapters.source_csv import read_bars
from xetra_etl.common.adapters.storage.local import LocalStore
from xetra_etl.common.domain.columns import XETRA_HEADER_NAMES
from xetra_etl.common.domain.report import BAR_SCHEMA, daily_aggregates, report_rows
from xetra_etl.common.domain.source_layout import SourceObject, select_objects

D1, D2, D3 = dt.date(2021, 3, 1), dt.date(2021, 3, 2), dt.date(2021, 3, 3)


def bars(*rows: tuple[str, str, float, float, float, float, int]) -> pa.Table:
    return pa.Table.from_pylist(
        [dict(zip(BAR_SCHEMA.names, row, strict=True)) for row in rows], schema=BAR_SCHEMA
    )


def test_aggregates_take_open_of_earliest_and_close_of_latest_minute_when_rows_unordered() -> None:
    table = daily_aggregates(
        bars(
            ("DE0007664039", "15:00", 12.0, 13.0, 11.5, 12.5, 10),
            ("DE0007664039", "09:00", 10.0, 10.5, 9.0, 10.25, 5),
            ("DE0007664039", "12:00", 11.0, 14.0, 10.0, 11.0, 1),
        )
    )
    assert table.to_pylist() == [
        {
            "isin": "DE0007664039",
            "opening_price_eur": 10.0,
            "closing_price_eur": 12.5,
            "minimum_price_eur": 9.0,
            "maximum_price_eur": 14.0,
            "daily_traded_volume": 16,
        }
    ]


def test_aggregates_ignore_zero_volume_rows_when_not_configured() -> None:
    rows = bars(
        ("DE0007664039", "09:00", 10.0, 10.0, 10.0, 10.0, 5),
        ("DE0007664039", "20:30", 99.0, 99.0, 99.0, 99.0, 0),
        ("CH0012005267", "20:30", 50.0, 50.0, 50.0, 50.0, 0),
    )
    assert daily_aggregates(rows)["isin"].to_pylist() == ["DE0007664039"]
    assert daily_aggregates(rows)["closing_price_eur"].to_pylist() == [10.0]
    with_zero = daily_aggregates(rows, include_zero_volume_rows=True)
    assert with_zero["isin"].to_pylist() == ["CH0012005267", "DE0007664039"]
    assert with_zero["closing_price_eur"].to_pylist() == [50.0, 99.0]


def test_aggregates_break_ties_by_input_order_when_two_rows_share_a_minute() -> None:
    table = daily_aggregates(
        bars(
            ("DE0007664039", "09:00", 1.0, 2.0, 1.0, 2.0, 1),
            ("DE0007664039", "09:00", 3.0, 4.0, 3.0, 4.0, 1),
        )
    )
    assert table["opening_price_eur"].to_pylist() == [1.0]
    assert table["closing_price_eur"].to_pylist() == [4.0]


def one(isin: str, close: float, volume: int = 1) -> pa.Table:
    return daily_aggregates(bars((isin, "10:00", close, close, close, close, volume)))


def test_change_uses_latest_earlier_trading_date_when_the_isin_skipped_a_day() -> None:
    window = {D1: one("DE0007664039", 100.0), D2: one("CH0012005267", 7.0)}
    rows = report_rows(D3, one("DE0007664039", 101.0), window)
    assert rows["change_prev_closing_pct"].to_pylist() == [pytest.approx(1.0)]


def test_change_is_exactly_the_unrounded_formula_when_closes_differ() -> None:
    rows = report_rows(D2, one("DE0007664039", 131.4), {D1: one("DE0007664039", 133.2)})
    assert rows["change_prev_closing_pct"].to_pylist() == [100 * (131.4 - 133.2) / 133.2]


def test_change_is_null_when_there_is_no_previous_close_in_the_window() -> None:
    rows = report_rows(D2, one("DE0007664039", 10.0), {})
    assert rows["change_prev_closing_pct"].to_pylist() == [None]


def test_change_is_null_when_the_previous_close_is_zero() -> None:
    zero = pa.table(
        {
            "isin": ["DE0007664039"],
            "opening_price_eur": [0.0],
            "closing_price_eur": [0.0],
            "minimum_price_eur": [0.0],
            "maximum_price_eur": [0.0],
            "daily_traded_volume": [1],
        },
        schema=one("X", 1.0).schema,
    )
    rows = report_rows(D2, one("DE0007664039", 10.0), {D1: zero})
    assert rows["change_prev_closing_pct"].to_pylist() == [None]


def test_report_rows_refuse_a_window_date_that_is_not_earlier() -> None:
    with pytest.raises(ValueError, match="earlier"):
        report_rows(D2, one("DE0007664039", 1.0), {D2: one("DE0007664039", 1.0)})


def test_report_rows_are_sorted_by_isin_and_typed_as_the_contract_says() -> None:
    aggregates = pa.concat_tables([one("DE0007664039", 1.0), one("AT0000A0E9W5", 2.0)])
    rows = report_rows(D2, aggregates, {})
    assert rows["isin"].to_pylist() == ["AT0000A0E9W5", "DE0007664039"]
    assert str(rows.schema.field("date").type) == "date32[day]"
    assert str(rows.schema.field("daily_traded_volume").type) == "int64"


def test_report_is_empty_when_the_date_only_has_zero_volume_rows() -> None:
    rows = report_rows(D2, daily_aggregates(bars(("DE0007664039", "08:29", 1, 1, 1, 1, 0))), {})
    assert rows.num_rows == 0


# Real Xetra days, read in place.


def real_aggregates(day: dt.date) -> pa.Table:
    folder = sample_dir() / day.isoformat()
    objects = [SourceObject(f"{day}/{p.name}", p.stat().st_size, "x") for p in folder.iterdir()]
    selected = select_objects(objects)[day]
    parts = [
        read_bars(
            (sample_dir() / obj.key).read_bytes(),
            key=obj.key,
            columns=XETRA_HEADER_NAMES,
            day=day,
        )
        for obj in selected.objects
    ]
    return daily_aggregates(pa.concat_tables(parts))


def test_volkswagen_change_matches_the_published_closes_on_2017_07_28() -> None:
    d27, d28 = dt.date(2017, 7, 27), dt.date(2017, 7, 28)
    rows = report_rows(d28, real_aggregates(d28), {d27: real_aggregates(d27)})
    vw = next(r for r in rows.to_pylist() if r["isin"] == "DE0007664039")
    assert vw["closing_price_eur"] == 131.4
    assert round(vw["change_prev_closing_pct"], 4) == -1.3514
    assert math.isclose(vw["change_prev_closing_pct"], 100 * (131.4 - 133.2) / 133.2)


def test_saturday_with_only_reference_rows_reports_nothing_on_2017_07_01() -> None:
    assert real_aggregates(dt.date(2017, 7, 1)).num_rows == 0


def test_header_only_day_reports_nothing_on_2017_06_25() -> None:
    assert real_aggregates(dt.date(2017, 6, 25)).num_rows == 0


def test_strings_quoted_style_of_2018_is_read_like_the_fully_quoted_one() -> None:
    day = dt.date(2018, 2, 16)
    first_line = (sample_dir() / f"{day}/{day}_BINS_XETR10.csv").read_bytes().split(b"\n")[1]
    assert b'",Common stock,"' in first_line  # the sample keeps the 2018 quoting
    table = real_aggregates(day)
    expected = oracle.daily(LocalStore(sample_dir(), durable=False))
    by_isin = {row.pop("isin"): row for row in table.to_pylist()}
    assert len(by_isin) >= 30
    assert by_isin == expected[day]
