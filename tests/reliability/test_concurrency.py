"""Two runs on the same target at once lose nothing and corrupt nothing."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import threading
from pathlib import Path

import pytest

from tests.e2e.conftest import LAST, Place, console_script
from xetra_etl.common.adapters.source_reader import SourceReader
from xetra_etl.common.adapters.storage.local import LocalStore
from xetra_etl.common.app.context import StepContext
from xetra_etl.common.domain.jobcontrol import DateRecord, State
from xetra_etl.common.infra.config import Config, parse_config

pytestmark = pytest.mark.e2e


def test_two_overlapping_runs_at_once_give_the_report_of_one(place: Place) -> None:
    """The weekly run and a backfill: one runs, the other waits for nobody and says why."""
    config = place.write_config()
    argv = [console_script("xetra-etl"), "run", "--config", str(config), "--json"]
    env = {**os.environ, **place.env, "XETRA_LOG_FORMAT": "json"}
    first = subprocess.Popen(
        [*argv, "--last-date", LAST.isoformat()],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    second = subprocess.Popen(
        [*argv, "--last-date", "2021-03-08", "--first-date", "2021-03-04"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    results = [(p, *p.communicate(timeout=300)) for p in (first, second)]
    codes = sorted(p.returncode for p, _, _ in results)
    assert codes in ([0, 0], [0, 75]), [(p.returncode, err[-1500:]) for p, _, err in results]
    for process, _, stderr in results:
        if process.returncode == 75:
            assert "holds the lock" in stderr
    final = place.run(config)  # completes whatever the locked-out run would have done
    assert final["exit_code"] == 0
    assert place.report_rows() == place.expected_rows()


def test_job_control_loses_no_update_when_writers_race(tmp_path: object) -> None:
    """Many processes' worth of date records and meta rebuilds at once: the meta file ends
    up listing every record."""
    assert isinstance(tmp_path, os.PathLike)
    config = parse_config(
        {
            "source": {"uri": str(tmp_path)},
            "target": {"uri": str(tmp_path)},
            "pipeline": {"first_date": "2021-01-01"},
        },
        env={},
    )
    days = [dt.date(2021, 1, 1) + dt.timedelta(days=i) for i in range(40)]

    def writer(offset: int) -> None:
        ctx = _context(config, tmp_path, f"run-{offset}")
        for day in days[offset::4]:
            ctx.jobs.write(DateRecord(day, State.DONE, "fp", "in", 1, f"run-{offset}"))
            ctx.jobs.rebuild_meta()

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ctx = _context(config, tmp_path, "check")
    final = ctx.jobs.rebuild_meta()
    assert sorted(final) == days
    from xetra_etl.common.domain.jobcontrol import parse_meta

    meta = parse_meta(LocalStore(tmp_path).get(ctx.layout.meta_key).data)
    assert sorted(meta) == days


def test_corrupted_meta_file_is_rebuilt_from_the_records(local_place: Place) -> None:
    assert local_place.run()["exit_code"] == 0
    target = local_place.target
    target.put("meta/meta.csv", b"\x00garbage,not,the,meta\nfile")
    report = local_place.run()
    assert report["exit_code"] == 0
    assert report["done"] == 0  # the records still say every date is done
    assert "rebuilding it from the date records" in report["stderr"]
    assert target.get("meta/meta.csv").data.startswith(b"date,state,")


def test_corrupted_date_record_makes_that_date_run_again(local_place: Place) -> None:
    assert local_place.run()["exit_code"] == 0
    local_place.target.put("meta/dates/2021-03-09.json", b"{not json")
    report = local_place.run()
    assert report["exit_code"] == 0
    assert {d["date"] for d in report["dates"] if d["state"] == "done"} == {"2021-03-09"}


def _context(config: Config, root: Path, run_id: str) -> StepContext:
    store = LocalStore(root)
    return StepContext(config, store, store, run_id, SourceReader(store, config.source))
