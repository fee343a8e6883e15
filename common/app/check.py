"""Check: can a run work with this config? Reach the source and the target, without changing either.

Each check gives one line for a person; a failed check carries the exit code of its error.
"""

from __future__ import annotations

import csv
import datetime as dt
import secrets
from collections.abc import Mapping
from dataclasses import dataclass

from xetra_etl.common.adapters.catalog import list_planned_source_dates
from xetra_etl.common.adapters.target_layout import TargetLayout
from xetra_etl.common.domain.freshness import Freshness, FreshnessRule, Verdict
from xetra_etl.common.domain.source_layout import SourceDate
from xetra_etl.common.domain.wording import counted, noun
from xetra_etl.common.infra.errors import ExitCode, XetraEtlError
from xetra_etl.common.ports import ObjectStore


@dataclass(frozen=True)
class CheckResult:
    name: str
    detail: str
    exit_code: int = 0
    warning: bool = False

    @property
    def ok(self) -> bool:
        return self.exit_code == 0

    def line(self) -> str:
        mark = ("WARN" if self.warning else "ok") if self.ok else "FAIL"
        return f"{mark:<4}  {self.name:<7}  {self.detail}"


def failed(name: str, exc: XetraEtlError) -> CheckResult:
    return CheckResult(name, str(exc), int(exc.exit_code))


def check_source(
    source: ObjectStore, first: dt.date, last: dt.date
) -> tuple[CheckResult, dict[dt.date, SourceDate]]:
    """Lists the source dates in [first, last] as a run does (no date folder at all fails); reads
    no object. Also returns the dates found, for the checks that follow."""
    try:
        dates = list_planned_source_dates(source, first, last)
    except XetraEtlError as exc:
        return failed("source", exc), {}
    count = counted(len(dates), "source date")
    return CheckResult("source", f"{source.uri}: {count} in {first}..{last}"), dates


def check_freshness(
    dates: Mapping[dt.date, SourceDate], first: dt.date, last: dt.date, rule: FreshnessRule
) -> CheckResult:
    """The newest source date and its age on `last`, judged by `source.freshness`."""
    fresh = Freshness.of(dates, since=first, as_of=last, rule=rule)
    verdict = fresh.verdict
    if verdict is Verdict.ERROR:
        detail = f"{fresh.describe()}; exit {int(ExitCode.NO_INPUT)}"
        return CheckResult("fresh", detail, int(ExitCode.NO_INPUT))
    return CheckResult("fresh", fresh.describe(), warning=verdict is Verdict.WARN)


def check_columns(
    source: ObjectStore, dates: Mapping[dt.date, SourceDate], columns: Mapping[str, str]
) -> CheckResult:
    """Reads the header of one source object (of the newest date) and checks that every mapped
    column is in it; a missing one is a config error naming the columns and the object."""
    if not dates:
        return CheckResult("columns", "not checked: no source date in range to read a header of")
    obj = dates[max(dates)].objects[0]
    try:
        data = source.get(obj.key).data
    except XetraEtlError as exc:
        return failed("columns", exc)
    header = _header_names(data)
    missing = [f"{canonical} ({name})" for canonical, name in columns.items() if name not in header]
    location = source.location(obj.key)
    if missing:
        return CheckResult(
            "columns",
            f"{location}: the header lacks the mapped {noun(len(missing), 'column')} "
            f"{', '.join(missing)}; "
            f"its columns are {', '.join(header)}: fix source.columns",
            int(ExitCode.CONFIG),
        )
    return CheckResult("columns", f"{location}: every mapped column is in the header")


def _header_names(data: bytes) -> list[str]:
    first_line = data.split(b"\n", 1)[0].rstrip(b"\r").removeprefix(b"\xef\xbb\xbf")
    try:
        return next(csv.reader([first_line.decode("utf-8", errors="replace")]))
    except (StopIteration, csv.Error):
        return []


def check_target(target: ObjectStore, layout: TargetLayout) -> CheckResult:
    """Creates an object with a conditional write (as job control does), then removes it."""
    key = f"{layout.staging_prefix}/.check-{secrets.token_hex(6)}"
    try:
        target.put(key, b"xetra-etl check\n", if_none_match=True)
        target.delete(key)
    except XetraEtlError as exc:
        return failed("target", exc)
    return CheckResult("target", f"{target.uri}: writable (conditional write of {key}, removed)")
