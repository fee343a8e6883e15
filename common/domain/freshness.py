"""Source freshness, as `dbt source freshness` judges it: how old the newest source date is.

The age is counted in calendar days from the newest source date to the last date of the range
looked at (today, unless a run or check is given `--last-date`), so a backfill of past dates is
held to its own range and a weekly job to today. A source that stopped receiving data (the
public Xetra bucket did on 2022-05-13) turns stale: first a warning, then an error (exit 66).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Verdict(StrEnum):
    OK = "ok"
    WARN = "warn"
    ERROR = "error"


@dataclass(frozen=True)
class FreshnessRule:
    """Days of age after which a source warns, and after which it fails; None: never."""

    warn_after_days: int | None = 7
    error_after_days: int | None = 14

    def describe(self) -> str:
        parts = [
            f"{word} after {_days(days)}"
            for word, days in (("warn", self.warn_after_days), ("error", self.error_after_days))
            if days is not None
        ]
        return ", ".join(parts) if parts else "not checked"


@dataclass(frozen=True)
class Freshness:
    """The newest source date found in [since, as_of]; None when there is none in that span."""

    newest: dt.date | None
    since: dt.date
    as_of: dt.date
    rule: FreshnessRule

    @classmethod
    def of(
        cls, dates: Iterable[dt.date], *, since: dt.date, as_of: dt.date, rule: FreshnessRule
    ) -> Freshness:
        within = [d for d in dates if since <= d <= as_of]
        return cls(max(within) if within else None, since, as_of, rule)

    @property
    def age_days(self) -> int:
        """The age in days; without a date in the span, the least it can be."""
        if self.newest is None:
            return (self.as_of - self.since).days + 1
        return (self.as_of - self.newest).days

    @property
    def verdict(self) -> Verdict:
        error, warn = self.rule.error_after_days, self.rule.warn_after_days
        if error is not None and self.age_days > error:
            return Verdict.ERROR
        if warn is not None and self.age_days > warn:
            return Verdict.WARN
        return Verdict.OK

    def describe(self) -> str:
        if self.newest is None:
            found = f"no source date from {self.since} to {self.as_of}"
            age = f"more than {_days(self.age_days - 1)} old"
        else:
            found = f"newest source date {self.newest}"
            age = f"{_days(self.age_days)} old on {self.as_of}"
        text = f"{found}, {age} ({self.rule.describe()})"
        if self.verdict is not Verdict.OK:
            text += ": the source is stale (it may have stopped receiving data)"
        return text

    def to_dict(self) -> dict[str, Any]:
        return {
            "newest_date": self.newest.isoformat() if self.newest else None,
            "age_days": self.age_days,
            "as_of": self.as_of.isoformat(),
            "state": str(self.verdict),
            "warn_after_days": self.rule.warn_after_days,
            "error_after_days": self.rule.error_after_days,
            "detail": self.describe(),
        }


def _days(count: int) -> str:
    return f"{count} day" if count == 1 else f"{count} days"
