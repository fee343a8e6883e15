"""A failed date's own record for the exit handler: which step failed it, how, in which pod.

notify names the failed dates from these records, not from `{{workflow.failures}}` alone: that
list grows with every failed node, and past 128 KiB of arguments the controller moves them to
a ConfigMap (`createWorkflowPod`, workflow/controller/workflowpod.go, v4.0.5) and the emissary
hands the step `@/tmp/argo_arg_N.txt` instead (cmd/argoexec/commands/emissary.go). A record is
small and its number is the number of failed dates, whatever the size of the run.

One object per run and date, `<runs_prefix>/<run id>/failures/<date>.json`, written when a
step's date fails (best effort: the store may be what failed). A later attempt or `argo retry`
that finishes the date marks it done in job control; notify drops such records.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass

from xetra_etl.common.app.context import StepContext, utc_now
from xetra_etl.common.domain.jobcontrol import State
from xetra_etl.common.infra.errors import DateFailedError, ObjectNotFoundError, XetraEtlError
from xetra_etl.common.infra.naming import POD_NAME_ENV

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FailureRecord:
    date: str
    step: str
    message: str
    pod: str | None
    run_id: str
    exit_code: int
    failed_at: str

    def to_json(self) -> bytes:
        return (json.dumps(asdict(self), indent=2, sort_keys=True) + "\n").encode()

    @classmethod
    def from_json(cls, raw: bytes) -> FailureRecord:
        data = json.loads(raw)
        return cls(**{name: data.get(name) for name in cls.__dataclass_fields__})


def failures_prefix(ctx: StepContext) -> str:
    return f"{ctx.config.target.runs_prefix}/{ctx.run_id}/failures/"


def write_failure_records(ctx: StepContext, step: str, exc: DateFailedError) -> None:
    """One record per failed date of `exc`; a record that cannot be written is only logged."""
    pod = os.environ.get(POD_NAME_ENV, "").strip() or None
    for day, message in sorted(exc.failures.items()):
        record = FailureRecord(
            date=day,
            step=step,
            message=message,
            pod=pod,
            run_id=ctx.run_id,
            exit_code=int(exc.exit_code),
            failed_at=utc_now(),
        )
        try:
            ctx.target.put(f"{failures_prefix(ctx)}{day}.json", record.to_json())
        except XetraEtlError as err:
            log.warning("could not write the failure record of %s: %s", day, err)


@contextmanager
def recording_failures(ctx: StepContext, step: str) -> Iterator[None]:
    """Around a per-date step's work: its failed dates get failure records, the error goes on."""
    try:
        yield
    except DateFailedError as exc:
        write_failure_records(ctx, step, exc)
        raise


def read_failure_records(ctx: StepContext) -> list[FailureRecord]:
    """This run's failure records, one per date, without the dates finished since they failed."""
    records: list[FailureRecord] = []
    for info in ctx.target.list(failures_prefix(ctx)):
        try:
            record = FailureRecord.from_json(ctx.target.get(info.key).data)
        except ObjectNotFoundError:
            continue
        except (ValueError, TypeError) as exc:
            log.warning("ignoring the unreadable failure record %s: %s", info.key, exc)
            continue
        job = ctx.jobs.read(dt.date.fromisoformat(record.date))
        if job is not None and job.state is State.DONE:
            continue  # a later attempt or `argo retry` finished the date
        records.append(record)
    return sorted(records, key=lambda r: r.date)
