"""What every step function works with: the config, both stores, the target layout, the run."""

from __future__ import annotations

import datetime as dt
import logging
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TypeVar

from xetra_etl.common.adapters.jobstore import DateRecords
from xetra_etl.common.adapters.target_layout import TargetLayout
from xetra_etl.common.domain.jobcontrol import (
    extract_settings_digest,
    inputs_digest,
    mark_failed,
    report_settings_digest,
)
from xetra_etl.common.infra.config import Config
from xetra_etl.common.infra.errors import DateFailedError, ExitCode, XetraEtlError
from xetra_etl.common.infra.logs import date_context
from xetra_etl.common.ports import DateReader, ObjectStore

log = logging.getLogger(__name__)
T = TypeVar("T")


def new_run_id(now: dt.datetime | None = None) -> str:
    now = now or dt.datetime.now(dt.UTC)
    return f"run-{now:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


def utc_now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


@dataclass
class StepContext:
    config: Config
    source: ObjectStore
    target: ObjectStore
    run_id: str
    reader: DateReader  # of `source`
    layout: TargetLayout = field(init=False)
    jobs: DateRecords = field(init=False)

    def __post_init__(self) -> None:
        self.layout = TargetLayout.from_config(self.config.target)
        self.jobs = DateRecords(self.target, self.layout)

    @property
    def extract_settings(self) -> str:
        """Digest of the settings that shape a date's aggregates: a change re-extracts."""
        return extract_settings_digest(
            self.config.source.columns, self.config.pipeline.include_zero_volume_rows
        )

    @property
    def report_settings(self) -> str:
        """Digest of every setting that shapes the report: a change redoes every date."""
        return report_settings_digest(
            self.extract_settings,
            self.config.pipeline.prev_close_lookback_days,
            self.config.report.columns,
        )

    def inputs_digest(self, day: dt.date, fingerprints: dict[dt.date, str]) -> str:
        """What a date's report depends on besides its own source: its window and the settings."""
        lookback = self.config.pipeline.prev_close_lookback_days
        return inputs_digest(day, fingerprints, lookback, self.report_settings)


def for_each_date(
    ctx: StepContext, dates: Iterable[dt.date], work: Callable[[dt.date], T]
) -> dict[dt.date, T]:
    """Run `work` for every date; one date's failure neither stops the others nor goes unrecorded.

    A failed date gets a `failed` record in job control (best effort: the store may be the thing
    that failed). Afterwards, DateFailedError carries every failure and the exit code a retry
    decision needs: transient when any failure is transient, else the first failure's code.
    """
    results: dict[dt.date, T] = {}
    failures: dict[str, str] = {}
    codes: list[int] = []
    for day in dates:
        with date_context(day):
            started = time.monotonic()
            try:
                results[day] = work(day)
            except XetraEtlError as exc:
                code = exc.exit_code
                log.error("date %s failed (exit %d): %s", day, code, exc)
                failures[day.isoformat()] = str(exc)
                codes.append(code)
                _record_failure(ctx, day, str(exc), code)
            except Exception as exc:  # a bug: still record the date, then report it as one
                log.exception("date %s failed with an unexpected error", day)
                failures[day.isoformat()] = f"unexpected error: {exc!r}"
                codes.append(ExitCode.SOFTWARE)
                _record_failure(ctx, day, repr(exc), ExitCode.SOFTWARE)
            else:
                log.debug("date %s took %.2f s", day, time.monotonic() - started)
    if failures:
        raise DateFailedError(failures, ExitCode.combine(codes))
    return results


def _record_failure(ctx: StepContext, day: dt.date, error: str, code: int) -> None:
    try:
        previous = ctx.jobs.read(day)
        ctx.jobs.write(
            mark_failed(
                previous,
                day,
                error=error,
                exit_code=code,
                run_id=ctx.run_id,
                processed_at=utc_now(),
            )
        )
    except XetraEtlError as exc:
        log.warning("could not record the failure of %s in job control: %s", day, exc)
