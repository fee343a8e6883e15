"""Job control decisions (DESIGN section 5), as pure functions over plain data.

A date's record says what was last done to it. A date needs work when it was never done, when its
own source objects changed (fingerprint), or when its previous-close input changed (the digest of
the fingerprints of every source date in its lookback window, dates before the first date
included).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from enum import StrEnum
from typing import Any

from common.domain.dates import lookback_window
from common.domain.layout import inputs_fingerprint


class State(StrEnum):
    DONE = "done"
    FAILED = "failed"


class Reason(StrEnum):
    NEW = "new"
    CHANGED = "changed"
    INPUT_CHANGED = "input-changed"
    RETRY = "retry"


@dataclass(frozen=True)
class DateRecord:
    date: dt.date
    state: State
    fingerprint: str
    inputs_fingerprint: str
    row_count: int = 0
    run_id: str = ""
    processed_at: str = ""
    duration_seconds: float = 0.0
    error: str = ""
    exit_code: int = 0
    warnings: tuple[str, ...] = field(default_factory=tuple)
    checks: Mapping[str, str] = field(default_factory=dict)

    def to_json(self) -> bytes:
        data = asdict(self)
        data["date"] = self.date.isoformat()
        data["state"] = str(self.state)
        data["warnings"] = list(self.warnings)
        data["checks"] = dict(self.checks)
        return (json.dumps(data, indent=2, sort_keys=True) + "\n").encode()

    @classmethod
    def from_json(cls, raw: bytes) -> DateRecord:
        data: dict[str, Any] = json.loads(raw)
        return cls(
            date=dt.date.fromisoformat(data["date"]),
            state=State(data["state"]),
            fingerprint=str(data["fingerprint"]),
            inputs_fingerprint=str(data["inputs_fingerprint"]),
            row_count=int(data.get("row_count", 0)),
            run_id=str(data.get("run_id", "")),
            processed_at=str(data.get("processed_at", "")),
            duration_seconds=float(data.get("duration_seconds", 0.0)),
            error=str(data.get("error", "")),
            exit_code=int(data.get("exit_code", 0)),
            warnings=tuple(data.get("warnings", ())),
            checks=dict(data.get("checks", {})),
        )


def window_fingerprints(
    day: dt.date, fingerprints: Mapping[dt.date, str], lookback_days: int
) -> dict[dt.date, str]:
    """Fingerprints of the source dates whose close can be `day`'s previous close."""
    return {d: fingerprints[d] for d in lookback_window(day, sorted(fingerprints), lookback_days)}


def window_digest(day: dt.date, fingerprints: Mapping[dt.date, str], lookback_days: int) -> str:
    return inputs_fingerprint(window_fingerprints(day, fingerprints, lookback_days))


def dates_needing_work(
    fingerprints: Mapping[dt.date, str],
    inputs: Mapping[dt.date, str],
    records: Mapping[dt.date, DateRecord],
    *,
    first: dt.date,
    last: dt.date,
) -> dict[dt.date, Reason]:
    """Dates in [first, last] that exist in the source and need work, with the reason why.

    `fingerprints` holds each source date's own fingerprint, `inputs` each date's digest of its
    previous-close input (see `window_digest`).
    """
    work: dict[dt.date, Reason] = {}
    for day in sorted(d for d in fingerprints if first <= d <= last):
        record = records.get(day)
        if record is None:
            work[day] = Reason.NEW
        elif record.state is not State.DONE:
            work[day] = Reason.RETRY
        elif record.fingerprint != fingerprints[day]:
            work[day] = Reason.CHANGED
        elif record.inputs_fingerprint != inputs[day]:
            work[day] = Reason.INPUT_CHANGED
    return work


def mark_failed(
    previous: DateRecord | None,
    day: dt.date,
    *,
    error: str,
    exit_code: int,
    run_id: str,
    processed_at: str,
) -> DateRecord:
    """The record of a failed attempt; what was known before (row count) is kept for reference."""
    base = previous or DateRecord(day, State.FAILED, "", "")
    return replace(
        base,
        state=State.FAILED,
        error=error,
        exit_code=exit_code,
        run_id=run_id,
        processed_at=processed_at,
    )


# The human-readable meta file: one line per date, plus the record ETag it was built from so that
# a reader refreshes only the records that changed since.
META_COLUMNS = (
    "date",
    "state",
    "fingerprint",
    "inputs_fingerprint",
    "row_count",
    "processed_at",
    "duration_seconds",
    "run_id",
    "exit_code",
    "error",
    "warnings",
    "checks",
    "record_etag",
)


def render_meta(records: Mapping[dt.date, tuple[DateRecord, str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(META_COLUMNS)
    for day in sorted(records):
        record, etag = records[day]
        writer.writerow(
            [
                record.date.isoformat(),
                str(record.state),
                record.fingerprint,
                record.inputs_fingerprint,
                record.row_count,
                record.processed_at,
                f"{record.duration_seconds:.3f}",
                record.run_id,
                record.exit_code,
                record.error,
                " | ".join(record.warnings),
                "; ".join(f"{k}={v}" for k, v in record.checks.items()),
                etag,
            ]
        )
    return out.getvalue().encode()


def parse_meta(raw: bytes) -> dict[dt.date, tuple[DateRecord, str]]:
    """Parse the meta file; raise ValueError when it is not one this code wrote."""
    reader = csv.DictReader(io.StringIO(raw.decode("utf-8")))
    if tuple(reader.fieldnames or ()) != META_COLUMNS:
        raise ValueError(f"unexpected meta file columns {reader.fieldnames}")
    result: dict[dt.date, tuple[DateRecord, str]] = {}
    for row in reader:
        record = DateRecord(
            date=dt.date.fromisoformat(row["date"]),
            state=State(row["state"]),
            fingerprint=row["fingerprint"],
            inputs_fingerprint=row["inputs_fingerprint"],
            row_count=int(row["row_count"]),
            run_id=row["run_id"],
            processed_at=row["processed_at"],
            duration_seconds=float(row["duration_seconds"]),
            error=row["error"],
            exit_code=int(row["exit_code"]),
            warnings=tuple(w for w in row["warnings"].split(" | ") if w),
            # a check's name may hold "=" (min<=open,close<=max), its result never does
            checks=dict(part.rsplit("=", 1) for part in row["checks"].split("; ") if "=" in part),
        )
        result[record.date] = (record, row["record_etag"])
    return result
