"""Check: can a run work with this config? Reach the source and the target, without changing either.

Each check gives one line for a person; a failed check carries the exit code of its error.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from xetra_etl.common.adapters.catalog import list_planned_source_dates
from xetra_etl.common.adapters.storage.base import ObjectStore
from xetra_etl.common.adapters.target_layout import TargetLayout
from xetra_etl.common.infra.errors import XetraEtlError


@dataclass(frozen=True)
class CheckResult:
    name: str
    detail: str
    exit_code: int = 0

    @property
    def ok(self) -> bool:
        return self.exit_code == 0

    def line(self) -> str:
        return f"{'ok' if self.ok else 'FAIL':<4}  {self.name:<6}  {self.detail}"


def failed(name: str, exc: XetraEtlError) -> CheckResult:
    return CheckResult(name, str(exc), int(exc.exit_code))


def check_source(source: ObjectStore, first: dt.date, last: dt.date) -> CheckResult:
    """Lists the source dates in [first, last] as a run does (no date folder at all fails); reads
    no object."""
    try:
        dates = list_planned_source_dates(source, first, last)
    except XetraEtlError as exc:
        return failed("source", exc)
    return CheckResult("source", f"{source.uri}: {len(dates)} source date(s) in {first}..{last}")


def check_target(target: ObjectStore, layout: TargetLayout) -> CheckResult:
    """Creates an object with a conditional write (as job control does), then removes it."""
    key = f"{layout.staging_prefix}/.check-{secrets.token_hex(6)}"
    try:
        target.put(key, b"xetra-etl check\n", if_none_match=True)
        target.delete(key)
    except XetraEtlError as exc:
        return failed("target", exc)
    return CheckResult("target", f"{target.uri}: writable (conditional write of {key}, removed)")
