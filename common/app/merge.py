"""Merge (fan-in): record the run in job control and write its run summary.

Rebuilds the meta file from the date records, writes `<runs>/<run_id>/summary.json` (dates, row
counts, timings, failures) and removes the run's staged rows of finished dates.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import asdict, dataclass, field
from typing import Any

from xetra_etl.common.app.context import StepContext, utc_now
from xetra_etl.common.app.discover import Plan
from xetra_etl.common.domain.jobcontrol import DateRecord, State
from xetra_etl.common.infra.errors import InputMissingError, ObjectNotFoundError
from xetra_etl.common.infra.faults import crash_point

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DateOutcome:
    date: str
    state: str
    reason: str
    rows: int
    duration_seconds: float
    error: str = ""
    exit_code: int = 0


@dataclass(frozen=True)
class RunSummary:
    run_id: str
    first_date: str
    last_date: str
    started_at: str
    finished_at: str
    done: int
    failed: int
    skipped: int
    rows: int
    dates: list[DateOutcome]
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def failures(self) -> dict[str, str]:
        return {d.date: d.error for d in self.dates if d.state != State.DONE}

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), indent=2).encode()


def date_outcome(
    day: dt.date, reason: str, record: DateRecord | None, run_id: str, planned_at: str
) -> DateOutcome:
    """A planned date's line in the run summary, from its date record (None when it has none).

    The date is done when its record is done and was written by this run, or by any run after
    the plan was made (another run may have finished it meanwhile); otherwise it failed, with
    the record's error when the record says it failed.
    """
    if record is None:
        return DateOutcome(day.isoformat(), "failed", reason, 0, 0.0, "not processed in this run")
    finished = record.run_id == run_id or record.processed_at >= planned_at
    if record.state is State.DONE and finished:
        return DateOutcome(
            day.isoformat(), "done", reason, record.row_count, record.duration_seconds
        )
    error = record.error if record.state is State.FAILED else ""
    return DateOutcome(
        day.isoformat(),
        "failed",
        reason,
        0,
        0.0,
        error or "not processed in this run",
        record.exit_code,
    )


def read_plan(ctx: StepContext) -> Plan:
    key = ctx.layout.plan_key(ctx.run_id)
    try:
        return Plan.from_json(ctx.target.get(key).data)
    except ObjectNotFoundError as exc:
        raise InputMissingError(
            f"no run plan for run {ctx.run_id} at {ctx.target.location(key)}; "
            "discover must run first with the same --run-id"
        ) from exc


def merge(ctx: StepContext, *, extra: dict[str, Any] | None = None) -> RunSummary:
    plan = read_plan(ctx)
    crash_point("merge:start")
    # A run that processed nothing, with a meta file that discovery found current, has nothing
    # to rebuild: a no-op run lists the records once, not twice.
    nothing_changed = not plan.dates and plan.extra.get("meta_file") == "current"
    records = {} if nothing_changed else ctx.jobs.rebuild_meta()
    crash_point("merge:meta-written")
    # One listing, not a DELETE per date: `run` hands reports over in memory and stages none.
    staged = _staged_reports(ctx) if plan.dates else set()
    outcomes: list[DateOutcome] = []
    for day in plan.dates:
        record = records.get(day, (None, ""))[0]
        outcome = date_outcome(
            day, plan.reasons[day.isoformat()], record, ctx.run_id, plan.created_at
        )
        outcomes.append(outcome)
        staged_key = ctx.layout.staged_report_key(ctx.run_id, day)
        if outcome.state == "done" and staged_key in staged:
            ctx.target.delete(staged_key)
    done = [o for o in outcomes if o.state == "done"]
    summary = RunSummary(
        run_id=ctx.run_id,
        first_date=plan.first_date,
        last_date=plan.last_date,
        started_at=plan.created_at,
        finished_at=utc_now(),
        done=len(done),
        failed=len(outcomes) - len(done),
        skipped=plan.skipped,
        rows=sum(o.rows for o in done),
        dates=outcomes,
        extra={"source_freshness": plan.source_freshness, **(extra or {})},
    )
    ctx.target.put(ctx.layout.run_summary_key(ctx.run_id), summary.to_json())
    if summary.failed == 0:
        # Nothing left to retry: the run's staging area goes (a failed run keeps its plan, so a
        # retry can merge again under the same run id).
        ctx.target.delete(ctx.layout.plan_key(ctx.run_id))
    log.info(
        "run %s: %d dates done, %d failed, %d up to date, %d rows; report dataset at %s, "
        "run summary at %s",
        ctx.run_id,
        summary.done,
        summary.failed,
        summary.skipped,
        summary.rows,
        ctx.target.location(ctx.layout.report_prefix),
        ctx.target.location(ctx.layout.run_summary_key(ctx.run_id)),
    )
    return summary


def _staged_reports(ctx: StepContext) -> set[str]:
    return {info.key for info in ctx.target.list(ctx.layout.staged_reports_prefix(ctx.run_id))}
