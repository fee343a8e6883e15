"""Job control decisions: what needs work and why, and the meta file format."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
from dataclasses import replace

import pytest

from xetra_etl.common.domain.jobcontrol import (
    META_COLUMNS,
    OLD_META_COLUMNS,
    DateRecord,
    PartitionFile,
    Reason,
    State,
    dates_needing_work,
    extract_settings_digest,
    inputs_digest,
    mark_failed,
    parse_meta,
    partition_problem,
    render_meta,
    report_settings_digest,
    window_digest,
    window_fingerprints,
)

D = [dt.date(2021, 3, day) for day in range(1, 16)]


def done(day: dt.date, fp: str, inputs: str) -> DateRecord:
    return DateRecord(day, State.DONE, fp, inputs, row_count=3, run_id="r1")


def test_window_holds_only_earlier_dates_within_the_lookback() -> None:
    fps = {d: f"fp{d.day}" for d in D}
    assert sorted(window_fingerprints(D[10], fps, 3)) == [D[7], D[8], D[9]]


def test_needing_work_names_new_changed_input_changed_and_failed_dates() -> None:
    fps = {d: f"fp{d.day}" for d in D[:6]}
    inputs = {d: window_digest(d, fps, 2) for d in fps}
    records = {
        D[0]: done(D[0], "fp1", inputs[D[0]]),
        D[1]: done(D[1], "old", inputs[D[1]]),
        D[2]: done(D[2], "fp3", "stale"),
        D[3]: mark_failed(None, D[3], error="bad", exit_code=65, run_id="r", processed_at=""),
        D[4]: done(D[4], "fp5", inputs[D[4]]),
    }
    work = dates_needing_work(fps, inputs, records, first=D[0], last=D[5])
    assert work == {
        D[1]: Reason.CHANGED,
        D[2]: Reason.INPUT_CHANGED,
        D[3]: Reason.RETRY,
        D[5]: Reason.NEW,
    }


def test_a_changed_date_invalidates_exactly_the_dates_whose_lookback_reaches_it() -> None:
    fps = {d: f"fp{d.day}" for d in D}
    lookback = 3
    before = {d: window_digest(d, fps, lookback) for d in D}
    records = {d: done(d, fps[d], before[d]) for d in D}
    changed = {**fps, D[5]: "new"}
    after = {d: window_digest(d, changed, lookback) for d in D}
    work = dates_needing_work(changed, after, records, first=D[0], last=D[-1])
    assert work == {
        D[5]: Reason.CHANGED,
        D[6]: Reason.INPUT_CHANGED,
        D[7]: Reason.INPUT_CHANGED,
        D[8]: Reason.INPUT_CHANGED,
    }


def test_needing_work_is_bounded_by_first_and_last_date() -> None:
    fps = {d: "x" for d in D}
    assert sorted(dates_needing_work(fps, {}, {}, first=D[2], last=D[4])) == D[2:5]


def test_meta_file_round_trips_every_field() -> None:
    record = DateRecord(
        D[0],
        State.FAILED,
        "fp",
        "in",
        5,
        "run-1",
        "2021-03-01T00:00:00+00:00",
        1.5,
        'object k, line 3, column "EndPrice": bad',
        65,
        ("row count dropped",),
    )
    parsed = parse_meta(render_meta({D[0]: (record, '"etag"')}))
    assert parsed == {D[0]: (record, '"etag"')}


def test_meta_file_parser_rejects_a_file_it_did_not_write() -> None:
    with pytest.raises(ValueError):
        parse_meta(b"a,b\n1,2\n")


def test_record_json_round_trips() -> None:
    record = done(D[0], "fp", "in")
    assert DateRecord.from_json(record.to_json()) == record


def test_records_written_with_the_old_check_names_read_with_identifiers() -> None:
    old = {"min<=open,close<=max": "ok", "volume>=0": "FAILED", "isin_check_digit": "ok"}
    current = {
        "price_within_range": "ok",
        "volume_non_negative": "FAILED",
        "isin_check_digit": "ok",
    }
    record = replace(done(D[0], "fp", "in"), checks=old)
    assert DateRecord.from_json(record.to_json()).checks == current
    ((parsed, _),) = parse_meta(render_meta({D[0]: (record, '"etag"')})).values()
    assert parsed.checks == current


PART = frozenset({PartitionFile.of("part-0.parquet", 1234, '"abc"')})


def with_partition(record: DateRecord, partition: frozenset[PartitionFile] | None) -> DateRecord:
    return replace(record, partition=partition)


def test_partition_etag_quotes_carry_no_meaning() -> None:
    assert PartitionFile.of("p", 1, '"abc"') == PartitionFile.of("p", 1, "abc")


def test_needing_work_redoes_done_dates_whose_partition_is_missing_or_changed() -> None:
    fps = {d: f"fp{d.day}" for d in D[:5]}
    inputs = {d: window_digest(d, fps, 2) for d in fps}
    records = {d: with_partition(done(d, fps[d], inputs[d]), PART) for d in fps}
    records[D[4]] = with_partition(records[D[4]], frozenset())  # a day without trades
    found: dict[dt.date, set[PartitionFile]] = {
        D[0]: set(PART),
        D[2]: {PartitionFile.of("part-0.parquet", 1234, "other")},
        D[3]: {*PART, PartitionFile.of("extra.parquet", 5, "e")},
    }
    work = dates_needing_work(fps, inputs, records, first=D[0], last=D[4], partitions=found)
    assert work == {
        D[1]: Reason.PARTITION_MISSING,
        D[2]: Reason.PARTITION_CHANGED,
        D[3]: Reason.PARTITION_CHANGED,
    }
    found[D[4]] = set(PART)  # a partition appeared for a date that has none
    work = dates_needing_work(fps, inputs, records, first=D[4], last=D[4], partitions=found)
    assert work == {D[4]: Reason.PARTITION_CHANGED}
    # Without a listing of the target, partitions are not looked at.
    assert dates_needing_work(fps, inputs, records, first=D[0], last=D[4]) == {}


def test_a_record_without_partition_info_still_finds_a_deleted_partition() -> None:
    old = done(D[0], "fp", "in")  # row_count 3, partition None: written by an older version
    assert old.partition is None
    assert partition_problem(old, None) is Reason.PARTITION_MISSING
    assert partition_problem(old, set(PART)) is None  # an overwrite cannot be told apart
    no_trades = replace(old, row_count=0)
    assert partition_problem(no_trades, None) is None
    assert partition_problem(no_trades, set(PART)) is Reason.PARTITION_CHANGED


def test_a_failed_date_has_no_partition_problem() -> None:
    failed = mark_failed(None, D[0], error="x", exit_code=65, run_id="r", processed_at="")
    assert partition_problem(failed, None) is None


def test_record_json_and_meta_file_round_trip_the_partition() -> None:
    for partition in (PART, frozenset(), None):
        record = with_partition(done(D[0], "fp", "in"), partition)
        assert DateRecord.from_json(record.to_json()) == record
        assert parse_meta(render_meta({D[0]: (record, "e")})) == {D[0]: (record, "e")}


def test_meta_file_of_the_previous_columns_is_read_with_partition_unknown() -> None:
    record = with_partition(done(D[0], "fp", "in"), PART)
    header, row = render_meta({D[0]: (record, "e")}).decode().splitlines()
    assert tuple(header.split(",")) == META_COLUMNS
    index = META_COLUMNS.index("partition")
    cells = next(csv.reader([row]))
    old = ",".join(OLD_META_COLUMNS) + "\n" + ",".join(cells[:index] + cells[index + 1 :]) + "\n"
    assert parse_meta(old.encode()) == {D[0]: (with_partition(record, None), "e")}


def test_settings_digests_are_those_the_date_records_already_hold() -> None:
    # A changed digest redoes every date: the formula is the one earlier records were made with.
    def digest(value: object) -> str:
        return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()[:12]

    columns, report_columns = {"isin": "ISIN", "time": "Time"}, {"isin": "isin"}
    extract = extract_settings_digest(columns, False)
    assert extract == digest({"columns": columns, "zero_volume": False})
    report = report_settings_digest(extract, 7, report_columns)
    assert report == digest({"extract": extract, "lookback": 7, "columns": report_columns})
    day, fingerprints = dt.date(2024, 3, 5), {dt.date(2024, 3, 4): "a", dt.date(2024, 3, 5): "b"}
    assert inputs_digest(day, fingerprints, 7, report) == (
        f"{window_digest(day, fingerprints, 7)}-{report}"
    )
    assert extract_settings_digest(columns, True) != extract
