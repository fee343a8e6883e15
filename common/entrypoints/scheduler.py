"""The scheduler behind `xetra-etl run`: batches of dates on a pool of worker threads.

A date is transformed and loaded as soon as it and every earlier date of its batch are extracted,
ahead of the batch's further extractions. A date's aggregates stay in memory while a later date's
previous close may need them, so each source object is read once even when a date's window lies
in the same run; a batch at a time keeps memory flat however long the run. A failing date does
not stop the others. On Ctrl-C nothing new starts and the steps under way get
`STOP_GRACE_SECONDS` to finish.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import logging
import os
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from xetra_etl.common.app.context import StepContext, for_each_date
from xetra_etl.common.app.extract import StagedAggregates, aggregates_for
from xetra_etl.common.app.load import write_report
from xetra_etl.common.app.transform import report_for
from xetra_etl.common.domain.dates import lookback_start
from xetra_etl.common.domain.source_layout import SourceDate
from xetra_etl.common.domain.wording import counted
from xetra_etl.common.infra import logs
from xetra_etl.common.infra.errors import (
    DateFailedError,
    ExitCode,
    PreviousCloseUnknownError,
)

log = logging.getLogger(__name__)

# Dates extracted before the batch is transformed and loaded. Bounds what is held in memory
# (a batch's aggregates, small beside a date's source) and costs one pause per batch.
BATCH_DATES = 64
# How long Ctrl-C waits for the steps under way (a date's step takes a fraction of this).
STOP_GRACE_SECONDS = 0.8


@dataclass(frozen=True)
class Outcome:
    date: dt.date
    error: str = ""
    exit_code: int = 0


class Interrupts:
    """After the first Ctrl-C has stopped the run, a second one exits the process at once."""

    def __init__(self) -> None:
        self.previous: Any = None

    def first_received(self) -> None:
        if self.previous is None and threading.current_thread() is threading.main_thread():
            self.previous = signal.signal(signal.SIGINT, _exit_now)

    def restore(self) -> None:
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)
            self.previous = None


def _exit_now(signum: int, frame: object) -> None:
    # Safe at any moment: a date counts as done only once its partition is written.
    os.write(2, b"\ninterrupted again: exiting now\n")
    os._exit(ExitCode.INTERRUPTED)


Extracted = tuple[pa.Table, dict[str, Any]]


class Batches:
    """Extract, transform and load batch after batch of dates, on a pool of threads.

    A date is ready for transform and load once it and every earlier date of the batch are
    extracted (its window is then complete); a worker that finishes a step takes a ready load
    before the batch's next extraction.
    Holds the aggregates of the batch's dates and of the lookback window before it; a window
    date processed by an earlier run comes from staging (or, when its staged aggregates are
    gone, from its source). A date with trades whose window holds a date that failed fails
    with PreviousCloseUnknownError naming that date: its previous close is unknown.
    """

    def __init__(
        self,
        ctx: StepContext,
        listing: Mapping[dt.date, SourceDate],
        pool: ThreadPoolExecutor,
        workers: int,
        *,
        step_done: Callable[[], None],
        date_finished: Callable[[Outcome], None],
    ) -> None:
        self.ctx, self.listing, self.pool, self.workers = ctx, listing, pool, workers
        self.step_done, self.date_finished = step_done, date_finished
        self.interrupted = False
        self.abandoned = 0  # steps still running when the run stopped
        self.extracted: set[dt.date] = set()  # of the batch under way
        self.source_dates = sorted(listing)
        self.lookback = ctx.config.pipeline.prev_close_lookback_days
        self.aggregates: dict[dt.date, Extracted] = {}
        self.staged: StagedAggregates | None = None  # listed once, when there is work
        self.errors: dict[dt.date, BaseException] = {}
        self.started: dict[dt.date, float] = {}
        self.loading = threading.Lock()

    def run(self, dates: list[dt.date], interrupts: Interrupts) -> dict[dt.date, Outcome]:
        """Every date's outcome; on Ctrl-C, those of the dates finished when the run stopped."""
        outcomes: dict[dt.date, Outcome] = {}
        if dates:
            self.staged = StagedAggregates.listed(self.ctx, self.source_dates[0])
        for start in range(0, len(dates), BATCH_DATES):
            batch = dates[start : start + BATCH_DATES]
            self._forget_before(lookback_start(batch[0], self.lookback))
            pending: set[Future[Outcome]] = set()
            try:
                self._run_batch(batch, outcomes, pending)
            except KeyboardInterrupt:
                interrupts.first_received()
                self._stop(outcomes, pending)
                break
        return outcomes

    def _run_batch(
        self,
        batch: list[dt.date],
        outcomes: dict[dt.date, Outcome],
        pending: set[Future[Outcome]],
    ) -> None:
        """Run `batch`, adding each finished date to `outcomes`; `pending` holds what is under way.

        One step per worker at a time, a ready transform and load before the next extraction: the
        batch's dates finish one after another (a long backfill shows progress, and Ctrl-C keeps
        what is loaded), not all after its last extraction; nothing waits in a queue to be
        cancelled.
        """
        self.extracted = set()
        to_extract = deque(batch)
        to_load: deque[dt.date] = deque()
        ready = 0  # batch[:ready] have been handed on to transform and load
        while True:
            while ready < len(batch) and batch[ready] in self.extracted:
                if batch[ready] not in outcomes:  # not failed at extraction
                    to_load.append(batch[ready])
                ready += 1
            while len(pending) < self.workers and (to_load or to_extract):
                if to_load:
                    pending.add(self._submit("load", self._transform_load, to_load.popleft()))
                else:
                    pending.add(self._submit("extract", self._extract, to_extract.popleft()))
            if not pending:
                return
            finished, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in finished:
                pending.discard(future)
                self._step_finished(future.result(), outcomes)

    def _step_finished(self, outcome: Outcome, outcomes: dict[dt.date, Outcome]) -> None:
        self.step_done()
        if outcome.date in self.extracted or outcome.exit_code:
            outcomes[outcome.date] = outcome  # loaded, or failed at either step
            self.date_finished(outcome)
        self.extracted.add(outcome.date)

    def _stop(self, outcomes: dict[dt.date, Outcome], pending: set[Future[Outcome]]) -> None:
        """Start nothing new; give the steps under way a moment to finish, so their work is kept.

        A step that takes longer (one stuck on the network) is abandoned: its date is simply not
        done, which a kill at any moment leaves too, and the next run does it.
        """
        self.interrupted = True
        running = [future for future in pending if not future.cancel()]
        log.warning(
            "interrupted: no new date starts; %s under way finish", counted(len(running), "step")
        )
        finished, unfinished = wait(running, timeout=STOP_GRACE_SECONDS)
        for future in finished:
            self._step_finished(future.result(), outcomes)
        self.abandoned = len(unfinished)
        if unfinished:
            log.warning(
                "abandoned %s still under way; the next run redoes their dates",
                counted(len(unfinished), "step"),
            )

    def _submit(
        self, step: str, work: Callable[[dt.date], object], day: dt.date
    ) -> Future[Outcome]:
        """`work` for `day` on the pool, its failure recorded in job control."""

        def attempt() -> Outcome:
            with logs.step_context(step):
                try:
                    for_each_date(self.ctx, [day], work)
                except DateFailedError as exc:
                    return Outcome(day, exc.failures[day.isoformat()], int(exc.exit_code))
            return Outcome(day)

        return self.pool.submit(contextvars.copy_context().run, attempt)

    def _extract(self, day: dt.date) -> None:
        self.started[day] = time.time()
        try:
            self.aggregates[day] = aggregates_for(self.ctx, self.listing[day], self.staged)
        except BaseException as exc:
            self.errors[day] = exc
            raise

    def _transform_load(self, day: dt.date) -> None:
        aggregates, meta = self.aggregates[day]
        with logs.step_context("transform"):
            rows, report_meta, _ = report_for(
                self.ctx,
                self.listing,
                day,
                aggregates=aggregates,
                own_meta=meta,
                aggregates_of=self._window_aggregates,
                started_at=self.started[day],
            )
        write_report(self.ctx, day, rows, report_meta)

    def _window_aggregates(self, day: dt.date) -> pa.Table:
        if day in self.errors:
            raise PreviousCloseUnknownError(day, self.errors[day])
        if day not in self.aggregates:
            with self.loading:  # one thread loads a window date that several dates share
                if day not in self.aggregates:
                    self.aggregates[day] = aggregates_for(self.ctx, self.listing[day], self.staged)
        return self.aggregates[day][0]

    def _forget_before(self, day: dt.date) -> None:
        for held in (self.aggregates, self.errors, self.started):
            for old in [d for d in held if d < day]:
                del held[old]
