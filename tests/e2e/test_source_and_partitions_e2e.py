"""A source that is not there fails loudly; a report partition touched after its date was done
is found and redone. The real commands, on local directories and real S3 servers."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import LAST, Place, make_place, processed
from tests.s3servers import new_bucket_name

pytestmark = pytest.mark.e2e

CONFIG_EXIT = 78
REPORT = "reports/daily"


@pytest.fixture(params=["local", "seaweedfs", "moto"])
def any_place(request: pytest.FixtureRequest, tmp_path: Path) -> Place:
    """Demo data in a source and an empty target, on local directories and both S3 servers."""
    return make_place(request.param, request, tmp_path)


def run_and_discover(
    place: Place, source_uri: str, *dates: str
) -> list[subprocess.CompletedProcess[str]]:
    """`xetra-etl run` and `xetra-etl discover` against `source_uri`, everything else as usual."""
    config = str(place.write_config("moved.yaml", source={"uri": source_uri}))
    window = list(dates) or ["--last-date", LAST.isoformat()]
    return [
        place.cli("run", "--config", config, *window),
        place.cli(
            "discover", "--config", config, *window, "--dates-out", str(place.tmp / "dates.json")
        ),
    ]


def missing_sources(place: Place) -> dict[str, str]:
    """Source URIs that hold no date folder, by what is wrong with them."""
    if place.kind == "local":
        empty = place.tmp / "empty"
        empty.mkdir()
        return {
            "typo in the path": place.source_uri + "-typo",
            "empty folder": str(empty),
            "one folder too high": str(place.tmp),
        }
    bucket = place.source_uri.removeprefix("s3://").split("/")[0]
    return {
        "missing bucket": f"s3://{new_bucket_name('missing')}/xetra-pds",
        "missing prefix": f"s3://{bucket}/xetra-pdx",
        "one folder too high": f"s3://{bucket}",
    }


def test_a_source_without_date_folders_fails_run_and_discover_naming_it(any_place: Place) -> None:
    for what, uri in missing_sources(any_place).items():
        for result in run_and_discover(any_place, uri):
            assert result.returncode == CONFIG_EXIT, (what, result.stderr[-2000:])
            assert uri in result.stderr, what
            assert "expected date folders" in result.stderr, what
            if what == "one folder too high":
                assert "one level down" in result.stderr, result.stderr[-2000:]
            assert result.stdout == ""
            assert "Traceback" not in result.stderr


def test_a_source_without_new_dates_in_the_range_is_a_quiet_no_op(any_place: Place) -> None:
    window = ("--first-date", "2020-01-06", "--last-date", "2020-01-10")
    run, discover = run_and_discover(any_place, any_place.source_uri, *window)
    assert run.returncode == 0, run.stderr[-2000:]
    assert discover.returncode == 0, discover.stderr[-2000:]
    assert json.loads((any_place.tmp / "dates.json").read_text()) == []
    assert list(any_place.target.list(f"{REPORT}/")) == []


def partition_key(day: str) -> str:
    return f"{REPORT}/date={day}/part-0.parquet"


def status(place: Place, config: Path) -> dict[str, dict[str, Any]]:
    result = place.cli("status", "--config", str(config), "--format", "json")
    assert result.returncode == 0, result.stderr[-2000:]
    return {row["date"]: row for row in json.loads(result.stdout)}


def test_deleted_and_overwritten_partitions_are_shown_and_redone(any_place: Place) -> None:
    config = any_place.write_config()
    first = any_place.run(config)
    assert first["exit_code"] == 0 and first["failed"] == 0, first["stderr"][-2000:]
    days = sorted(processed(first))
    gone, garbage = days[1], days[3]
    target = any_place.target
    target.delete(partition_key(gone))
    target.put(partition_key(garbage), b"not parquet at all")

    shown = status(any_place, config)
    assert shown[gone]["reason"] == "partition-missing"
    assert shown[garbage]["reason"] == "partition-changed"
    assert {d for d, row in shown.items() if row["reason"]} == {gone, garbage}, shown
    table = any_place.cli("status", "--config", str(config))
    assert "partition-missing" in table.stdout and "partition-changed" in table.stdout

    second = any_place.run(config)
    assert second["exit_code"] == 0, second["stderr"][-2000:]
    reasons = {d["date"]: d["reason"] for d in second["dates"]}
    assert reasons == {gone: "partition-missing", garbage: "partition-changed"}
    assert processed(second) == {gone, garbage}
    assert any_place.report_rows() == any_place.expected_rows()
    assert not any(row["reason"] for row in status(any_place, config).values())

    third = any_place.run(config)
    assert third["exit_code"] == 0 and third["dates"] == [], third["stderr"][-2000:]


def test_discover_lists_a_touched_partition_as_work(any_place: Place) -> None:
    config = any_place.write_config()
    first = any_place.run(config)
    assert first["exit_code"] == 0, first["stderr"][-2000:]
    day = sorted(processed(first))[0]
    any_place.target.delete(partition_key(day))
    out = any_place.tmp / "dates.json"
    summary = any_place.tmp / "summary.json"
    result = any_place.cli(
        "discover",
        "--config",
        str(config),
        "--last-date",
        LAST.isoformat(),
        "--dates-out",
        str(out),
        "--summary-out",
        str(summary),
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads(out.read_text()) == [day]
    run_id = json.loads(summary.read_text())["run_id"]
    plan = json.loads(any_place.target.get(f"staging/runs/{run_id}/plan.json").data)
    assert plan["reasons"] == {day: "partition-missing"}


def test_records_written_before_partitions_were_kept_still_work(place: Place) -> None:
    """Old records: no redo for them as such; a deleted partition is still found."""
    config = place.write_config()
    first = place.run(config)
    assert first["exit_code"] == 0, first["stderr"][-2000:]
    target = place.target
    for info in list(target.list("meta/dates/")):
        record = json.loads(target.get(info.key).data)
        del record["partition"]
        target.put(info.key, json.dumps(record).encode())
    header = target.get("meta/meta.csv").data.decode().splitlines()[0].split(",")
    old_header = ",".join(c for c in header if c != "partition")
    target.put("meta/meta.csv", f"{old_header}\n".encode())  # the previous format's meta file

    again = place.run(config)
    assert again["exit_code"] == 0 and again["dates"] == [], again["stderr"][-2000:]
    assert "unreadable" not in again["stderr"]
    day = sorted(processed(first))[2]
    target.delete(partition_key(day))
    redo = place.run(config)
    assert {d["date"]: d["reason"] for d in redo["dates"]} == {day: "partition-missing"}
    assert place.report_rows() == place.expected_rows()


def test_a_local_source_that_is_a_file_is_not_a_source(local_place: Place) -> None:
    not_a_folder = local_place.tmp / "source.txt"
    not_a_folder.write_text("x")
    for result in run_and_discover(local_place, str(not_a_folder)):
        assert result.returncode == CONFIG_EXIT, result.stderr[-2000:]
        assert str(not_a_folder) in result.stderr
