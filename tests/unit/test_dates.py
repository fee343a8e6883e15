from __future__ import annotations

import datetime as dt

import pytest

from xetra_etl.common.domain.dates import (
    chunked,
    date_range_problem,
    format_work_item,
    parse_date,
    parse_work_item,
)


def test_parse_date_accepts_only_iso_calendar_dates() -> None:
    assert parse_date("2021-03-01") == dt.date(2021, 3, 1)
    for bad in ("2021-3-1", "2021-02-30", "01.03.2021", "2021-03-01; rm -rf /", "../x"):
        with pytest.raises(ValueError):
            parse_date(bad)


def test_work_items_round_trip_in_every_accepted_spelling() -> None:
    days = [dt.date(2021, 3, 1), dt.date(2021, 3, 2)]
    assert parse_work_item(format_work_item(days)) == days
    assert parse_work_item('["2021-03-02", "2021-03-01"]') == days
    assert parse_work_item("2021-03-01") == days[:1]
    with pytest.raises(ValueError):
        parse_work_item("")
    with pytest.raises(ValueError):
        parse_work_item('["2021-03-01", 3]')


def test_chunked_keeps_order_and_sizes() -> None:
    days = [dt.date(2021, 3, d) for d in range(1, 6)]
    assert chunked(days, 2) == [days[0:2], days[2:4], days[4:5]]


def test_a_range_is_refused_when_it_is_empty_or_starts_after_today() -> None:
    today = dt.date(2024, 3, 15)
    assert date_range_problem(dt.date(2024, 3, 1), dt.date(2024, 3, 15), today) is None
    assert date_range_problem(dt.date(2024, 3, 1), dt.date(2024, 4, 1), today) is None
    assert date_range_problem(dt.date(2024, 3, 15), None, today) is None
    empty = date_range_problem(dt.date(2024, 3, 10), dt.date(2024, 3, 3), today)
    assert empty == "the date range is empty: first date 2024-03-10 is after last date 2024-03-03"
    future = date_range_problem(dt.date(2024, 3, 16), None, today)
    assert future == (
        "the date range lies in the future: first date 2024-03-16 is after today (2024-03-15, UTC)"
    )
