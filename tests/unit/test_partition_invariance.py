"""Partition invariance: however the dates are split into runs, and in whatever order the runs
happen, every date's report rows are identical to those of one run over the whole range."""

from __future__ import annotations

import datetime as dt
import itertools
import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xetra_etl.common.adapters.storage.local import LocalStore
from xetra_etl.common.app.demo_data import generate
from xetra_etl.common.entrypoints.entry import build_context
from xetra_etl.common.entrypoints.localrun import run_local
from xetra_etl.common.infra.config import parse_config

FIRST = dt.date(2021, 3, 1)
DAYS = 12
LAST = FIRST + dt.timedelta(days=DAYS - 1)


@pytest.fixture(scope="module")
def source_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("source")
    # Start the data before FIRST so the first reported dates have previous closes too.
    generate(
        LocalStore(path, durable=False),
        first_date=FIRST - dt.timedelta(days=5),
        days=DAYS + 5,
        securities_count=8,
        seed=3,
    )
    return path


def run_ranges(source: Path, ranges: list[tuple[dt.date, dt.date]]) -> pa.Table:
    with tempfile.TemporaryDirectory() as target:
        config = parse_config(
            {
                "source": {"uri": str(source)},
                "target": {"uri": target},
                "pipeline": {"first_date": FIRST.isoformat(), "prev_close_lookback_days": 4},
                "logging": {"level": "warning"},
            },
            env={},
        )
        for number, (first, last) in enumerate(ranges):
            ctx = build_context(config, f"run-{number}")
            result = run_local(ctx, first=first, last=last, workers=1)
            assert result.exit_code == 0
        table = ds.dataset(f"{target}/reports/daily", partitioning="hive").to_table()
        return table.sort_by([("date", "ascending"), ("isin", "ascending")])


@pytest.fixture(scope="module")
def one_run(source_dir: Path) -> pa.Table:
    return run_ranges(source_dir, [(FIRST, LAST)])


@st.composite
def splits(draw: st.DrawFn) -> list[tuple[dt.date, dt.date]]:
    cuts = sorted(draw(st.sets(st.integers(1, DAYS - 1), max_size=4)))
    bounds = [0, *cuts, DAYS]
    ranges = [
        (FIRST + dt.timedelta(days=a), FIRST + dt.timedelta(days=b - 1))
        for a, b in itertools.pairwise(bounds)
    ]
    return draw(st.permutations(ranges))


@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ranges=splits())
def test_rows_are_identical_for_any_split_and_order_of_runs(
    source_dir: Path, one_run: pa.Table, ranges: list[tuple[dt.date, dt.date]]
) -> None:
    assert one_run.num_rows > 0
    assert run_ranges(source_dir, ranges).equals(one_run)


def test_rerunning_a_finished_range_changes_nothing(source_dir: Path, one_run: pa.Table) -> None:
    assert run_ranges(source_dir, [(FIRST, LAST), (FIRST, LAST)]).equals(one_run)
