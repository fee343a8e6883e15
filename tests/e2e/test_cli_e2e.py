"""The command line as people meet it: usage errors, config discovery, check, help, outputs."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.e2e.conftest import FIRST, LAST, Place, console_script
from xetra_etl.common.infra.naming import version

pytestmark = pytest.mark.e2e


def xetra(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("XETRA")}
    return subprocess.run(
        [console_script("xetra-etl"), *args],
        env={**clean, "XETRA_LOG_FORMAT": "json", **(env or {})},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def log_lines(stderr: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]


@pytest.mark.parametrize("workers", ["-3", "0", "many"])
def test_bad_workers_is_a_usage_error_exit_2_when_not_a_positive_number(
    local_place: Place, workers: str
) -> None:
    result = local_place.cli(
        "run", "--config", str(local_place.write_config()), "--workers", workers
    )
    assert result.returncode == 2, result.stderr
    assert "usage: xetra-etl run" in result.stderr
    assert "argument --workers" in result.stderr
    assert "Traceback" not in result.stderr and "bug" not in result.stderr


def test_malformed_work_item_is_a_usage_error_exit_2(local_place: Place) -> None:
    config = str(local_place.write_config())
    result = local_place.cli("extract", "--config", config, "--dates", "2021-3-5", "--run-id", "r")
    assert result.returncode == 2, result.stderr
    assert "usage: xetra-etl extract" in result.stderr and "argument --dates" in result.stderr


def test_environment_override_problem_names_the_variable(local_place: Place) -> None:
    config = str(local_place.write_config())
    result = local_place.cli("status", "--config", config, env={"XETRA__PIPELINE__WORKERZ": "3"})
    assert result.returncode == 78, result.stderr
    assert "XETRA__PIPELINE__WORKERZ" in result.stderr
    assert "pipeline.workerz" in result.stderr


def test_config_error_is_one_json_line_with_a_list_of_problems_when_piped(
    tmp_path: Path,
) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text("source: {}\ntarget: {uri: x, colour: red}\npipeline: {first_date: soon}\n")
    result = xetra("status", "--config", str(config))
    assert result.returncode == 78
    (entry,) = [e for e in log_lines(result.stderr) if e["level"] == "error"]
    assert "\n" not in str(entry["msg"])
    assert str(entry["msg"]).endswith(f"invalid configuration in {config}")
    problems = entry["problems"]
    assert isinstance(problems, list) and len(problems) == 3
    assert any("target.colour" in p for p in problems)


def test_version_prints_the_package_version() -> None:
    result = xetra("--version")
    assert result.returncode == 0
    assert result.stdout == f"xetra-etl {version()}\n"


def test_config_is_found_from_the_environment_then_the_current_directory(
    local_place: Place, tmp_path: Path
) -> None:
    good = local_place.write_config()
    bad = tmp_path / "bad.yaml"
    bad.write_text("source: {}\n")
    here = tmp_path / "here"
    here.mkdir()

    missing = xetra("status", cwd=here)
    assert missing.returncode == 78
    assert "XETRA_CONFIG" in missing.stderr and "xetra-etl.yaml" in missing.stderr

    from_env = xetra("status", cwd=here, env={"XETRA_CONFIG": str(good)})
    assert from_env.returncode == 0, from_env.stderr

    (here / "xetra-etl.yaml").write_text(good.read_text())
    from_cwd = xetra("status", cwd=here)
    assert from_cwd.returncode == 0, from_cwd.stderr

    env_beats_cwd = xetra("status", cwd=here, env={"XETRA_CONFIG": str(bad)})
    assert env_beats_cwd.returncode == 78

    flag_wins = xetra("status", "--config", str(good), cwd=here, env={"XETRA_CONFIG": str(bad)})
    assert flag_wins.returncode == 0, flag_wins.stderr


def test_check_passes_with_one_line_per_check_and_leaves_the_target_as_it_was(
    place: Place,
) -> None:
    config = str(place.write_config())
    result = place.cli("check", "--config", config, "--last-date", LAST.isoformat())
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert [line.split()[:2] for line in lines] == [
        ["ok", "config"],
        ["ok", "source"],
        ["ok", "columns"],
        ["ok", "fresh"],
        ["ok", "target"],
    ]
    assert "7 source dates in 2021-03-03..2021-03-10" in lines[1]  # Sunday has no folder
    assert [info.key for info in place.target.list("")] == []


def test_check_fails_naming_a_source_that_holds_nothing(local_place: Place, tmp_path: Path) -> None:
    config = local_place.write_config(source={"uri": str(tmp_path / "typo")})
    result = local_place.cli("check", "--config", str(config))
    assert result.returncode == 78, result.stdout + result.stderr  # as run and discover
    source_line = result.stdout.splitlines()[1]
    assert source_line.startswith("FAIL  source")
    assert str(tmp_path / "typo") in source_line
    assert "nothing is there" in source_line and "expected date folders" in source_line


def test_check_reports_an_invalid_config_as_its_first_line(tmp_path: Path) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text("source: {}\n")
    result = xetra("check", "--config", str(config))
    assert result.returncode == 78
    lines = result.stdout.splitlines()
    assert lines[0].startswith("FAIL  config")
    assert any("source.uri" in line for line in lines[1:])


def test_status_json_names_each_check_with_an_identifier(local_place: Place) -> None:
    config = local_place.write_config()
    assert local_place.run(config)["exit_code"] == 0
    result = local_place.cli("status", "--config", str(config), "--format", "json")
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert rows and all(row["state"] == "done" for row in rows)
    weekday = next(row for row in rows if row["date"] == "2021-03-04")
    assert weekday["checks"]["price_within_range"] == "ok"
    assert set(weekday["checks"]) >= {
        "price_within_range",
        "volume_non_negative",
        "isin_check_digit",
    }
    assert all(name.isidentifier() for row in rows for name in row["checks"])


def source_dates(place: Place, first: str, last: str) -> list[str]:
    return sorted(p.name for p in Path(place.source_uri).iterdir() if first <= p.name <= last)


def test_status_lists_and_counts_the_source_dates_never_started_as_pending(
    local_place: Place,
) -> None:
    config = str(local_place.write_config())
    stopped = local_place.cli("run", "--config", config, "--last-date", "2021-03-05")
    assert stopped.returncode == 0, stopped.stderr
    done = source_dates(local_place, "2021-03-03", "2021-03-05")
    pending = source_dates(local_place, "2021-03-06", LAST.isoformat())
    assert done and pending

    args = ["status", "--config", config, "--last-date", LAST.isoformat()]
    table = local_place.cli(*args)
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[-1].startswith("source: ")  # the source's newest date and its age
    assert lines[-2] == f"{len(done) + len(pending)} dates: {len(done)} done, 0 failed, " + (
        f"{len(pending)} pending"
    )
    listed = [line.split()[:2] for line in lines[2:-2]]
    assert listed == [[d, "done"] for d in done] + [[d, "pending"] for d in pending]
    as_json = json.loads(local_place.cli(*args, "--format", "json").stdout)
    assert [(r["date"], r["state"], r["reason"]) for r in as_json if r["state"] == "pending"] == [
        (d, "pending", "new") for d in pending
    ]


def test_show_says_which_dates_it_prints_and_how_many_rows_there_are(local_place: Place) -> None:
    config = str(local_place.write_config())
    assert local_place.run(Path(config))["exit_code"] == 0
    done = source_dates(local_place, FIRST.isoformat(), LAST.isoformat())
    total = sum(
        row["row_count"]
        for row in json.loads(
            local_place.cli("status", "--config", config, "--format", "json").stdout
        )
    )
    result = local_place.cli("show", "--config", config, "--rows", "5")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f"report dataset: {local_place.target_uri}/reports/daily"
    with_rows = [d for d in done if d != "2021-03-06"]  # the Saturday: reference prices only
    assert lines[1] == f"{len(with_rows)} partitions: dates {with_rows[0]} .. {with_rows[-1]}"
    assert lines[2] == f"last 5 of {total} rows (date {LAST}):"
    assert len(lines) == 3 + 1 + 5  # the header, then the rows


def test_show_prints_null_not_nan_and_fails_for_a_date_without_partition(
    local_place: Place,
) -> None:
    config = str(local_place.write_config())
    assert local_place.run(Path(config))["exit_code"] == 0
    first = local_place.cli("show", "--config", config, "--date", "2021-03-03", "--rows", "50")
    assert first.returncode == 0, first.stderr
    assert "null" in first.stdout  # the first reported date has ISINs without a previous close
    table = first.stdout.split(" rows (date 2021-03-03):\n", 1)[1]
    assert not re.search(r"\bnan\b", table, re.IGNORECASE), table
    sunday = local_place.cli("show", "--config", config, "--date", "2021-03-07")
    assert sunday.returncode == 66
    assert "no report partition for 2021-03-07" in sunday.stderr


def test_show_says_a_done_date_without_trades_has_0_rows(local_place: Place) -> None:
    config = str(local_place.write_config())
    assert local_place.run(Path(config))["exit_code"] == 0
    saturday = local_place.cli("show", "--config", config, "--date", "2021-03-06")
    assert saturday.returncode == 0, saturday.stderr
    assert saturday.stdout == "2021-03-06: done with 0 rows (no trades that date)\n"


def test_show_fails_with_66_naming_a_target_that_holds_no_report(local_place: Place) -> None:
    config = local_place.write_config(target={"uri": str(local_place.tmp / "elsewhere")})
    result = local_place.cli("show", "--config", str(config))
    assert result.returncode == 66
    assert f"no report in {local_place.tmp / 'elsewhere'}" in result.stderr
    assert not (local_place.tmp / "elsewhere").exists()


def test_merge_log_names_the_report_dataset_and_the_run_summary(local_place: Place) -> None:
    report = local_place.run()
    assert report["exit_code"] == 0
    (line,) = [
        str(entry["msg"])
        for entry in log_lines(report["stderr"])
        if entry["step"] == "merge" and "run summary at" in str(entry["msg"])
    ]
    target = local_place.target_uri
    assert f"report dataset at {target}/reports/daily," in line
    assert line.endswith(f"run summary at {target}/runs/{report['run_id']}/summary.json")


def test_log_messages_carry_no_python_reprs(local_place: Place) -> None:
    report = local_place.run()
    assert report["exit_code"] == 0
    messages = [str(entry["msg"]) for entry in log_lines(report["stderr"])]
    assert messages
    for message in messages:
        assert not re.search(r"[{\[]'|'[}\]]|\w+\([a-z_]+=", message), message


def test_help_names_the_command_as_typed() -> None:
    workflows = xetra("workflows", "--help")
    assert workflows.returncode == 0
    assert workflows.stdout.startswith("usage: xetra-etl workflows")
    argo = xetra("argo", "--help")
    assert argo.stdout.startswith("usage: xetra-etl argo")
    for step in ("discover", "extract", "transform", "load", "merge", "notify", "check"):
        result = xetra(step, "--help")
        assert result.returncode == 0, result.stderr
        assert result.stdout.startswith(f"usage: xetra-etl {step} "), result.stdout[:80]
    run = xetra("run", "--help")
    assert "--first-date YYYY-MM-DD" in run.stdout and "--last-date YYYY-MM-DD" in run.stdout
