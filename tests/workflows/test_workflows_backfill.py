"""Backfills are cut into calendar months: one workflow each."""

from __future__ import annotations

import itertools
from datetime import date

import pytest

from xetra_etl.common.infra.config import PipelineConfig
from xetra_etl.workflows.backfill import DateWindow, month_windows


def test_month_windows_is_one_window_when_range_is_inside_a_month() -> None:
    assert month_windows(date(2017, 7, 3), date(2017, 7, 20)) == [
        DateWindow(date(2017, 7, 3), date(2017, 7, 20))
    ]


def test_month_windows_cut_at_month_ends_when_range_spans_months() -> None:
    windows = month_windows(date(2017, 6, 26), date(2017, 9, 5))
    assert windows == [
        DateWindow(date(2017, 6, 26), date(2017, 6, 30)),
        DateWindow(date(2017, 7, 1), date(2017, 7, 31)),
        DateWindow(date(2017, 8, 1), date(2017, 8, 31)),
        DateWindow(date(2017, 9, 1), date(2017, 9, 5)),
    ]


def test_month_windows_cross_year_and_leap_february_when_range_spans_them() -> None:
    windows = month_windows(date(2019, 12, 15), date(2020, 3, 1))
    assert [(w.first.isoformat(), w.last.isoformat()) for w in windows] == [
        ("2019-12-15", "2019-12-31"),
        ("2020-01-01", "2020-01-31"),
        ("2020-02-01", "2020-02-29"),
        ("2020-03-01", "2020-03-01"),
    ]


def test_month_windows_cover_every_day_once_when_range_is_long() -> None:
    first, last = date(2017, 6, 26), date(2022, 5, 31)
    windows = month_windows(first, last)
    assert len(windows) == 60
    assert windows[0].first == first and windows[-1].last == last
    for before, after in itertools.pairwise(windows):
        assert (after.first - before.last).days == 1
        assert before.first.month == before.last.month


def test_month_windows_is_single_day_when_first_equals_last() -> None:
    assert month_windows(date(2020, 1, 31), date(2020, 1, 31)) == [
        DateWindow(date(2020, 1, 31), date(2020, 1, 31))
    ]


def test_month_windows_raise_when_range_is_reversed() -> None:
    with pytest.raises(ValueError, match="after"):
        month_windows(date(2020, 2, 1), date(2020, 1, 31))


def test_window_label_names_its_month_when_used_in_workflow_name() -> None:
    assert DateWindow(date(2017, 7, 1), date(2017, 7, 31)).label == "2017-07"


def test_backfill_of_the_whole_source_gives_runs_far_below_the_item_bound() -> None:
    windows = month_windows(date(2017, 6, 26), date(2022, 5, 31))
    assert len(windows) == 60
    bound = PipelineConfig(first_date=date(2017, 6, 26)).max_items_per_run
    assert max((w.last - w.first).days + 1 for w in windows) <= 31 < bound
