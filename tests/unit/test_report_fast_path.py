"""The numpy path of daily_aggregates gives exactly the Arrow path's result, or steps aside."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from common.domain.report import (
    BAR_SCHEMA,
    _daily_aggregates_arrow,
    aggregates_of_unique_minutes,
    minute_of_day,
)


def _bars(rng: np.random.Generator, n: int, *, unique: bool) -> pa.Table:
    isins = np.array([f"DE000{i:06d}X" for i in range(60)])
    times = np.array([f"{h:02d}:{m:02d}" for h in (0, 8, 9, 15, 23) for m in (0, 7, 59)])
    if unique:
        pairs = rng.permutation(len(isins) * len(times))[:n]
        isin, time = isins[pairs // len(times)], times[pairs % len(times)]
    else:
        isin = isins[rng.integers(0, len(isins), n)]
        time = times[rng.integers(0, len(times), n)]
    low = rng.random(n)
    return pa.table(
        {
            "isin": isin,
            "time": time,
            "start_price": low + rng.random(n),
            "max_price": low + 2,
            "min_price": low,
            "end_price": low + rng.random(n),
            "traded_volume": rng.integers(0, 3, n) * rng.integers(1, 1000, n),  # a third are 0
        },
        schema=BAR_SCHEMA,
    )


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("zero_volume", [False, True])
def test_numpy_aggregates_equal_arrow_aggregates_on_shuffled_rows(
    seed: int, zero_volume: bool
) -> None:
    bars = _bars(np.random.default_rng(seed), 700, unique=True)
    fast = aggregates_of_unique_minutes(bars, include_zero_volume_rows=zero_volume)
    assert fast is not None
    expected = bars if zero_volume else bars.filter(pa.compute.greater(bars["traded_volume"], 0))
    assert fast.equals(_daily_aggregates_arrow(expected))


def test_numpy_aggregates_step_aside_when_a_minute_repeats() -> None:
    bars = _bars(np.random.default_rng(1), 3000, unique=False)
    assert aggregates_of_unique_minutes(bars) is None


@pytest.mark.parametrize(
    ("column", "value"),
    [("max_price", float("nan")), ("start_price", float("nan")), ("time", "9:00"), ("isin", None)],
)
def test_numpy_aggregates_step_aside_on_nan_odd_times_and_nulls(column: str, value: object) -> None:
    row: dict[str, object] = {
        "isin": "DE0007664039",
        "time": "09:00",
        "start_price": 1.0,
        "max_price": 1.0,
        "min_price": 1.0,
        "end_price": 1.0,
        "traded_volume": 1,
    }
    row[column] = value
    bars = pa.Table.from_pylist([row], schema=BAR_SCHEMA)
    assert aggregates_of_unique_minutes(bars) is None


def test_minute_of_day_reads_hh_mm_and_refuses_anything_else() -> None:
    minutes = minute_of_day(pa.array(["00:00", "09:05", "23:59"]))
    assert minutes is not None and minutes.tolist() == [0, 545, 1439]
    for bad in ["24:00", "09:60", "9:005", "09-05", "0905 "]:
        assert minute_of_day(pa.array(["00:00", bad])) is None, bad
    empty = minute_of_day(pa.array([], pa.string()))
    assert empty is not None and len(empty) == 0
