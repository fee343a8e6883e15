"""Reading source objects: every quoting style, and errors that name key, line and column."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from xetra_etl.common.adapters import source_csv
from xetra_etl.common.adapters.source_csv import join_objects, read_bars
from xetra_etl.common.domain.columns import XETRA_HEADER_NAMES
from xetra_etl.common.infra.errors import ExitCode, SourceDataError
from xetra_etl.common.ports import Stream

DAY = dt.date(2017, 7, 28)
HEADER = (
    b"ISIN,Mnemonic,SecurityDesc,SecurityType,Currency,SecurityID,Date,Time,"
    b"StartPrice,MaxPrice,MinPrice,EndPrice,TradedVolume,NumberOfTrades\n"
)
ALL_QUOTED = (
    b'"DE0007664039","VOW3","VOLKSWAGEN AG VZO O.N.","Common stock","EUR","2505075",'
    b'"2017-07-28","09:00","132.85","132.9","132.4","132.5","6000","12"\n'
)
STRINGS_QUOTED = (
    b'"DE0007664039","VOW3","VOLKSWAGEN AG VZO O.N.",Common stock,"EUR",2505075,'
    b"2017-07-28,09:00,132.85,132.9,132.4,132.5,6000,12\n"
)
MINIMAL = (
    b'DE0007664039,VOW3,"VOLKSWAGEN AG, VZO O.N.",Common stock,EUR,2505075,'
    b"2017-07-28,09:00,132.85,132.9,132.4,132.5,6000,12\n"
)


def read(body: bytes) -> list[dict[str, object]]:
    return read_bars(body, key="src/k.csv", columns=XETRA_HEADER_NAMES, day=DAY).to_pylist()


@pytest.mark.parametrize("row", [ALL_QUOTED, STRINGS_QUOTED, MINIMAL])
def test_every_quoting_style_gives_the_same_bars(row: bytes) -> None:
    assert read(HEADER + row) == [
        {
            "isin": "DE0007664039",
            "time": "09:00",
            "start_price": 132.85,
            "max_price": 132.9,
            "min_price": 132.4,
            "end_price": 132.5,
            "traded_volume": 6000,
        }
    ]


def test_header_only_and_empty_objects_have_no_bars() -> None:
    assert read(HEADER) == []
    assert read(b"") == []


def test_bom_and_crlf_line_endings_are_read() -> None:
    body = b"\xef\xbb\xbf" + (HEADER + MINIMAL + MINIMAL).replace(b"\n", b"\r\n")
    assert len(read(body)) == 2


def test_bytes_that_are_not_utf8_in_an_unused_column_do_not_matter() -> None:
    assert len(read(HEADER + MINIMAL.replace(b"VOLKSWAGEN", b"VOLKSW\xc4\xff\xfeN"))) == 1


def test_reordered_and_extra_columns_are_read_by_name() -> None:
    body = (
        b"Extra,TradedVolume,Time,Date,EndPrice,MinPrice,MaxPrice,StartPrice,ISIN\n"
        b"x,6000,09:00,2017-07-28,132.5,132.4,132.9,132.85,DE0007664039\n"
    )
    assert read(body)[0]["end_price"] == 132.5


def error_of(body: bytes) -> SourceDataError:
    with pytest.raises(SourceDataError) as info:
        read(body)
    assert info.value.exit_code == ExitCode.DATA
    assert "src/k.csv" in str(info.value)
    return info.value


def test_missing_mapped_column_names_the_column_on_line_1() -> None:
    error = error_of(HEADER.replace(b"EndPrice", b"ClosePrice") + MINIMAL)
    assert (error.line, error.column) == (1, "EndPrice")


def test_unparsable_number_names_line_and_column() -> None:
    error = error_of(HEADER + MINIMAL + MINIMAL.replace(b",132.5,", b",13x2.5,"))
    assert (error.line, error.column) == (3, "EndPrice")


def test_truncated_last_line_names_its_line() -> None:
    error = error_of(HEADER + MINIMAL + MINIMAL + MINIMAL[:60])
    assert error.line == 4


def test_not_utf8_in_a_used_column_names_line_and_column() -> None:
    error = error_of(HEADER + MINIMAL.replace(b"DE0007664039", b"DE000766\xff039"))
    assert (error.line, error.column) == (2, "ISIN")


def test_row_dated_differently_from_its_folder_is_refused() -> None:
    error = error_of(HEADER + MINIMAL + MINIMAL.replace(b"2017-07-28", b"2017-07-27"))
    assert (error.line, error.column) == (3, "Date")


@pytest.mark.parametrize(
    ("old", "new", "column"),
    [
        (b",132.85,", b",0,", "StartPrice"),
        (b",132.4,", b",-1,", "MinPrice"),
        (b",6000,", b",-5,", "TradedVolume"),
        (b",09:00,", b",9h00,", "Time"),
        (b",132.5,", b",,", "EndPrice"),
    ],
)
def test_impossible_values_are_refused_with_their_column(
    old: bytes, new: bytes, column: str
) -> None:
    error = error_of(HEADER + MINIMAL.replace(old, new, 1))
    assert (error.line, error.column) == (2, column)


# --------------------------------------------------------------------------- one parse per date

OTHER_HEADER = HEADER.replace(b"ISIN,Mnemonic", b'"ISIN","Mnemonic"')
SECOND = MINIMAL.replace(b"09:00", b"09:01")
DATE_OBJECTS = [
    b"\xef\xbb\xbf" + HEADER + ALL_QUOTED,
    b"",
    HEADER,
    (HEADER + STRINGS_QUOTED.replace(b"09:00", b"10:00")).replace(b"\n", b"\r\n"),
    HEADER + SECOND.rstrip(b"\n"),  # no newline at the end
]


def test_joined_objects_hand_back_each_object_with_the_same_lines() -> None:
    joined, _ = join_objects(DATE_OBJECTS, columns=XETRA_HEADER_NAMES)
    assert joined is not None
    for index, blob in enumerate(DATE_OBJECTS):
        assert read(joined.object_bytes(index)) == read(blob)
        lines = blob.removeprefix(b"\xef\xbb\xbf").splitlines()
        assert joined.object_bytes(index).splitlines() == lines  # so line numbers agree


def test_objects_with_differing_headers_come_back_whole_and_in_order() -> None:
    objects = [HEADER + ALL_QUOTED, HEADER + SECOND, OTHER_HEADER + MINIMAL, HEADER + MINIMAL]
    joined, rest = join_objects(iter(objects), columns=XETRA_HEADER_NAMES)
    assert joined is None
    assert [read(blob) for blob in rest] == [read(blob) for blob in objects]


def test_a_header_without_a_mapped_column_is_not_joined() -> None:
    objects = [HEADER.replace(b"EndPrice", b"ClosePrice") + MINIMAL, HEADER + MINIMAL]
    joined, rest = join_objects(objects, columns=XETRA_HEADER_NAMES)
    assert joined is None and rest == objects


def test_an_empty_object_before_an_unjoinable_header_still_comes_back_in_its_place() -> None:
    objects = [b"", HEADER.replace(b"EndPrice", b"ClosePrice") + MINIMAL, HEADER + MINIMAL]
    joined, rest = join_objects(objects, columns=XETRA_HEADER_NAMES)
    assert joined is None and rest == objects  # one per object: the careful path names each


@pytest.mark.parametrize("head", [4, 64, 1 << 16])
def test_streamed_objects_join_like_their_bytes(
    head: int, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    monkeypatch.setattr(source_csv, "_HEAD", head)
    big = HEADER + MINIMAL * 2000  # longer than any head: the rest is read in place
    objects = [*DATE_OBJECTS, b"  \n\n", big]
    opened: list[Stream] = []
    request.addfinalizer(lambda: [stream.close() for stream in opened])

    def streams(blobs: list[bytes]) -> list[Stream]:
        for index, blob in enumerate(blobs):
            path = tmp_path / f"{len(list(tmp_path.iterdir()))}-{index}.csv"
            path.write_bytes(blob)
            opened.append(open(path, "rb", buffering=0))  # noqa: SIM115
        return opened[-len(blobs) :]

    from_bytes, _ = join_objects(objects, columns=XETRA_HEADER_NAMES)
    from_streams, _ = join_objects(streams(objects), columns=XETRA_HEADER_NAMES)
    assert from_bytes is not None and from_streams is not None
    assert bytes(from_streams.data) == bytes(from_bytes.data)
    assert from_streams.spans == from_bytes.spans

    differing = [HEADER + ALL_QUOTED, OTHER_HEADER + MINIMAL, big]
    joined, rest = join_objects(streams(differing), columns=XETRA_HEADER_NAMES)
    assert joined is None
    assert [read(blob) for blob in rest] == [read(blob) for blob in differing]
