"""A failed step leaves its one-line error where Kubernetes reads the termination message."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from xetra_etl.common.entrypoints.entry import run_step
from xetra_etl.common.infra.config import Config
from xetra_etl.common.infra.errors import DateFailedError, ExitCode, SourceDataError
from xetra_etl.common.infra.termination import (
    TERMINATION_LOG_ENV,
    one_line,
    write_termination_message,
)

BAD = "object x.csv, line 201, column StartPrice: not a number: '1O.25'"


def _config(tmp_path: Path) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(
        f"source: {{uri: {tmp_path}}}\ntarget: {{uri: {tmp_path / 't'}}}\n"
        "pipeline: {first_date: '2021-01-04'}\n"
    )
    return path


def test_run_step_writes_the_error_line_when_the_action_raises(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = tmp_path / "termination-log"
    monkeypatch.setenv(TERMINATION_LOG_ENV, str(log))
    parser = argparse.ArgumentParser()
    parser.add_argument("--config")

    def action(args: argparse.Namespace, config: Config) -> int:
        raise DateFailedError({"2021-01-05": BAD}, ExitCode.DATA)

    code = run_step("transform", parser, ["--config", str(_config(tmp_path))], action)
    assert code == ExitCode.DATA
    assert log.read_text() == f"2021-01-05: {BAD}"


def test_one_line_joins_lines_and_names_each_failed_date() -> None:
    error = DateFailedError({"2021-01-06": "b\nmore", "2021-01-05": "a"}, ExitCode.DATA)
    assert one_line(error) == "2021-01-05: a; 2021-01-06: b more"
    assert one_line(SourceDataError("not a number", key="k", line=3)) == (
        "object k, line 3: not a number"
    )


def test_message_is_cut_to_the_kubelet_limit_when_long(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = tmp_path / "termination-log"
    monkeypatch.setenv(TERMINATION_LOG_ENV, str(log))
    write_termination_message(SourceDataError("é" * 5000))
    assert len(log.read_bytes()) <= 4096
    assert log.read_text(encoding="utf-8").endswith("...")


def test_nothing_is_written_outside_a_pod_when_the_default_file_is_absent(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(TERMINATION_LOG_ENV, raising=False)
    monkeypatch.setattr(
        "xetra_etl.common.infra.termination.DEFAULT_TERMINATION_LOG", "/nonexistent/termination"
    )
    write_termination_message(SourceDataError("x"))  # no error, no file
    assert not Path("/nonexistent/termination").exists()
