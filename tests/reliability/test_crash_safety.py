"""SIGKILL of the whole `xetra-etl run` process group at many points, then a clean re-run.

Each time: the final report equals an undisturbed run's, no date is lost or duplicated, no date
is marked done without its partition, and no half-written object is visible under the report
prefix.
"""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tests.e2e.conftest import LAST, Place, console_script
from xetra_etl.common.adapters.parquetio import from_parquet
from xetra_etl.common.domain.jobcontrol import DateRecord, State

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]

CRASH_POINTS = [
    "run:discovered",
    "extract:read",
    "extract:read@4",
    "store:half-written@3",  # while writing staged aggregates
    "store:half-written@20",  # while writing a staged report, partition or record
    "load:partition-written",  # between writing a partition and recording it
    "load:partition-written@3",
    "load:record-written@2",
    "merge:start",
    "merge:meta-written",
]


def run(place: Place, config: Path, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    crash_at = (env or {}).get("XETRA_CRASH_AT", "")
    command = (  # the store's writes can be killed half-way only through this module
        [sys.executable, "-m", "tests.reliability.half_written"]
        if crash_at.startswith("store:half-written")
        else [console_script("xetra-etl")]
    )
    return subprocess.Popen(
        [
            *command,
            "run",
            "--config",
            str(config),
            "--last-date",
            LAST.isoformat(),
            "--workers",
            "2",
        ],
        env={**os.environ, **place.env, "XETRA_LOG_FORMAT": "json", **(env or {})},
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, killed whole
    )


def assert_consistent(place: Place) -> None:
    target = place.target
    partitions = {
        info.key.split("date=")[1][:10]: info.key for info in target.list("reports/daily/")
    }
    for key in partitions.values():
        assert key.endswith("/part-0.parquet"), f"stray object under the report prefix: {key}"
        pq.read_table(io.BytesIO(target.get(key).data))  # complete and readable
    for info in target.list("meta/dates/"):
        record = DateRecord.from_json(target.get(info.key).data)
        if record.state is State.DONE and record.row_count:
            day = record.date.isoformat()
            assert day in partitions, f"{day} is marked done without its partition"
            table, meta = from_parquet(target.get(partitions[day]).data)
            assert table.num_rows == record.row_count
            assert meta["fingerprint"] == record.fingerprint


@pytest.fixture(scope="module")
def undisturbed(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, object]]:
    from tests.e2e.conftest import write_demo
    from xetra_etl.common.adapters.storage.local import LocalStore

    tmp = tmp_path_factory.mktemp("undisturbed")
    place = Place("local", str(tmp / "source"), str(tmp / "target"), {}, tmp)
    write_demo(LocalStore(place.source_uri, durable=False))
    assert place.run()["exit_code"] == 0
    return place.report_rows()


@pytest.mark.parametrize("point", CRASH_POINTS)
def test_kill_at_a_crash_point_then_rerun_gives_the_undisturbed_report(
    local_place: Place, undisturbed: list[dict[str, object]], point: str
) -> None:
    config = local_place.write_config()
    counters = local_place.tmp / "crash-counters"
    counters.mkdir()
    process = run(local_place, config, {"XETRA_CRASH_AT": point, "XETRA_CRASH_DIR": str(counters)})
    process.communicate(timeout=300)
    assert process.returncode == -signal.SIGKILL, f"{point} was never reached"
    assert_consistent(local_place)
    rerun = local_place.run(config)
    assert rerun["exit_code"] == 0, rerun["stderr"][-2000:]
    assert_consistent(local_place)
    assert local_place.report_rows() == undisturbed


@pytest.mark.parametrize("delay", [0.5, 1.5, 3.0])
def test_kill_after_a_delay_then_rerun_gives_the_undisturbed_report(
    local_place: Place, undisturbed: list[dict[str, object]], delay: float
) -> None:
    config = local_place.write_config()
    process = run(local_place, config)
    time.sleep(delay)
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
    process.communicate(timeout=60)
    assert_consistent(local_place)
    rerun = local_place.run(config)
    assert rerun["exit_code"] == 0, rerun["stderr"][-2000:]
    assert local_place.report_rows() == undisturbed
