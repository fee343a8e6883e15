"""The numpy kernels give exactly what the reference maths in the domain gives."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from xetra_etl.common import kernels
from xetra_etl.common.domain.report import BAR_SCHEMA, daily_aggregates


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


def _minutes(bars: pa.Table) -> np.ndarray:
    return kernels.hh_mm_minutes(bars["time"].combine_chunks())[0]


def _same(bars: pa.Table, *, zero_volume: bool) -> None:
    fast = kernels.daily_aggregates(bars, _minutes(bars), include_zero_volume_rows=zero_volume)
    reference = daily_aggregates(bars, include_zero_volume_rows=zero_volume)
    assert fast.schema == reference.schema
    assert repr(fast.to_pylist()) == repr(reference.to_pylist())  # repr: NaN equals NaN


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("zero_volume", [False, True])
def test_kernel_aggregates_equal_the_reference_on_shuffled_rows(
    seed: int, zero_volume: bool
) -> None:
    _same(_bars(np.random.default_rng(seed), 700, unique=True), zero_volume=zero_volume)


@pytest.mark.parametrize("zero_volume", [False, True])
def test_kernel_aggregates_equal_the_reference_when_minutes_repeat(zero_volume: bool) -> None:
    _same(_bars(np.random.default_rng(1), 3000, unique=False), zero_volume=zero_volume)


def test_kernel_aggregates_equal_the_reference_when_every_row_has_zero_volume() -> None:
    bars = _bars(np.random.default_rng(2), 50, unique=True)
    bars = bars.set_column(6, "traded_volume", pa.array(np.zeros(50, np.int64)))
    _same(bars, zero_volume=False)
    _same(bars, zero_volume=True)
    _same(BAR_SCHEMA.empty_table(), zero_volume=False)


@pytest.mark.parametrize(
    ("column", "value"),
    [("max_price", float("nan")), ("start_price", float("nan")), ("end_price", None)],
)
def test_kernel_aggregates_equal_the_reference_with_nan_and_nulls(
    column: str, value: object
) -> None:
    bars = _bars(np.random.default_rng(3), 200, unique=True).to_pylist()
    bars[17][column] = value
    _same(pa.Table.from_pylist(bars, schema=BAR_SCHEMA), zero_volume=True)


def test_hh_mm_minutes_reads_hh_mm_and_marks_anything_else() -> None:
    good = pa.array(["00:00", "09:05", "23:59"])
    minutes, valid = kernels.hh_mm_minutes(good)
    assert minutes.tolist() == [0, 545, 1439] and valid.all()
    bad = ["24:00", "09:60", "9:005", "09-05", "0905 ", "9:5", "", None, "ä9:05"]
    minutes, valid = kernels.hh_mm_minutes(pa.array(["00:01", *bad, "12:00"]))
    assert valid.tolist() == [True, *[False] * len(bad), True]
    assert minutes[[0, -1]].tolist() == [1, 720]
    assert kernels.not_hh_mm(pa.array([], pa.string())).tolist() == []


def test_hh_mm_minutes_reads_a_sliced_array() -> None:
    times = pa.array(["xx", "10:00", "9:00", "11:30"]).slice(1)
    minutes, valid = kernels.hh_mm_minutes(times)
    assert valid.tolist() == [True, False, True] and minutes[[0, 2]].tolist() == [600, 690]


def test_hh_mm_minutes_agrees_with_plain_python_on_every_two_digit_field() -> None:
    """Every hh and mm from 00 to 99 and fields with a byte either side of the digits."""
    fields = [f"{v:02d}" for v in range(100)] + ["/0", "0/", ":0", "0:", " 1", "1 ", "\x000"]
    times = [f"{hh}:{mm}" for hh in fields for mm in fields] + ["12;00", "12000", "12 00"]

    minutes, valid = kernels.hh_mm_minutes(pa.array(times))

    def plain(text: str) -> int | None:
        hh, colon, mm = text[:2], text[2], text[3:]
        ok = hh.isdigit() and mm.isdigit() and colon == ":" and int(hh) < 24 and int(mm) < 60
        return int(hh) * 60 + int(mm) if ok and hh.isascii() and mm.isascii() else None

    expected = [plain(text) for text in times]
    assert valid.tolist() == [value is not None for value in expected]
    assert minutes.tolist() == [value or 0 for value in expected]


@pytest.mark.parametrize("width", [1, 2, 3, 5, 7, 8, 9, 10, 12, 13, 16, 17])
def test_rows_other_than_equals_a_row_wise_comparison(width: int) -> None:
    rng = np.random.default_rng(width)
    value = bytes(rng.integers(0, 256, width, dtype=np.uint8))
    raw = np.tile(np.frombuffer(value, np.uint8), (300, 1))
    rows, columns = rng.integers(0, 300, 40), rng.integers(0, width, 40)
    raw[rows, columns] ^= rng.integers(1, 256, 40, dtype=np.uint8)  # one byte changed each

    other = kernels.rows_other_than(raw, value)

    assert other.tolist() == (raw != np.frombuffer(value, np.uint8)).any(axis=1).tolist()
    assert other.sum() == len(set(rows.tolist()))


def test_first_rows_of_minutes_points_repeats_at_their_first_row() -> None:
    codes = np.array([0, 1, 0, 0, 1])
    minutes = np.array([5, 5, 6, 5, 5], np.int16)
    assert kernels.first_rows_of_minutes(codes, minutes, 2).tolist() == [0, 1, 2, 0, 1]
    assert kernels.first_rows_of_minutes(codes[:3], minutes[:3], 2) is None


def test_fixed_width_bytes_is_none_for_other_widths_and_nulls() -> None:
    raw = kernels.fixed_width_bytes(pa.array(["ab", "cd"]), 2)
    assert raw is not None and raw.tolist() == [[97, 98], [99, 100]]
    assert kernels.fixed_width_bytes(pa.array(["ab", "c"]), 2) is None
    assert kernels.fixed_width_bytes(pa.array(["ab", None]), 2) is None
    assert pc.equal(pa.array(["ab"]), pa.array(["ab"]))[0].as_py()


@pytest.mark.parametrize("zero_volume", [False, True])
def test_kernel_aggregates_with_a_readers_isin_codes_equal_the_reference(zero_volume: bool) -> None:
    bars = _bars(np.random.default_rng(3), 700, unique=True)
    distinct = pc.unique(bars["isin"].combine_chunks())
    distinct = distinct.take(pa.array(np.arange(len(distinct))[::-1]))  # any order will do
    codes = np.asarray(pc.index_in(bars["isin"].combine_chunks(), value_set=distinct))

    fast = kernels.daily_aggregates(
        bars, _minutes(bars), include_zero_volume_rows=zero_volume, isin_codes=(codes, distinct)
    )

    reference = daily_aggregates(bars, include_zero_volume_rows=zero_volume)
    assert repr(fast.to_pylist()) == repr(reference.to_pylist())
