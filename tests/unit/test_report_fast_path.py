"""The numpy path of daily_aggregates gives exactly the Arrow path's result."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from common.domain.report import BAR_SCHEMA, _daily_aggregates_arrow, _daily_aggregates_numpy


def test_numpy_aggregates_equal_arrow_aggregates_when_rows_are_shuffled_with_ties() -> None:
    rng = np.random.default_rng(5)
    n = 5000
    isins = np.array([f"DE000{i:06d}X" for i in range(40)])
    times = np.array([f"{h:02d}:{m:02d}" for h in (8, 9, 15, 23) for m in (0, 7, 59)])
    bars = pa.table(
        {
            "isin": isins[rng.integers(0, len(isins), n)],
            "time": times[rng.integers(0, len(times), n)],  # many ties: input order breaks them
            "start_price": rng.random(n),
            "max_price": rng.random(n) + 1,
            "min_price": rng.random(n) - 1,
            "end_price": rng.random(n),
            "traded_volume": rng.integers(1, 1000, n),
        },
        schema=BAR_SCHEMA,
    )
    fast = _daily_aggregates_numpy(bars)
    assert fast is not None
    assert fast.equals(_daily_aggregates_arrow(bars))


def test_numpy_aggregates_step_aside_when_a_price_is_nan() -> None:
    bars = pa.table(
        {
            "isin": ["DE0007664039"],
            "time": ["09:00"],
            "start_price": [1.0],
            "max_price": [float("nan")],
            "min_price": [1.0],
            "end_price": [1.0],
            "traded_volume": [1],
        },
        schema=BAR_SCHEMA,
    )
    assert _daily_aggregates_numpy(bars) is None
