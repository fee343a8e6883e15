"""The source layout contract (DESIGN section 3) and date fingerprints."""

from __future__ import annotations

import datetime as dt

from xetra_etl.common.domain.source_layout import (
    SourceObject,
    fingerprint,
    parse_key,
    select_objects,
)

DAY = dt.date(2021, 3, 2)


def obj(name: str, etag: str = "e", size: int = 136) -> SourceObject:
    return SourceObject(f"{DAY}/{DAY}_BINS_XETR{name}.csv", size, etag)


def test_parse_key_reads_hourly_and_minute_files_and_ignores_the_rest() -> None:
    assert parse_key(f"{DAY}/{DAY}_BINS_XETR09.csv") == (DAY, 9, None)
    assert parse_key(f"{DAY}/{DAY}_BINS_XETR0930.csv") == (DAY, 9, 30)
    assert parse_key(f"{DAY}/2021-03-01_BINS_XETR09.csv") is None  # date differs from folder
    assert parse_key(f"{DAY}/{DAY}_BINS_XETR24.csv") is None
    assert parse_key(f"{DAY}/{DAY}_BINS_XEUR09.csv") is None
    assert parse_key("README.md") is None
    assert parse_key("2021-02-30/2021-02-30_BINS_XETR09.csv") is None


def test_select_prefers_the_hourly_file_when_an_hour_also_has_minute_files() -> None:
    selected = select_objects([obj("09"), obj("0901"), obj("1001"), obj("1000"), obj("11")])
    assert [o.key.rsplit("_", 1)[1] for o in selected[DAY].objects] == [
        "XETR09.csv",
        "XETR1000.csv",
        "XETR1001.csv",
        "XETR11.csv",
    ]


def test_select_groups_by_date_and_skips_dates_without_source_files() -> None:
    other = dt.date(2021, 3, 3)
    selected = select_objects(
        [
            obj("09"),
            SourceObject(f"{other}/{other}_BINS_XETR08.csv", 1, "e"),
            SourceObject("x", 1, "e"),
        ]
    )
    assert sorted(selected) == [DAY, other]


def test_fingerprint_changes_when_an_etag_size_or_key_changes() -> None:
    base = fingerprint([obj("09"), obj("10")])
    assert base == fingerprint([obj("10"), obj("09")])
    assert base != fingerprint([obj("09", etag="f"), obj("10")])
    assert base != fingerprint([obj("09", size=137), obj("10")])
    assert base != fingerprint([obj("09"), obj("11")])
    assert fingerprint([obj("09", etag='"e"')]) == fingerprint([obj("09", etag="e")])
