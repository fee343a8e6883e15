"""One table of row rules, two checks: the quick numpy one never accepts what the precise one
rejects, and both name the same first wrong row."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from xetra_etl.common.adapters.source_csv import PARSED_TYPES
from xetra_etl.common.domain.rules import RULES, RowProblem, first_broken_row
from xetra_etl.common.kernels import not_hh_mm, quick_check

DAY = dt.date(2021, 3, 1)
PRICES = [1.0, 2.0, 2.5, 3.0, 0.0, -1.0, float("nan"), float("inf")]


def _rows(plain: bool) -> st.SearchStrategy[list[dict[str, object]]]:
    maybe = (lambda values: values) if plain else (lambda values: [*values, None])
    isins = ["DE0007664039", "CH0012005267"] + ([] if plain else ["DE000766403", "DÉ000766403X"])
    dates = ["2021-03-01", "2021-03-02"] + ([] if plain else ["2021-3-1"])
    times = ["09:00", "23:59", "00:00", "24:00", "09:60", "9:0x0"] + ([] if plain else ["9:00"])
    row = st.fixed_dictionaries(
        {
            "isin": st.sampled_from(maybe(isins)),
            "date": st.sampled_from(maybe(dates)),
            "time": st.sampled_from(maybe(times)),
            "start_price": st.sampled_from(maybe(PRICES)),
            "max_price": st.sampled_from(maybe(PRICES)),
            "min_price": st.sampled_from(maybe(PRICES)),
            "end_price": st.sampled_from(maybe(PRICES)),
            "traded_volume": st.sampled_from(maybe([0, 1, 500, -1])),
        }
    )
    # Mostly valid rows, so that the first wrong row is often deep in the table.
    valid = st.just(
        {
            "isin": "DE0007664039",
            "date": "2021-03-01",
            "time": "10:00",
            "start_price": 2.0,
            "max_price": 3.0,
            "min_price": 1.0,
            "end_price": 2.5,
            "traded_volume": 10,
        }
    )
    return st.lists(st.one_of(valid, valid, row), max_size=30)


def _table(rows: list[dict[str, object]]) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=pa.schema(list(PARSED_TYPES.items())))


@settings(max_examples=200, deadline=None)
@given(_rows(plain=False))
def test_quick_check_never_accepts_what_the_precise_check_rejects(
    rows: list[dict[str, object]],
) -> None:
    table = _table(rows)
    precise = first_broken_row(table, DAY, not_hh_mm)
    quick = quick_check(table, DAY)
    if quick is not None:
        assert quick[0] == precise


@settings(max_examples=200, deadline=None)
@given(_rows(plain=True))
def test_quick_check_decides_plain_tables_like_the_precise_check(
    rows: list[dict[str, object]],
) -> None:
    table = _table(rows)
    quick = quick_check(table, DAY)
    assert quick is not None  # plain: no nulls, fixed-width ASCII strings
    assert quick[0] == first_broken_row(table, DAY, not_hh_mm)


def test_first_broken_row_names_the_earliest_row_and_its_first_rule() -> None:
    good = {"isin": "DE0007664039", "date": "2021-03-01", "time": "10:00"}
    prices = {"start_price": 2.0, "max_price": 3.0, "min_price": 1.0, "end_price": 2.5}
    rows = [
        {**good, **prices, "traded_volume": 1},
        {**good, **prices, "min_price": 0.0, "start_price": 9.0, "traded_volume": 1},
        {**good, **prices, "traded_volume": -1},
    ]
    problem = first_broken_row(_table(rows), DAY, not_hh_mm)
    assert problem == RowProblem(1, "min_price", "price is not positive")
    assert {rule.column for rule in RULES} == set(PARSED_TYPES)
