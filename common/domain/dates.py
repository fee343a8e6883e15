"""Trading-date arithmetic and strict parsing of dates given by people or Argo."""

from __future__ import annotations

import bisect
import datetime as dt
import json
import re
from collections.abc import Iterable, Iterator, Sequence

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def parse_date(text: str, *, what: str = "date") -> dt.date:
    """Parse exactly `YYYY-MM-DD`; anything else raises ValueError naming `what`."""
    candidate = text.strip()
    if not _ISO_DATE.match(candidate):
        raise ValueError(f"{what} must be YYYY-MM-DD, got {text!r}")
    try:
        return dt.date.fromisoformat(candidate)
    except ValueError as exc:
        raise ValueError(f"{what} is not a calendar date: {text!r}") from exc


def parse_work_item(text: str) -> list[dt.date]:
    """A work item from discover: `D`, `D1,D2,...` or a JSON list of dates; sorted, unique."""
    stripped = text.strip()
    parts: Iterable[str]
    if stripped.startswith("["):
        try:
            loaded = json.loads(stripped)
        except json.JSONDecodeError as exc:
            raise ValueError(f"dates: not a JSON list: {text!r}") from exc
        if not isinstance(loaded, list) or not all(isinstance(x, str) for x in loaded):
            raise ValueError(f"dates: expected a JSON list of date strings, got {text!r}")
        parts = loaded
    else:
        parts = stripped.split(",")
    dates = sorted({parse_date(p, what="dates") for p in parts if p.strip()})
    if not dates:
        raise ValueError("dates: no date given")
    return dates


def format_work_item(dates: Iterable[dt.date]) -> str:
    return ",".join(d.isoformat() for d in dates)


def date_range_problem(first: dt.date, last: dt.date | None, today: dt.date) -> str | None:
    """Why [first, last] is not a range to run (one message for every command), or None.

    A range that ends after today is fine (it reaches today); one that starts after it is not.
    """
    if first > today:
        return (
            f"the date range lies in the future: first date {first} is after today ({today}, UTC)"
        )
    if last is not None and first > last:
        return f"the date range is empty: first date {first} is after last date {last}"
    return None


def date_range(first: dt.date, last: dt.date) -> Iterator[dt.date]:
    day = first
    while day <= last:
        yield day
        day += dt.timedelta(days=1)


def lookback_start(day: dt.date, lookback_days: int) -> dt.date:
    """The earliest date whose close can be `day`'s previous close."""
    return day - dt.timedelta(days=lookback_days)


def lookback_window(
    day: dt.date, dates: Sequence[dt.date], lookback_days: int
) -> Sequence[dt.date]:
    """The dates of `dates` (sorted) whose close can be `day`'s previous close.

    Those in [day - lookback_days, day): the one definition of a date's window, for discovery,
    transform and the local run alike.
    """
    start = bisect.bisect_left(dates, lookback_start(day, lookback_days))
    return dates[start : bisect.bisect_left(dates, day, lo=start)]


def chunked(items: list[dt.date], size: int) -> list[list[dt.date]]:
    return [items[i : i + size] for i in range(0, len(items), size)]
