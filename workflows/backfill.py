"""Split a long backfill into one workflow per calendar month.

A month is about 22 trading days: few enough nodes for the Argo UI and the controller, and a
failed month is retried on its own. Pure date arithmetic, tested with plain dates.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta


@dataclass(frozen=True, order=True)
class DateWindow:
    """An inclusive range of calendar dates, submitted as one workflow."""

    first: date
    last: date

    @property
    def label(self) -> str:
        """`2017-07` for a window inside one month (names the workflow)."""
        return f"{self.first:%Y-%m}"


def _month_end(day: date) -> date:
    next_month = date(day.year + day.month // 12, day.month % 12 + 1, 1)
    return next_month - timedelta(days=1)


def month_windows(first: date, last: date) -> list[DateWindow]:
    """Cut [first, last] at calendar month boundaries; the ends may be partial months."""
    if last < first:
        raise ValueError(f"backfill range is empty: --from {first} is after --to {last}")
    windows = []
    start = first
    while start <= last:
        end = min(_month_end(start), last)
        windows.append(DateWindow(start, end))
        start = end + timedelta(days=1)
    return windows
