"""`xetra-etl run` end to end, through the real console script, on SeaweedFS and on local
directories: the report is right, re-runs do only the work that is due, bad input is named."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest

from tests.e2e.conftest import FIRST, Place, failed, processed

pytestmark = pytest.mark.e2e

SOURCE_DATES = {
    "2021-03-03",
    "2021-03-04",
    "2021-03-05",
    "2021-03-06",
    "2021-03-08",
    "2021-03-09",
    "2021-03-10",
}  # 2021-03-07 is a Sunday: no folder


def snapshot(place: Place, prefix: str) -> dict[str, str]:
    return {info.key: info.etag for info in place.target.list(prefix)}


def test_run_writes_the_report_the_reference_computes(place: Place) -> None:
    report = place.run()
    assert report["exit_code"] == 0, report["stderr"][-3000:]
    assert processed(report) == SOURCE_DATES
    rows = place.report_rows()
    assert rows == place.expected_rows()
    assert {r["date"] for r in rows} <= {dt.date.fromisoformat(d) for d in SOURCE_DATES}
    assert min(r["date"] for r in rows) == FIRST  # earlier dates are read, not reported
    # 2021-03-06 is a Saturday with reference rows only: a date, but no partition.
    assert not any(r["date"] == dt.date(2021, 3, 6) for r in rows)
    keys = {info.key for info in place.target.list("")}
    outside = [
        k for k in keys if not k.startswith(("reports/daily/", "meta/", "staging/", "runs/"))
    ]
    assert outside == []  # nothing is written outside the configured target prefixes
    assert "meta/meta.csv" in keys
    assert f"runs/{report['run_id']}/summary.json" in keys
    assert f"runs/{report['run_id']}/log.jsonl" in keys
    assert all(
        re.fullmatch(r"date=\d{4}-\d{2}-\d{2}/part-0\.parquet", k.split("reports/daily/")[1])
        for k in keys
        if k.startswith("reports/daily/")
    )


def test_second_run_with_nothing_new_processes_and_rewrites_nothing(place: Place) -> None:
    assert place.run()["exit_code"] == 0
    before = snapshot(place, "reports/") | snapshot(place, "meta/")
    second = place.run()
    assert second["exit_code"] == 0
    assert processed(second) == set()
    assert second["skipped"] == len(SOURCE_DATES)
    assert snapshot(place, "reports/") | snapshot(place, "meta/") == before


def rewrite(place: Place, key: str, change: Any) -> None:
    source = place.source
    source.put(key, change(source.get(key).data))


def test_changed_source_object_redoes_that_date_and_the_dates_whose_lookback_reaches_it(
    place: Place,
) -> None:
    assert place.run()["exit_code"] == 0
    key = "2021-03-04/2021-03-04_BINS_XETR15.csv"
    rewrite(place, key, lambda data: data.rsplit(b"\n", 2)[0] + b"\n")  # drop the last row
    report = place.run()
    assert report["exit_code"] == 0
    # lookback 3: 2021-03-05, 03-06 and 03-07 (no folder) can take 03-04's close.
    assert processed(report) == {"2021-03-04", "2021-03-05", "2021-03-06"}
    reasons = {d["date"]: d["reason"] for d in report["dates"]}
    assert reasons["2021-03-04"] == "changed"
    assert reasons["2021-03-05"] == "input-changed"
    assert place.report_rows() == place.expected_rows()


def test_new_date_is_picked_up_alone(place: Place) -> None:
    source = place.source
    held_back = {info.key: source.get(info.key).data for info in source.list("2021-03-10/")}
    for key in held_back:
        source.delete(key)
    first = place.run()
    assert first["exit_code"] == 0
    assert "2021-03-10" not in processed(first)
    for key, data in held_back.items():
        source.put(key, data)
    second = place.run()
    assert second["exit_code"] == 0
    assert processed(second) == {"2021-03-10"}
    assert place.report_rows() == place.expected_rows()


RENAMED = {
    "ISIN": "Security",
    "Date": "TradeDate",
    "Time": "Minute",
    "StartPrice": "Open",
    "MaxPrice": "High",
    "MinPrice": "Low",
    "EndPrice": "Close",
    "TradedVolume": "Volume",
}


def rename_and_reorder(data: bytes) -> bytes:
    import csv
    import io

    rows = list(csv.reader(io.StringIO(data.decode("utf-8"))))
    order = list(reversed(range(len(rows[0]))))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([RENAMED.get(rows[0][i], rows[0][i]) for i in order])
    for row in rows[1:]:
        writer.writerow([row[i] for i in order])
    return out.getvalue().encode()


def test_renamed_and_reordered_columns_mapped_in_config_give_the_same_report(place: Place) -> None:
    assert place.run()["exit_code"] == 0
    original = place.report_rows()
    source = place.source
    for info in list(source.list("")):
        source.put(info.key, rename_and_reorder(source.get(info.key).data))
    columns = {
        "isin": "Security",
        "date": "TradeDate",
        "time": "Minute",
        "start_price": "Open",
        "max_price": "High",
        "min_price": "Low",
        "end_price": "Close",
        "traded_volume": "Volume",
    }
    renamed_target = place.target_uri.rstrip("/") + "-renamed"
    config = place.write_config(
        "renamed.yaml", source={"columns": columns}, target={"uri": renamed_target}
    )
    report = place.run(config)
    assert report["exit_code"] == 0, report["stderr"][-2000:]
    place.target_uri = renamed_target
    assert place.report_rows() == original


def test_bad_number_fails_only_its_date_naming_key_line_and_column(place: Place) -> None:
    key = "2021-03-10/2021-03-10_BINS_XETR1000.csv"
    original = place.source.get(key).data
    lines = original.split(b"\n")
    fields = lines[1].split(b",")
    fields[-3] = b"12x.5"  # EndPrice of the first data row (line 2)
    lines[1] = b",".join(fields)
    place.source.put(key, b"\n".join(lines))
    report = place.run()
    assert report["exit_code"] == 65
    assert failed(report) == {"2021-03-10"}
    assert processed(report) == SOURCE_DATES - {"2021-03-10"}
    assert key in report["stderr"] and "line 2" in report["stderr"]
    assert "column EndPrice" in report["stderr"]
    status = place.cli("status", "--config", str(place.write_config()))
    assert re.search(r"2021-03-10\s+failed", status.stdout)
    # Fixed source: the next run does that date alone.
    place.source.put(key, original)
    fixed = place.run()
    assert fixed["exit_code"] == 0
    assert processed(fixed) == {"2021-03-10"}
