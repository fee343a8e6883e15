"""`xetra-etl run`: the whole pipeline on one machine, the embedded default.

discover, then extract, transform and load every date that needs work, then merge: the same
application functions the Argo steps call, in one process. Dates go in batches: every date of a
batch is extracted (in parallel worker threads), then every date of it is transformed and loaded.
A date's aggregates stay in memory while a later date's previous close may need them, so each
source object is read once even when a date's window lies in the same run; a batch at a time
keeps memory flat however long the run. A failing date does not stop the others.

Threads, not processes: the heavy work (CSV parsing in Arrow, numpy reductions, parquet, file
and network I/O) releases the GIL, and one process pays the interpreter and import cost once.
"""

from __future__ import annotations

import bisect
import contextvars
import datetime as dt
import json
import logging
import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO, TypeVar

import pyarrow as pa

from common import logs
from common.app.context import Pipeline, for_each_date
from common.app.discover import Plan, list_for_plan, plan_from_listing
from common.app.extract import aggregates_for
from common.app.load import write_report
from common.app.merge import RunReport, merge
from common.app.transform import report_for
from common.config import Config
from common.domain.dates import lookback_start
from common.domain.layout import SourceDate
from common.entry import build_pipeline
from common.errors import DateFailedError, ExitCode
from common.faults import crash_point
from common.jobstore import RunLock

log = logging.getLogger(__name__)
T = TypeVar("T")

# Dates extracted before the batch is transformed and loaded. Bounds what is held in memory
# (a date's aggregates are ~200 KB at 3,000 securities) and costs one pause per batch.
BATCH_DATES = 64


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


def _json_file_handler(path: Path) -> logging.Handler:
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logs.JsonFormatter())
    return handler


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
    log_fd, log_name = tempfile.mkstemp(prefix="xetra-run-", suffix=".jsonl")
    os.close(log_fd)
    file_handler = _json_file_handler(Path(log_name))
    logs.add_handler(file_handler)
    try:
        with logs.step_context("discover"):
            listing = list_for_plan(pipeline, first, last)
            plan = plan_from_listing(pipeline, listing, first=first, last=last)
        crash_point("run:discovered")
        progress = Progress(total=2 * len(plan.dates))
        renewed = time.monotonic()

        def step_done(outcome: Outcome) -> None:
            nonlocal lease, renewed
            progress.update(outcome)
            if time.monotonic() - renewed > config.pipeline.lock_ttl_seconds / 3:
                lease, renewed = lock.renew(lease), time.monotonic()

        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="date") as pool:
            batches = _Batches(pipeline, listing, pool, step_done)
            outcomes = batches.run(plan.dates)
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
        _save_logs(pipeline, Path(log_name))
        lock.release(lease)


Extracted = tuple[pa.Table, dict[str, Any]]


class _Batches:
    """Extract, transform and load batch after batch of dates, on a pool of threads.

    Every date of a batch is queued for extraction first; a date is queued for transform and
    load as soon as it and every earlier date of the batch are extracted (its window is then
    complete), so those tasks fill the workers that run out of extractions at the batch's end.
    Holds the aggregates of the batch's dates and of the lookback window before it; a window
    date processed by an earlier run comes from staging (or, when its staged aggregates are
    gone, from its source). A date whose window holds a date that failed fails with that error:
    its previous close is unknown.
    """

    def __init__(
        self,
        pipeline: Pipeline,
        listing: Mapping[dt.date, SourceDate],
        pool: ThreadPoolExecutor,
        step_done: Callable[[Outcome], None],
    ) -> None:
        self.pipeline, self.listing, self.pool, self.step_done = pipeline, listing, pool, step_done
        self.source_dates = sorted(listing)
        self.lookback = pipeline.config.pipeline.prev_close_lookback_days
        self.aggregates: dict[dt.date, Extracted] = {}
        self.errors: dict[dt.date, BaseException] = {}
        self.started: dict[dt.date, float] = {}
        self.loading = threading.Lock()

    def run(self, dates: list[dt.date]) -> dict[dt.date, Outcome]:
        outcomes: dict[dt.date, Outcome] = {}
        for start in range(0, len(dates), BATCH_DATES):
            batch = dates[start : start + BATCH_DATES]
            self._forget_before(lookback_start(batch[0], self.lookback))
            outcomes.update(self._run_batch(batch))
        return outcomes

    def _run_batch(self, batch: list[dt.date]) -> dict[dt.date, Outcome]:
        outcomes: dict[dt.date, Outcome] = {}
        extracted: set[dt.date] = set()
        ready = 0  # batch[:ready] have been handed on to transform and load
        pending = {self._submit("extract", self._extract, day) for day in batch}
        while pending:
            finished, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in finished:
                outcome = future.result()
                self.step_done(outcome)
                if outcome.date in extracted or outcome.exit_code:
                    outcomes[outcome.date] = outcome  # loaded, or failed at either step
                extracted.add(outcome.date)
            while ready < len(batch) and batch[ready] in extracted:
                day = batch[ready]
                ready += 1
                if day in outcomes:
                    self.step_done(Outcome(day))  # its extraction failed: no second step
                else:
                    pending.add(self._submit("load", self._transform_load, day))
        return outcomes

    def _submit(
        self, step: str, work: Callable[[dt.date], object], day: dt.date
    ) -> Future[Outcome]:
        """`work` for `day` on the pool, its failure recorded in job control."""

        def attempt() -> Outcome:
            with logs.step_context(step):
                try:
                    for_each_date(self.pipeline, [day], work)
                except DateFailedError as exc:
                    return Outcome(day, exc.failures[day.isoformat()], int(exc.exit_code))
            return Outcome(day)

        return self.pool.submit(contextvars.copy_context().run, attempt)

    def _extract(self, day: dt.date) -> None:
        self.started[day] = time.time()
        try:
            self.aggregates[day] = aggregates_for(self.pipeline, self.listing[day])
        except BaseException as exc:
            self.errors[day] = exc
            raise

    def _transform_load(self, day: dt.date) -> None:
        dates = self.source_dates
        start = bisect.bisect_left(dates, lookback_start(day, self.lookback))
        window = {d: self.listing[d] for d in dates[start : bisect.bisect_left(dates, day)]}
        aggregates, meta = self.aggregates[day]
        with logs.step_context("transform"):
            rows, report_meta = report_for(
                self.pipeline,
                self.listing[day],
                aggregates=aggregates,
                own_meta=meta,
                window={d: self._window_aggregates(d) for d in sorted(window)},
                window_fingerprints={d: s.fingerprint for d, s in window.items()},
                started_at=self.started[day],
            )
        write_report(self.pipeline, day, rows, report_meta)

    def _window_aggregates(self, day: dt.date) -> pa.Table:
        if day in self.errors:
            raise self.errors[day]
        if day not in self.aggregates:
            with self.loading:  # one thread loads a window date that several dates share
                if day not in self.aggregates:
                    self.aggregates[day] = aggregates_for(self.pipeline, self.listing[day])
        return self.aggregates[day][0]

    def _forget_before(self, day: dt.date) -> None:
        for held in (self.aggregates, self.errors, self.started):
            for old in [d for d in held if d < day]:
                del held[old]


def _save_logs(pipeline: Pipeline, log_path: Path) -> None:
    """Store the run's JSON log lines, in time order, beside the run report."""
    lines: list[tuple[str, str]] = []
    for line in log_path.read_text(encoding="utf-8").splitlines():
        try:
            lines.append((json.loads(line)["ts"], line))
        except (ValueError, KeyError):
            continue
    log_path.unlink()
    body = "".join(line + "\n" for _, line in sorted(lines, key=lambda pair: pair[0]))
    try:
        pipeline.target.put(pipeline.layout.run_log_key(pipeline.run_id), body.encode())
    except Exception as exc:  # the run's outcome matters more than its saved log
        log.warning("could not save the run log: %s", exc)
