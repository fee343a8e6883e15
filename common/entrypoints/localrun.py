"""`xetra-etl run`: the whole pipeline on one machine, the embedded default.

discover, then extract, transform and load every date that needs work, then merge: the same
application functions the Argo steps call, in one process, on a pool of worker threads that the
scheduler (`scheduler.Batches`) feeds. This module is the run's shell: the run lock, the run's
log file, the progress line and Ctrl-C.

Ctrl-C stops the run: no new date starts, the steps under way get `STOP_GRACE_SECONDS` to finish
(one stuck on the network is abandoned), and the result says which dates are done and which are
not; a second Ctrl-C exits at once. Either way, a rerun does exactly the dates that are not done.

Threads, not processes: the heavy work (CSV parsing in Arrow, numpy reductions, parquet, file
and network I/O) releases the GIL, and one process pays the interpreter and import cost once.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import tempfile
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from xetra_etl.common.adapters.jobstore import RunLock
from xetra_etl.common.app.context import StepContext
from xetra_etl.common.app.discover import Plan, list_for_plan, plan_from_listing
from xetra_etl.common.app.merge import RunSummary, merge
from xetra_etl.common.domain.wording import counted
from xetra_etl.common.entrypoints.scheduler import (
    BATCH_DATES,
    STOP_GRACE_SECONDS,
    Batches,
    Interrupts,
    Outcome,
)
from xetra_etl.common.infra import logs
from xetra_etl.common.infra.errors import ExitCode
from xetra_etl.common.infra.faults import crash_point

__all__ = ["BATCH_DATES", "STOP_GRACE_SECONDS", "Outcome", "RunResult", "run_local"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunResult:
    plan: Plan
    outcomes: Mapping[dt.date, Outcome]
    exit_code: int
    summary: RunSummary | None = None  # None when interrupted: the run stopped before merge
    abandoned: int = 0  # steps still running in worker threads when the run stopped

    @property
    def interrupted(self) -> bool:
        return self.summary is None

    @property
    def done(self) -> list[dt.date]:
        return sorted(d for d, o in self.outcomes.items() if not o.exit_code)

    @property
    def failed(self) -> dict[dt.date, Outcome]:
        return {d: o for d, o in sorted(self.outcomes.items()) if o.exit_code}

    @property
    def not_finished(self) -> list[dt.date]:
        return [d for d in self.plan.dates if d not in self.outcomes]


def _json_file_handler(path: Path) -> logging.Handler:
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logs.JsonFormatter())
    return handler


class Progress:
    """Dates finished, failures and the time left, on the terminal's status line (if any)."""

    def __init__(self, total: int, line: logs.StatusLine | None) -> None:
        self.total, self.done, self.failed = total, 0, 0
        self.line = line if total > 0 else None
        self.started = time.monotonic()
        if self.line:
            self.line.show(self.text())

    def date_finished(self, outcome: Outcome) -> None:
        self.done += 1
        self.failed += bool(outcome.exit_code)
        if self.line:
            self.line.show(self.text())

    def text(self) -> str:
        elapsed = time.monotonic() - self.started
        left = f"{elapsed / self.done * (self.total - self.done):.0f}s" if self.done else "?"
        failed = f", {self.failed} failed" if self.failed else ""
        return f"{self.done}/{self.total} dates{failed}  {elapsed:.0f}s elapsed, ETA {left}"

    def close(self) -> None:
        if self.line:
            self.line.clear()
            self.line = None


def run_local(ctx: StepContext, *, first: dt.date, last: dt.date, workers: int) -> RunResult:
    """Run every date of [first, last] that needs work; returns before merge when interrupted."""
    config = ctx.config
    lock = RunLock(ctx.target, ctx.layout, config.pipeline.lock_ttl_seconds)
    lease = lock.acquire(ctx.run_id)
    log_fd, log_name = tempfile.mkstemp(prefix="xetra-run-", suffix=".jsonl")
    os.close(log_fd)
    file_handler = _json_file_handler(Path(log_name))
    logs.add_handler(file_handler)
    interrupts = Interrupts()
    progress: Progress | None = None
    try:
        with logs.step_context("discover"):
            listing = list_for_plan(ctx, first, last)
            plan = plan_from_listing(ctx, listing, first=first, last=last)
        crash_point("run:discovered")
        progress = Progress(len(plan.dates), logs.status_line())
        renewed = time.monotonic()

        def step_done() -> None:
            nonlocal lease, renewed
            if time.monotonic() - renewed > config.pipeline.lock_ttl_seconds / 3:
                lease, renewed = lock.renew(lease), time.monotonic()

        pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="date")
        batches = Batches(
            ctx, listing, pool, workers, step_done=step_done, date_finished=progress.date_finished
        )
        try:
            outcomes = batches.run(plan.dates, interrupts)
        finally:
            pool.shutdown(wait=not batches.abandoned, cancel_futures=True)
        progress.close()
        if batches.interrupted:
            return RunResult(plan, outcomes, ExitCode.INTERRUPTED, abandoned=batches.abandoned)
        with logs.step_context("merge"):
            summary = merge(ctx, extra={"workers": workers})
        failed = sorted(d for d, o in outcomes.items() if o.exit_code)
        if failed:
            log.error("%s failed: %s", counted(len(failed), "date"), ", ".join(map(str, failed)))
        exit_code = ExitCode.combine(o.exit_code for o in outcomes.values())
        return RunResult(plan, outcomes, int(exit_code), summary)
    except KeyboardInterrupt:
        interrupts.first_received()
        raise
    finally:
        if progress:
            progress.close()
        logging.getLogger().removeHandler(file_handler)
        file_handler.close()
        _save_logs(ctx, Path(log_name))
        lock.release(lease)
        interrupts.restore()


def _save_logs(ctx: StepContext, log_path: Path) -> None:
    """Store the run's JSON log lines, in time order, beside the run summary."""
    lines: list[tuple[str, str]] = []
    for line in log_path.read_text(encoding="utf-8").splitlines():
        try:
            lines.append((json.loads(line)["ts"], line))
        except (ValueError, KeyError):
            continue
    log_path.unlink()
    body = "".join(line + "\n" for _, line in sorted(lines, key=lambda pair: pair[0]))
    try:
        ctx.target.put(ctx.layout.run_log_key(ctx.run_id), body.encode())
    except Exception as exc:  # the run's outcome matters more than its saved log
        log.warning("could not save the run log: %s", exc)
