"""Job control decisions (DESIGN section 5), as pure functions over plain data.

A date's record says what was last done to it. A date needs work when it was never done, when its
own source objects changed (fingerprint), when its previous-close input changed (the digest of
the fingerprints of every source date in its lookback window, dates before the first date
included), or when its report partition is no longer the one its record describes (deleted, or
overwritten: names, sizes and ETags from a listing of the report prefix).
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
from collections.abc import Mapping, Set
from dataclasses import asdict, dataclass, field, replace
from enum import StrEnum
from typing import Any

from xetra_etl.common.domain.dates import lookback_window
from xetra_etl.common.domain.source_layout import inputs_fingerprint


class State(StrEnum):
    DONE = "done"
    FAILED = "failed"


class Reason(StrEnum):
    NEW = "new"
    CHANGED = "changed"
    INPUT_CHANGED = "input-changed"
    RETRY = "retry"
    PARTITION_MISSING = "partition-missing"
    PARTITION_CHANGED = "partition-changed"


@dataclass(frozen=True, order=True)
class PartitionFile:
    """One object of a date's report partition, as a listing shows it."""

    name: str
    size: int
    etag: str

    @classmethod
    def of(cls, name: str, size: int, etag: str) -> PartitionFile:
        # S3 quotes ETags in some answers and not in others; the quotes carry no meaning.
        return cls(name, size, etag.strip('"'))


def partition_to_json(files: Set[PartitionFile]) -> list[dict[str, object]]:
    return [asdict(f) for f in sorted(files)]


def partition_from_json(items: list[dict[str, Any]]) -> frozenset[PartitionFile]:
    return frozenset(
        PartitionFile.of(str(i["name"]), int(i["size"]), str(i["etag"])) for i in items
    )


# Check names records written before the checks had identifiers for names still carry.
OLD_CHECK_NAMES = {"min<=open,close<=max": "price_within_range", "volume>=0": "volume_non_negative"}


def renamed_checks(checks: Mapping[str, str]) -> dict[str, str]:
    """A record's checks under their current names."""
    return {OLD_CHECK_NAMES.get(name, name): result for name, result in checks.items()}


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
    # The report partition as load left it: its files, empty when the date has no partition (no
    # trades); None in records written before partitions were kept (see `partition_problem`).
    partition: frozenset[PartitionFile] | None = None

    def to_json(self) -> bytes:
        data = asdict(self)
        data["date"] = self.date.isoformat()
        data["state"] = str(self.state)
        data["warnings"] = list(self.warnings)
        data["checks"] = dict(self.checks)
        if self.partition is None:
            del data["partition"]
        else:
            data["partition"] = partition_to_json(self.partition)
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
            checks=renamed_checks(data.get("checks", {})),
            partition=(
                partition_from_json(data["partition"])
                if data.get("partition") is not None
                else None
            ),
        )


def window_fingerprints(
    day: dt.date, fingerprints: Mapping[dt.date, str], lookback_days: int
) -> dict[dt.date, str]:
    """Fingerprints of the source dates whose close can be `day`'s previous close."""
    return {d: fingerprints[d] for d in lookback_window(day, sorted(fingerprints), lookback_days)}


def window_digest(day: dt.date, fingerprints: Mapping[dt.date, str], lookback_days: int) -> str:
    return inputs_fingerprint(window_fingerprints(day, fingerprints, lookback_days))


def extract_settings_digest(columns: Mapping[str, str], include_zero_volume_rows: bool) -> str:
    """Digest of the settings that shape a date's aggregates: a change re-extracts."""
    return _digest({"columns": dict(columns), "zero_volume": include_zero_volume_rows})


def report_settings_digest(
    extract_settings: str, lookback_days: int, report_columns: Mapping[str, str]
) -> str:
    """Digest of every setting that shapes the report: a change redoes every date."""
    return _digest(
        {"extract": extract_settings, "lookback": lookback_days, "columns": dict(report_columns)}
    )


def inputs_digest(
    day: dt.date, fingerprints: Mapping[dt.date, str], lookback_days: int, report_settings: str
) -> str:
    """What a date's report depends on besides its own source: its window and the settings."""
    return f"{window_digest(day, fingerprints, lookback_days)}-{report_settings}"


def _digest(value: object) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()[:12]


def dates_needing_work(
    fingerprints: Mapping[dt.date, str],
    inputs: Mapping[dt.date, str],
    records: Mapping[dt.date, DateRecord],
    *,
    first: dt.date,
    last: dt.date,
    partitions: Mapping[dt.date, Set[PartitionFile]] | None = None,
) -> dict[dt.date, Reason]:
    """Dates in [first, last] that exist in the source and need work, with the reason why.

    `fingerprints` holds each source date's own fingerprint, `inputs` each date's digest of its
    previous-close input (see `window_digest`), `partitions` the files of every report partition
    found in the target (None: not looked at).
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
        elif partitions is not None and (problem := partition_problem(record, partitions.get(day))):
            work[day] = problem
    return work


def partition_problem(record: DateRecord, found: Set[PartitionFile] | None) -> Reason | None:
    """Why a done date's partition is not the one its record describes, or None when it is.

    A record written before partitions were kept (`partition` None) still says whether the date
    has a partition (row count above 0), so a deleted or an unexpected partition is found; only
    an overwrite goes unseen until the date is next processed.
    """
    if record.state is not State.DONE:
        return None
    present = frozenset(found or ())
    expected_some = record.row_count > 0 if record.partition is None else bool(record.partition)
    if expected_some and not present:
        return Reason.PARTITION_MISSING
    if record.partition is None:
        return Reason.PARTITION_CHANGED if present and not expected_some else None
    return Reason.PARTITION_CHANGED if present != record.partition else None


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
    "partition",
    "record_etag",
)
# The columns before `partition` was kept; such a meta file is still read (partition unknown).
OLD_META_COLUMNS = tuple(c for c in META_COLUMNS if c != "partition")


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
                ""
                if record.partition is None
                else json.dumps(partition_to_json(record.partition), separators=(",", ":")),
                etag,
            ]
        )
    return out.getvalue().encode()


def parse_meta(raw: bytes) -> dict[dt.date, tuple[DateRecord, str]]:
    """Parse the meta file; raise ValueError when it is not one this code wrote."""
    reader = csv.DictReader(io.StringIO(raw.decode("utf-8")))
    if tuple(reader.fieldnames or ()) not in (META_COLUMNS, OLD_META_COLUMNS):
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
            # an old check's name may hold "=" (min<=open,close<=max), a result never does
            checks=renamed_checks(
                dict(part.rsplit("=", 1) for part in row["checks"].split("; ") if "=" in part)
            ),
            partition=partition_from_json(json.loads(row["partition"]))
            if row.get("partition")
            else None,
        )
        result[record.date] = (record, row["record_etag"])
    return result
