"""`xetra-etl run`: the whole pipeline on one machine, the embedded default.

discover, then every date's extract in parallel workers, then every date's transform and load,
then merge: the same application functions the Argo steps call. Extracting every date before
transforming any means each source object is read once even when a date's previous close lies in
another date of the same run. A failing date does not stop the others.

Workers are processes forked from a fork server that imported the data stack once (see
`_executor`); this process itself never imports pyarrow and stays small.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import multiprocessing
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from common import logs
from common.app.context import Pipeline, for_each_date
from common.app.discover import Plan, discover
from common.app.merge import RunReport, merge
from common.config import Config
from common.entry import build_pipeline
from common.errors import DateFailedError, ExitCode
from common.faults import crash_point
from common.jobstore import RunLock

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcome:
    date: dt.date
    error: str = ""
    exit_code: int = 0


@dataclass(frozen=True)
class RunResult:
    plan: Plan
    report: RunReport
    exit_code: int


def _init_worker(log_format: str, log_level: str, log_dir: str, run_id: str) -> None:
    logs.configure(fmt=log_format, level=log_level)
    logs.add_handler(_json_file_handler(Path(log_dir) / f"log-{os.getpid()}.jsonl"))
    logs.set_context(run_id=run_id)


def _json_file_handler(path: Path) -> logging.Handler:
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logs.JsonFormatter())
    return handler


def _extract_one(config: Config, run_id: str, days: list[dt.date]) -> list[Outcome]:
    from common.app.extract import extract

    pipeline = build_pipeline(config, run_id)
    with logs.step_context("extract"):
        return [_attempt(pipeline, day, extract) for day in days]


def _transform_load_one(config: Config, run_id: str, days: list[dt.date]) -> list[Outcome]:
    from common.app.load import load
    from common.app.transform import transform

    pipeline = build_pipeline(config, run_id)
    outcomes = []
    for day in days:
        with logs.step_context("transform"):
            outcome = _attempt(pipeline, day, transform)
        if not outcome.exit_code:
            with logs.step_context("load"):
                outcome = _attempt(pipeline, day, load)
        outcomes.append(outcome)
    return outcomes


def _attempt(
    pipeline: Pipeline, day: dt.date, work: Callable[[Pipeline, dt.date], object]
) -> Outcome:
    try:
        for_each_date(pipeline, [day], lambda d: work(pipeline, d))
    except DateFailedError as exc:
        return Outcome(day, exc.failures[day.isoformat()], int(exc.exit_code))
    return Outcome(day)


class Progress:
    """A one-line progress bar on a terminal; silent otherwise."""

    def __init__(self, total: int, stream: TextIO = sys.stderr) -> None:
        self.total, self.done, self.failed = total, 0, 0
        self.stream = stream
        self.enabled = stream.isatty() and total > 0
        self.started = time.monotonic()

    def update(self, outcome: Outcome) -> None:
        self.done += 1
        self.failed += bool(outcome.exit_code)
        if not self.enabled:
            return
        width = 30
        filled = int(width * self.done / self.total)
        elapsed = time.monotonic() - self.started
        self.stream.write(
            f"\r[{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total} steps"
            f"  {self.failed} failed  {elapsed:5.1f}s"
        )
        if self.done == self.total:
            self.stream.write("\n")
        self.stream.flush()


def run_local(
    config: Config,
    *,
    run_id: str,
    first: dt.date,
    last: dt.date,
    workers: int,
) -> RunResult:
    pipeline = build_pipeline(config, run_id)
    lock = RunLock(pipeline.target, pipeline.layout, config.pipeline.lock_ttl_seconds)
    lease = lock.acquire(run_id)
    log_dir = tempfile.mkdtemp(prefix="xetra-run-")
    file_handler = _json_file_handler(Path(log_dir) / "log-main.jsonl")
    logs.add_handler(file_handler)
    if workers > 1:
        _start_fork_server()  # imports the data stack in the background while discover lists
    try:
        with logs.step_context("discover"):
            plan = discover(pipeline, first=first, last=last, chunk_size=1)
        crash_point("run:discovered")
        dates = plan.dates
        progress = Progress(total=2 * len(dates))
        outcomes: dict[dt.date, Outcome] = {}
        renewed = time.monotonic()

        def keep_lease() -> None:
            nonlocal lease, renewed
            if time.monotonic() - renewed > config.pipeline.lock_ttl_seconds / 3:
                lease, renewed = lock.renew(lease), time.monotonic()

        with _executor(workers, config, log_dir, run_id) as submit:
            # One fresh worker process per extracted date: what a date's parse leaves behind
            # in the allocators dies with its process, so the peak does not grow with the run.
            for outcome in submit(_extract_one, dates, 1):
                progress.update(outcome)
                keep_lease()
                if outcome.exit_code:
                    outcomes[outcome.date] = outcome
            remaining = [d for d in dates if d not in outcomes]
            # Transform and load are light: several dates per worker process.
            for outcome in submit(_transform_load_one, remaining, _TRANSFORM_BATCH):
                progress.update(outcome)
                keep_lease()
                outcomes[outcome.date] = outcome
            for _ in range(len(dates) - len(remaining)):
                progress.update(Outcome(dt.date.min))
        with logs.step_context("merge"):
            report = merge(pipeline, extra={"workers": workers})
        failed = [o for o in outcomes.values() if o.exit_code]
        codes = [o.exit_code for o in failed]
        exit_code = 0
        if failed:
            exit_code = ExitCode.TEMPORARY if ExitCode.TEMPORARY in codes else codes[0]
            log.error("%d date(s) failed: %s", len(failed), ", ".join(str(o.date) for o in failed))
        return RunResult(plan, report, int(exit_code))
    finally:
        logging.getLogger().removeHandler(file_handler)
        file_handler.close()
        _save_logs(pipeline, Path(log_dir))
        lock.release(lease)


_TRANSFORM_BATCH = 8
# Imported once by the fork server; every worker forked from it starts with them loaded, so a
# worker costs a fork (milliseconds), not an interpreter start and a pyarrow import (~0.4 s).
_PRELOAD = ["common.app.extract", "common.app.transform", "common.app.load", "common.entry"]


def _start_fork_server() -> None:
    multiprocessing.set_forkserver_preload(_PRELOAD)
    multiprocessing.get_context("forkserver")
    from multiprocessing import forkserver

    forkserver.ensure_running()


Task = Callable[[Config, str, list[dt.date]], list[Outcome]]


class _executor:
    """Runs a step function over batches of dates in worker processes (inline with one worker).

    Workers come from a `forkserver` that has imported the data stack once; each worker serves
    one batch and exits (`max_tasks_per_child=1`), so memory is returned to the system after
    every batch. Forking the fork server, not this process, keeps the workers free of this
    process's threads and locks.
    """

    def __init__(self, workers: int, config: Config, log_dir: str, run_id: str) -> None:
        self.workers, self.config, self.run_id = workers, config, run_id
        self.pool: ProcessPoolExecutor | None = None
        if workers > 1:
            _start_fork_server()
            context = multiprocessing.get_context("forkserver")
            self.pool = ProcessPoolExecutor(
                max_workers=workers,
                mp_context=context,
                initializer=_init_worker,
                initargs=(config.logging.format, config.logging.level, log_dir, run_id),
                max_tasks_per_child=1,
            )

    def __enter__(self) -> Callable[[Task, list[dt.date], int], Iterable[Outcome]]:
        return self.submit

    def __exit__(self, *exc: object) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)

    def submit(self, fn: Task, dates: list[dt.date], batch: int) -> Iterable[Outcome]:
        batches = [dates[i : i + batch] for i in range(0, len(dates), batch)]
        if self.pool is None:
            for days in batches:
                yield from fn(self.config, self.run_id, days)
            return
        futures: list[Future[list[Outcome]]] = [
            self.pool.submit(fn, self.config, self.run_id, days) for days in batches
        ]
        for future in as_completed(futures):
            yield from future.result()


def _save_logs(pipeline: Pipeline, log_dir: Path) -> None:
    """Store every process's JSON log lines, in time order, beside the run report."""
    lines: list[tuple[str, str]] = []
    for path in sorted(log_dir.glob("log-*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                lines.append((json.loads(line)["ts"], line))
            except (ValueError, KeyError):
                continue
        path.unlink()
    log_dir.rmdir()
    body = "".join(line + "\n" for _, line in sorted(lines, key=lambda pair: pair[0]))
    try:
        pipeline.target.put(pipeline.layout.run_log_key(pipeline.run_id), body.encode())
    except Exception as exc:  # the run's outcome matters more than its saved log
        log.warning("could not save the run log: %s", exc)
