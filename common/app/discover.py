"""Discover: which dates need work, from one source listing and the job-control records.

Reads no source object and no partition: besides the source it lists the job-control records and
the report prefix (to find partitions deleted or overwritten since their date was done). Writes
the run plan into the run's staging area, for merge.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections import Counter
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any

from xetra_etl.common.adapters.catalog import list_partitions, list_planned_source_dates
from xetra_etl.common.app.context import StepContext, utc_now
from xetra_etl.common.domain.dates import (
    chunked,
    date_range_problem,
    format_work_item,
    lookback_start,
)
from xetra_etl.common.domain.freshness import Freshness, Verdict
from xetra_etl.common.domain.jobcontrol import Reason, dates_needing_work
from xetra_etl.common.domain.source_layout import SourceDate
from xetra_etl.common.domain.wording import counted
from xetra_etl.common.infra.errors import UsageError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Plan:
    run_id: str
    created_at: str
    first_date: str
    last_date: str
    items: list[str]
    reasons: dict[str, str]
    skipped: int = 0
    source_dates: int = 0
    extra: dict[str, str] = field(default_factory=dict)
    source_freshness: dict[str, Any] = field(default_factory=dict)  # Freshness.to_dict()

    @property
    def dates(self) -> list[dt.date]:
        return sorted(dt.date.fromisoformat(d) for d in self.reasons)

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), indent=2).encode()

    @classmethod
    def from_json(cls, raw: bytes) -> Plan:
        return cls(**json.loads(raw))


def discover(
    ctx: StepContext,
    *,
    first: dt.date,
    last: dt.date,
    chunk_size: int = 1,
    max_items: int | None = None,
) -> Plan:
    return plan_from_listing(
        ctx,
        list_for_plan(ctx, first, last),
        first=first,
        last=last,
        chunk_size=chunk_size,
        max_items=max_items,
    )


def bounded(
    work: Mapping[dt.date, object], chunk_size: int, max_items: int | None
) -> tuple[list[dt.date], list[dt.date]]:
    """The dates this run takes (the oldest, at most `max_items` work items of `chunk_size`)
    and the dates it defers to the next run. Each work item is a handful of nodes in the
    workflow's status; thousands of them no longer fit the workflow object."""
    dates = sorted(work)
    if max_items is None or len(dates) <= max_items * chunk_size:
        return dates, []
    cut = max_items * chunk_size
    return dates[:cut], dates[cut:]


def list_for_plan(ctx: StepContext, first: dt.date, last: dt.date) -> dict[dt.date, SourceDate]:
    """The source dates a plan for [first, last] looks at: the range and the lookback before it.

    A source without any date folder is an error (SourceNotFoundError), not an empty plan.
    """
    if first > last:
        raise UsageError(date_range_problem(first, last, today=last) or "")
    lookback = ctx.config.pipeline.prev_close_lookback_days
    return list_planned_source_dates(ctx.source, lookback_start(first, lookback), last)


def plan_from_listing(
    ctx: StepContext,
    found: dict[dt.date, SourceDate],
    *,
    first: dt.date,
    last: dt.date,
    chunk_size: int = 1,
    max_items: int | None = None,
) -> Plan:
    """Decide from the listing and the job-control records; store the plan for merge.

    With `max_items`, dates beyond that many work items are deferred to the next run (said in
    the log and in the plan's `extra`); job control still lists them as needing work.
    """
    fingerprints = {d: s.fingerprint for d, s in found.items()}
    in_range = [d for d in fingerprints if first <= d <= last]
    inputs = {d: ctx.inputs_digest(d, fingerprints) for d in in_range}
    # The report listing waits on the store while job control is read: side by side.
    with ThreadPoolExecutor(max_workers=1) as pool:
        listed = pool.submit(list_partitions, ctx.target, ctx.layout.report_prefix)
        loaded, meta_current = ctx.jobs.load_and_check_meta()
        partitions = listed.result()
    records = {d: record for d, (record, _) in loaded.items()}
    work = dates_needing_work(
        fingerprints, inputs, records, first=first, last=last, partitions=partitions
    )
    taken, deferred = bounded(work, chunk_size, max_items)
    items = [format_work_item(chunk) for chunk in chunked(taken, chunk_size)]
    extra = {"meta_file": "current" if meta_current else "stale"}
    extra.update(_deferral(work, taken, deferred, chunk_size, max_items))
    fresh = source_freshness(ctx, found, first=first, last=last)
    plan = Plan(
        run_id=ctx.run_id,
        created_at=utc_now(),
        first_date=first.isoformat(),
        last_date=last.isoformat(),
        items=items,
        reasons={d.isoformat(): str(work[d]) for d in taken},
        skipped=len(in_range) - len(work),
        source_dates=len(in_range),
        extra=extra,
        source_freshness=fresh.to_dict(),
    )
    ctx.target.put(ctx.layout.plan_key(ctx.run_id), plan.to_json())
    _log_work(work, len(in_range), first, last, plan.skipped)
    return plan


def _deferral(
    work: dict[dt.date, Reason],
    taken: list[dt.date],
    deferred: list[dt.date],
    chunk_size: int,
    max_items: int | None,
) -> dict[str, str]:
    """Says which dates wait for the next run: in the log and in the plan's `extra`."""
    if not deferred:
        return {}
    log.warning(
        "%s need work, more than %s of %s: this run takes %d (up to %s) and defers %d "
        "(from %s) to the next run; raise --chunk-size (pipeline.chunk_size) to take more at "
        "once, or use `xetra-etl argo backfill`, which submits one run per month",
        counted(len(work), "date"),
        counted(max_items or 0, "work item"),
        counted(chunk_size, "date"),
        len(taken),
        taken[-1],
        len(deferred),
        deferred[0],
    )
    return {"deferred_dates": str(len(deferred)), "deferred_from": deferred[0].isoformat()}


def _log_work(
    work: dict[dt.date, Reason], in_range: int, first: dt.date, last: dt.date, skipped: int
) -> None:
    counts = Counter(str(reason) for reason in work.values())
    by_reason = ", ".join(f"{count} {reason}" for reason, count in sorted(counts.items()))
    log.info(
        "%d of %d source dates in %s..%s need work%s; %d up to date",
        len(work),
        in_range,
        first,
        last,
        f" ({by_reason})" if by_reason else "",
        skipped,
    )


def source_freshness(
    ctx: StepContext, found: dict[dt.date, SourceDate], *, first: dt.date, last: dt.date
) -> Freshness:
    """The newest date of the plan's listing, judged by `source.freshness`; logged when stale."""
    since = lookback_start(first, ctx.config.pipeline.prev_close_lookback_days)
    fresh = Freshness.of(found, since=since, as_of=last, rule=ctx.config.source.freshness)
    if fresh.verdict is not Verdict.OK:
        log.warning("source %s: %s", ctx.source.uri, fresh.describe())
    return fresh
