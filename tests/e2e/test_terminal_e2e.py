"""`xetra-etl run` at a terminal (a pty): the progress line, logs above it, and Ctrl-C."""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import pty
import re
import select
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
import yaml

from tests import oracle
from tests.e2e.conftest import LAST, Place, console_script
from tests.faultproxy import FaultPlan, fault_proxy
from xetra_etl.common.adapters.storage.local import LocalStore
from xetra_etl.common.app.demo_data import generate

pytestmark = pytest.mark.e2e

FIRST = dt.date(2021, 3, 1)
LOOKBACK = 3
CLEAR = "\r\x1b[K"  # the progress line is redrawn (or removed) after this


@dataclass
class Terminal:
    output: str
    exit_code: int
    seconds_after_interrupt: float | None


def on_terminal(
    args: list[str],
    env: dict[str, str],
    *,
    interrupt_when: Callable[[str], bool] | None = None,
    interrupts: int = 1,
    timeout: float = 300,
) -> Terminal:
    """Run `args` on a pty; type Ctrl-C `interrupts` times once `interrupt_when(output)` holds."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: its stdin, stdout and stderr are the terminal
        os.execve(args[0], args, env)
    chunks: list[bytes] = []
    interrupted_at: float | None = None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.05)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            chunks.append(chunk)
        text = b"".join(chunks).decode(errors="replace")
        if interrupt_when and interrupted_at is None and interrupt_when(text):
            interrupted_at = time.monotonic()
            for _ in range(interrupts):
                os.write(fd, b"\x03")  # the terminal turns it into SIGINT, as a keyboard does
                time.sleep(0.3)
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    ended = time.monotonic()
    return Terminal(
        b"".join(chunks).decode(errors="replace"),
        os.waitstatus_to_exitcode(status),
        ended - interrupted_at if interrupted_at is not None else None,
    )


@dataclass
class LocalRun:
    source: Path
    target: Path
    config: Path
    last: dt.date

    def args(self, *extra: str) -> list[str]:
        return [
            console_script("xetra-etl"),
            "run",
            "--config",
            str(self.config),
            "--last-date",
            self.last.isoformat(),
            *extra,
        ]

    @property
    def env(self) -> dict[str, str]:
        clean = {k: v for k, v in os.environ.items() if not k.startswith("XETRA")}
        return {**clean, "TERM": "xterm"}

    def piped(self, *extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.args("--json", *extra),
            env={**self.env, "XETRA_LOG_FORMAT": "json"},
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )

    def report_rows(self) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        for path in sorted((self.target / "reports" / "daily").rglob("*.parquet")):
            day = dt.date.fromisoformat(str(path).split("date=")[1][:10])
            table = pq.read_table(io.BytesIO(path.read_bytes()))
            rows += [{"date": day, **row} for row in table.to_pylist()]
        return sorted(rows, key=lambda r: (r["date"], r["isin"]))

    def expected_rows(self) -> list[dict[str, Any]]:
        store = LocalStore(self.source, durable=False)
        rows = oracle.report(store, first=FIRST, last=self.last, lookback=LOOKBACK)
        return sorted(rows, key=lambda r: (r["date"], r["isin"]))


def make_run(tmp_path: Path, *, days: int, securities: int) -> LocalRun:
    source = tmp_path / "source"
    generate(
        LocalStore(source, durable=False),
        first_date=FIRST,
        days=days,
        securities_count=securities,
        seed=5,
        minute_files_for_last=False,
    )
    return run_over(source, tmp_path, days=days)


def run_over(source: Path, tmp_path: Path, *, days: int) -> LocalRun:
    """A one-worker run of the first `days` days of `source` into `tmp_path/target`."""
    config = tmp_path / "config.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "source": {"uri": str(source)},
                "target": {"uri": str(tmp_path / "target")},
                "pipeline": {
                    "first_date": FIRST.isoformat(),
                    "prev_close_lookback_days": LOOKBACK,
                    "workers": 1,
                },
            }
        )
    )
    return LocalRun(source, tmp_path / "target", config, FIRST + dt.timedelta(days=days - 1))


LONG_DAYS = 70  # enough dates that a run is still busy when Ctrl-C comes


@pytest.fixture(scope="module")
def long_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Enough dates that a run is still busy when Ctrl-C comes."""
    path = tmp_path_factory.mktemp("long")
    generate(
        LocalStore(path, durable=False),
        first_date=FIRST,
        days=LONG_DAYS,
        securities_count=150,
        seed=5,
        minute_files_for_last=False,
    )
    return path


def long_run(long_source: Path, tmp_path: Path) -> LocalRun:
    return run_over(long_source, tmp_path, days=LONG_DAYS)


def some_dates_done(output: str) -> bool:
    return re.search(r"(?:^|\r\x1b\[K)([1-9]\d*)/\d+ dates", output) is not None


def run_log(target: Path) -> list[dict[str, Any]]:
    (log_file,) = (target / "runs").glob("*/log.jsonl")
    return [json.loads(line) for line in log_file.read_text().splitlines()]


def test_progress_line_counts_dates_and_warnings_print_above_it(tmp_path: Path) -> None:
    run = make_run(tmp_path, days=8, securities=20)
    (run.source / "2021-03-03" / "2021-03-03_BINS_XETR23.csv").write_bytes(b"")  # warns
    result = on_terminal(run.args(), run.env)
    assert result.exit_code == 0, result.output
    total = 7  # 8 days, one Sunday without a folder
    progress = re.findall(rf"{re.escape(CLEAR)}(\d+)/{total} dates[^\r]*ETA", result.output)
    assert progress[0] == "0" and progress[-1] == str(total)
    # The warning has a line of its own, begun after the progress line was cleared.
    (warning,) = [line for line in result.output.split("\r\n") if "WARNING" in line]
    assert warning.startswith(CLEAR) and "empty (0-byte) object" in warning
    assert re.sub(r"\r\x1b\[K[^\r]*", "", warning) == ""  # nothing glued to a progress line
    assert " INFO " not in result.output  # INFO goes to the run log at a terminal
    summary = result.output.rsplit(CLEAR, 1)[1]
    assert summary.startswith("run ") and f"processed  {total:>6} dates" in summary
    assert "log: " in summary
    assert any(entry["level"] == "info" for entry in run_log(run.target))


def test_verbose_shows_info_and_quiet_shows_no_progress(tmp_path: Path) -> None:
    run = make_run(tmp_path, days=4, securities=10)
    verbose = on_terminal(run.args("-v"), run.env)
    assert verbose.exit_code == 0, verbose.output
    assert " INFO " in verbose.output and "dates" in verbose.output
    (run.target / "meta").rename(tmp_path / "old-meta")  # forget the dates: do them again
    quiet = on_terminal(run.args("-q"), run.env)
    assert quiet.exit_code == 0, quiet.output
    assert " dates  " not in quiet.output.split("run ")[0]  # no progress line before the summary
    assert CLEAR not in quiet.output and " INFO " not in quiet.output


def test_ctrl_c_stops_at_once_with_a_partial_summary_and_the_rerun_completes(
    long_source: Path, tmp_path: Path
) -> None:
    run = long_run(long_source, tmp_path)
    result = on_terminal(run.args(), run.env, interrupt_when=some_dates_done)
    assert result.exit_code == 130, result.output
    assert result.seconds_after_interrupt is not None and result.seconds_after_interrupt < 10
    summary = result.output.split("interrupted  ")[-1]
    done = int(re.search(r"done\s+(\d+) dates?\b", summary).group(1))  # type: ignore[union-attr]
    not_finished = int(re.search(r"not finished\s+(\d+) dates?\b", summary).group(1))  # type: ignore[union-attr]
    assert done >= 1 and not_finished >= 1
    assert "resume: run the same command again; it starts at 2021-" in summary

    log = run_log(run.target)
    (stop,) = [e for e in log if str(e["msg"]).startswith("interrupted: no new date starts")]
    started_after = [
        e for e in log if e["ts"] > stop["ts"] and str(e["msg"]).startswith("no staged aggregates")
    ]
    assert len(started_after) <= 1  # at most the one step under way (one worker)

    rerun = run.piped()
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert json.loads(rerun.stdout)["done"] == not_finished
    assert run.report_rows() == run.expected_rows()


def stuck_s3_run(s3_place: Place, proxy: str) -> tuple[list[str], dict[str, str]]:
    """`xetra-etl run` on S3 through `proxy`, at a terminal."""
    config = s3_place.write_config(pipeline={"workers": 1})
    args = [console_script("xetra-etl"), "run", "--config", str(config)]
    args += ["--last-date", LAST.isoformat()]
    clean = {k: v for k, v in os.environ.items() if not k.startswith("XETRA")}
    env = {**clean, **s3_place.env, "TERM": "xterm", "AWS_ENDPOINT_URL": proxy}
    return args, {**env, "AWS_MAX_ATTEMPTS": "1", "XETRA_S3_READ_TIMEOUT": "60"}


def test_ctrl_c_stops_within_a_second_even_when_a_step_hangs_on_the_network(
    s3_place: Place,
) -> None:
    plan = FaultPlan(kinds=("timeout",), only_paths_containing="2021-03-05/", timeout_seconds=30)
    assert s3_place.endpoint_url
    with fault_proxy(s3_place.endpoint_url, plan) as proxy:
        args, env = stuck_s3_run(s3_place, proxy)
        result = on_terminal(args, env, interrupt_when=lambda _: plan.counts["timeout"] > 0)
    assert result.exit_code == 130, result.output
    assert result.seconds_after_interrupt is not None and result.seconds_after_interrupt < 5
    assert "abandoned 1 step still under way" in result.output
    assert "not finished" in result.output and "resume: run the same command again" in result.output
    again = s3_place.run()
    assert again["exit_code"] == 0, again["stderr"][-2000:]
    assert s3_place.report_rows() == s3_place.expected_rows()


def test_a_second_ctrl_c_exits_at_once_and_loses_nothing(s3_place: Place) -> None:
    plan = FaultPlan(kinds=("timeout",), only_paths_containing="2021-03-05/", timeout_seconds=30)
    assert s3_place.endpoint_url
    with fault_proxy(s3_place.endpoint_url, plan) as proxy:
        args, env = stuck_s3_run(s3_place, proxy)
        result = on_terminal(
            args, env, interrupt_when=lambda _: plan.counts["timeout"] > 0, interrupts=2
        )
    assert result.exit_code == 130, result.output
    assert "interrupted again: exiting now" in result.output
    assert "resume:" not in result.output  # gone before the summary
    again = s3_place.run()  # takes over the lock of the process that is gone
    assert again["exit_code"] == 0, again["stderr"][-2000:]
    assert s3_place.report_rows() == s3_place.expected_rows()


def test_a_reader_that_stops_early_ends_the_command_quietly_with_141(tmp_path: Path) -> None:
    """`xetra-etl run … | head -1`: the run's work is done and kept; only its printout has no
    reader. Exit as a command stopped by SIGPIPE (128 + 13), with no traceback."""
    run = make_run(tmp_path, days=3, securities=4)
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before anything is printed
    try:
        done = subprocess.run(
            run.args(),
            env=run.env,
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=300,
            check=False,
        )
    finally:
        os.close(write_end)

    assert done.returncode == 141, done.stderr
    assert "Traceback" not in done.stderr and "bug" not in done.stderr
    assert run.report_rows() == run.expected_rows()  # the work itself is complete
    again = run.piped()
    assert json.loads(again.stdout)["done"] == 0  # and recorded: nothing left to do


def test_ctrl_c_during_run_piped_to_cat_keeps_the_summary_and_the_resume_line(
    long_source: Path, tmp_path: Path
) -> None:
    """`xetra-etl run | cat` at a terminal, then Ctrl-C: the terminal interrupts both, so the
    summary finds its reader gone. It goes to the terminal (stderr) instead, with the resume
    line, and the exit says interrupted (130), not 141."""
    run = long_run(long_source, tmp_path)
    terminal, screen = pty.openpty()
    read_end, write_end = os.pipe()
    etl = subprocess.Popen(
        run.args(),
        env=run.env,
        stdin=screen,
        stdout=write_end,
        stderr=screen,
        process_group=0,  # a process group of its own, as a shell gives a pipeline
    )
    cat = subprocess.Popen(["cat"], stdin=read_end, stdout=screen, process_group=etl.pid)
    os.close(read_end)
    os.close(write_end)
    os.close(screen)
    chunks: list[bytes] = []
    interrupted = False
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and (etl.poll() is None or cat.poll() is None):
        ready, _, _ = select.select([terminal], [], [], 0.05)
        if ready:
            try:
                chunks.append(os.read(terminal, 65536))
            except OSError:
                break
        if not interrupted and some_dates_done(b"".join(chunks).decode(errors="replace")):
            os.killpg(etl.pid, signal.SIGINT)  # what Ctrl-C at the terminal does
            interrupted = True
    while True:  # what is left on the terminal
        ready, _, _ = select.select([terminal], [], [], 0.2)
        if not ready:
            break
        try:
            chunk = os.read(terminal, 65536)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(terminal)
    output = b"".join(chunks).decode(errors="replace")

    assert interrupted and etl.wait(timeout=60) == 130, output[-3000:]
    assert cat.wait(timeout=60) != 0  # the reader was stopped by the same Ctrl-C
    assert "interrupted  " in output and "not finished" in output
    assert "resume: run the same command again; it starts at 2021-" in output
    assert "Traceback" not in output and "bug" not in output
    rerun = run.piped()
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert run.report_rows() == run.expected_rows()
