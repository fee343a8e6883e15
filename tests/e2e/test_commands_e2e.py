"""The step commands one by one, the command line's errors and exit codes, and run control."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from tests.e2e.conftest import LAST, Place, console_script, failed, processed
from tests.s3servers import closed_port
from xetra_etl.common.infra.naming import STEPS
from xetra_etl.steps.cli import COMMANDS

pytestmark = pytest.mark.e2e


def test_step_commands_one_by_one_give_the_report_of_run(place: Place) -> None:
    """What Argo does: discover, each item's extract/transform/load, then merge."""
    config = str(place.write_config())
    out = place.tmp / "out"
    run_id = "wf-steps-1"
    discover = place.cli(
        "discover",
        "--config",
        config,
        "--last-date",
        LAST.isoformat(),
        "--run-id",
        run_id,
        "--chunk-size",
        "2",
        "--dates-out",
        str(out / "dates.json"),
        "--summary-out",
        str(out / "summary.json"),
    )
    assert discover.returncode == 0, discover.stderr
    assert discover.stdout == ""
    items = json.loads((out / "dates.json").read_text())
    assert items and all(isinstance(item, str) for item in items)
    assert "," in items[0]  # chunks of two dates
    for item in items:
        for step in ("extract", "transform", "load"):
            result = place.cli(
                step,
                "--config",
                config,
                "--dates",
                item,
                "--run-id",
                run_id,
                "--out",
                str(out / f"{step}.json"),
            )
            assert result.returncode == 0, result.stderr
            assert result.stdout == ""
    merge = place.cli(
        "merge", "--config", config, "--run-id", run_id, "--out", str(out / "merge.json")
    )
    assert merge.returncode == 0, merge.stderr
    assert json.loads((out / "merge.json").read_text())["failed"] == 0
    assert place.report_rows() == place.expected_rows()
    staged = [i.key for i in place.target.list(f"staging/runs/{run_id}/")]
    assert staged == []  # merge removed the run's staging area


def test_every_console_script_has_help() -> None:
    for step in STEPS:
        assert os.access(console_script(f"xetra-{step}"), os.X_OK)
    import subprocess

    for command in COMMANDS:
        result = subprocess.run(
            [console_script("xetra-etl"), command, "--help"],
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, (command, result.stderr)
        assert "usage" in result.stdout.lower() and len(result.stdout) > 80, command


def test_config_errors_exit_78_listing_every_problem(local_place: Place, tmp_path: Path) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text("source: {}\ntarget: {uri: x, colour: red}\npipeline: {first_date: soon}\n")
    result = local_place.cli("run", "--config", str(config))
    assert result.returncode == 78
    for problem in ("source.uri", "target.colour", "pipeline.first_date"):
        assert problem in result.stderr


def test_malformed_first_date_is_a_usage_error_exit_2(local_place: Place) -> None:
    result = local_place.cli(
        "run", "--config", str(local_place.write_config()), "--first-date", "2021-13-01"
    )
    assert result.returncode == 2
    assert "usage: xetra-etl run" in result.stderr
    assert "--first-date" in result.stderr


def test_unreachable_endpoint_exits_75_after_botocore_retries(local_place: Place) -> None:
    config = local_place.write_config(source={"uri": "s3://nowhere/x"})
    result = local_place.cli(
        "run",
        "--config",
        str(config),
        env={
            "AWS_ENDPOINT_URL": f"http://127.0.0.1:{closed_port()}",
            "AWS_MAX_ATTEMPTS": "2",
            "AWS_ACCESS_KEY_ID": "x",
            "AWS_SECRET_ACCESS_KEY": "y",
            "AWS_DEFAULT_REGION": "us-east-1",
        },
    )
    assert result.returncode == 75, result.stderr[-2000:]
    assert "still failing after retries" in result.stderr


def test_a_failed_date_fails_the_dates_whose_previous_close_it_holds(local_place: Place) -> None:
    key = "2021-03-05/2021-03-05_BINS_XETR09.csv"
    source = local_place.source
    data = source.get(key).data
    source.put(key, data.rsplit(b"\n", 2)[0][:-15] + b"\n")  # truncate the last line
    report = local_place.run()
    assert report["exit_code"] == 65
    # lookback 3: 03-08 may take its previous close from 03-05. Saturday 03-06 holds only
    # reference prices: no trades, no change to compute, so it does not depend on 03-05.
    assert failed(report) == {"2021-03-05", "2021-03-08"}
    assert processed(report) == {
        "2021-03-03",
        "2021-03-04",
        "2021-03-06",
        "2021-03-09",
        "2021-03-10",
    }
    errors = {d["date"]: d["error"] for d in report["dates"]}
    assert errors["2021-03-08"].startswith("previous close depends on 2021-03-05, which failed: ")
    assert "2021-03-05_BINS_XETR09.csv" in errors["2021-03-08"]
    assert re.search(r"2021-03-05/2021-03-05_BINS_XETR09\.csv, line \d+", report["stderr"])
    statuses = {d["date"]: d for d in report["dates"]}
    assert statuses["2021-03-08"]["exit_code"] == 65
    assert key in statuses["2021-03-08"]["error"]


def test_the_transform_step_says_which_window_date_failed(local_place: Place) -> None:
    key = "2021-03-05/2021-03-05_BINS_XETR09.csv"
    source = local_place.source
    data = source.get(key).data
    source.put(key, data.rsplit(b"\n", 2)[0][:-15] + b"\n")  # truncate the last line
    config = str(local_place.write_config())
    common = ("--config", config, "--run-id", "wf-window")
    saturday = local_place.cli("transform", "--dates", "2021-03-06", *common)
    assert saturday.returncode == 0, saturday.stderr
    monday = local_place.cli("transform", "--dates", "2021-03-08", *common)
    assert monday.returncode == 65, monday.stderr
    assert "previous close depends on 2021-03-05, which failed: object " in monday.stderr


def test_a_second_run_waits_for_nobody_and_exits_75_while_the_lock_is_held(
    local_place: Place,
) -> None:
    from xetra_etl.common.adapters.jobstore import RunLock
    from xetra_etl.common.entrypoints.entry import build_context
    from xetra_etl.common.infra.config import load_config

    config_path = local_place.write_config()
    config = load_config(config_path, env={})
    ctx = build_context(config, "holder")
    lock = RunLock(ctx.target, ctx.layout, ttl_seconds=600)
    lease = lock.acquire("other-run")
    result = local_place.cli("run", "--config", str(config_path))
    assert result.returncode == 75
    assert "other-run" in result.stderr and "holds the lock" in result.stderr
    lock.release(lease)
    assert local_place.run(config_path)["exit_code"] == 0


def test_demo_data_command_writes_a_runnable_source(tmp_path: Path) -> None:
    import subprocess

    out = tmp_path / "demo"
    result = subprocess.run(
        [
            console_script("xetra-etl"),
            "demo-data",
            "--out",
            str(out),
            "--first-date",
            "2024-03-04",
            "--days",
            "3",
            "--securities",
            "5",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    names = sorted(p.name for p in (out / "2024-03-06").iterdir())
    assert "2024-03-06_BINS_XETR00.csv" in names
    assert any(re.fullmatch(r"2024-03-06_BINS_XETR\d{4}\.csv", n) for n in names)
