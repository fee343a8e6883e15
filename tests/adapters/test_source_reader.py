"""The source reader on every backend: a date's objects in, validated minute bars out, and
errors that name the object, line and column."""

from __future__ import annotations

import datetime as dt
import threading

import pyarrow as pa
import pytest

from xetra_etl.common.adapters.catalog import list_source_dates
from xetra_etl.common.adapters.source_csv import read_bars
from xetra_etl.common.adapters.source_reader import SourceReader
from xetra_etl.common.adapters.storage import ObjectStore
from xetra_etl.common.domain.columns import XETRA_HEADER_NAMES
from xetra_etl.common.domain.source_layout import SourceDate, SourceObject
from xetra_etl.common.infra.config import SourceConfig
from xetra_etl.common.infra.errors import ExitCode, ObjectNotFoundError, SourceDataError
from xetra_etl.common.ports import DateBars

DAY = dt.date(2021, 3, 1)
HEADER = (
    b"ISIN,Mnemonic,SecurityDesc,SecurityType,Currency,SecurityID,Date,Time,"
    b"StartPrice,MaxPrice,MinPrice,EndPrice,TradedVolume,NumberOfTrades\n"
)
OTHER_HEADER = HEADER.replace(b"Mnemonic,", b"").replace(b",NumberOfTrades", b",NumberOfTrades,X")


def row(isin: str, time: str, price: float = 10.0, volume: int = 5) -> bytes:
    return (
        f'{isin},M,"DESC, A",Common stock,EUR,1,2021-03-01,{time},'
        f"{price},{price + 1},{price - 1},{price},{volume},2\n"
    ).encode()


def other_row(isin: str, time: str) -> bytes:
    return f'{isin},"DESC",Common stock,EUR,1,2021-03-01,{time},10,11,9,10,5,2,x\n'.encode()


def put_date(store: ObjectStore, *objects: bytes) -> SourceDate:
    for hour, body in enumerate(objects, start=8):
        store.put(f"{DAY}/{DAY}_BINS_XETR{hour:02d}.csv", body)
    return list_source_dates(store, DAY, DAY)[DAY]


def reader(store: ObjectStore) -> SourceReader:
    return SourceReader(store, SourceConfig(uri=store.uri, read_workers=2))


def each_object(store: ObjectStore, source_date: SourceDate) -> list[dict[str, object]]:
    return [
        bar
        for obj in source_date.objects
        for bar in read_bars(
            store.get(obj.key).data, key=obj.key, columns=XETRA_HEADER_NAMES, day=DAY
        ).to_pylist()
    ]


def isins_of_codes(bars: DateBars) -> list[object]:
    """The rows' ISINs as the reader's ISIN codes say, for the aggregation to reuse."""
    assert bars.isin_codes is not None
    codes, distinct = bars.isin_codes
    return distinct.take(pa.array(codes)).to_pylist()


def test_read_date_gives_the_rows_of_each_object_in_turn(store: ObjectStore) -> None:
    source_date = put_date(
        store,
        HEADER + row("DE0007664039", "08:00") + row("CH0012005267", "08:01", 3.0, 0),
        b"",
        HEADER,
        (HEADER + row("DE0007664039", "09:59", 12.5)).replace(b"\n", b"\r\n"),
        HEADER + row("DE0007664039", "10:30").rstrip(b"\n"),
    )
    bars = reader(store).read_date(source_date)
    assert bars.bars.to_pylist() == each_object(store, source_date)
    assert bars.minutes.tolist() == [480, 481, 599, 630]
    assert bars.duplicates == 0 and bars.rows_read == 4
    assert isins_of_codes(bars) == bars.bars["isin"].to_pylist()


def test_read_date_reads_objects_whose_headers_differ(store: ObjectStore) -> None:
    source_date = put_date(
        store,
        HEADER + row("DE0007664039", "08:00"),
        OTHER_HEADER + other_row("DE0007664039", "09:00"),
    )
    bars = reader(store).read_date(source_date)
    assert bars.bars.to_pylist() == each_object(store, source_date)
    assert bars.minutes.tolist() == [480, 540]


def test_read_date_drops_exact_duplicates_and_counts_them(store: ObjectStore) -> None:
    again = row("DE0007664039", "08:00")
    source_date = put_date(store, HEADER + again + row("DE0007664039", "08:01"), HEADER + again)
    bars = reader(store).read_date(source_date)
    assert bars.duplicates == 1 and bars.rows_read == 3
    assert bars.bars["time"].to_pylist() == ["08:00", "08:01"]
    assert bars.minutes.tolist() == [480, 481]
    assert isins_of_codes(bars) == bars.bars["isin"].to_pylist()  # codes of the rows kept


def test_read_date_names_the_object_and_line_of_a_conflicting_row(store: ObjectStore) -> None:
    source_date = put_date(
        store,
        HEADER + row("DE0007664039", "08:00"),
        HEADER + row("CH0012005267", "09:00") + row("DE0007664039", "08:00", volume=6),
    )
    with pytest.raises(SourceDataError) as caught:
        reader(store).read_date(source_date)
    message = str(caught.value)
    assert "a second, different row for ISIN DE0007664039 at 08:00" in message
    assert f"{DAY}_BINS_XETR09.csv" in message and "line 3" in message and "Time" in message


def test_read_date_names_the_object_line_and_column_of_a_broken_rule(store: ObjectStore) -> None:
    source_date = put_date(
        store,
        HEADER + row("DE0007664039", "08:00"),
        HEADER + row("DE0007664039", "09:00") + row("DE0007664039", "9:01"),
    )
    with pytest.raises(SourceDataError) as caught:
        reader(store).read_date(source_date)
    message = str(caught.value)
    assert f"{DAY}_BINS_XETR09.csv" in message and "line 3" in message and "Time" in message


def test_read_date_leaves_no_reader_threads_behind(store: ObjectStore) -> None:
    source_date = put_date(store, *(HEADER + row("DE0007664039", f"{h:02d}:00") for h in range(6)))
    before = {t for t in threading.enumerate() if t.name.startswith("read")}
    reader(store).read_date(source_date)
    for thread in threading.enumerate():
        if thread.name.startswith("read") and thread not in before:
            thread.join(timeout=5)
            assert not thread.is_alive()


def test_read_date_on_s3_names_a_vanished_object(store: ObjectStore) -> None:
    if not store.uri.startswith("s3://"):
        pytest.skip("objects vanish between listing and reading on S3")
    gone = SourceDate(DAY, (SourceObject(f"{DAY}/{DAY}_BINS_XETR08.csv", 10, '"x"'),))
    with pytest.raises(ObjectNotFoundError) as caught:
        reader(store).read_date(gone)
    assert store.location(gone.objects[0].key) in str(caught.value)
    assert caught.value.exit_code == ExitCode.NO_INPUT
