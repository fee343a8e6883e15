"""The source bucket's layout (DESIGN section 3) and date fingerprints.

`<YYYY-MM-DD>/<YYYY-MM-DD>_BINS_XETR<hh>.csv` is an hourly file; `..._XETR<hhmm>.csv` one
minute of a day not yet collapsed. Per hour the hourly file wins; without one, that hour's
minute files count. Every other key is ignored.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

_KEY = re.compile(
    r"^(?P<date>\d{4}-\d{2}-\d{2})/(?P=date)_BINS_XETR(?P<hour>\d{2})(?P<minute>\d{2})?\.csv$"
)


@dataclass(frozen=True, order=True)
class SourceObject:
    key: str
    size: int
    etag: str


@dataclass(frozen=True)
class SourceDate:
    """The objects that make up one date, and the fingerprint that says whether they changed."""

    date: dt.date
    objects: tuple[SourceObject, ...]

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.objects)


def parse_key(key: str) -> tuple[dt.date, int, int | None] | None:
    """(date, hour, minute or None) of a source key, or None when the key is not a source file."""
    match = _KEY.match(key)
    if not match:
        return None
    try:
        day = dt.date.fromisoformat(match["date"])
    except ValueError:
        return None
    hour = int(match["hour"])
    minute = int(match["minute"]) if match["minute"] is not None else None
    if hour > 23 or (minute is not None and minute > 59):
        return None
    return day, hour, minute


def select_objects(objects: Iterable[SourceObject]) -> dict[dt.date, SourceDate]:
    """Group listed objects by date, applying the hourly-or-minute-files rule."""
    hourly: dict[dt.date, dict[int, SourceObject]] = defaultdict(dict)
    minutes: dict[dt.date, dict[int, list[SourceObject]]] = defaultdict(lambda: defaultdict(list))
    for obj in objects:
        parsed = parse_key(obj.key)
        if parsed is None:
            continue
        day, hour, minute = parsed
        if minute is None:
            hourly[day][hour] = obj
        else:
            minutes[day][hour].append(obj)
    result: dict[dt.date, SourceDate] = {}
    for day in sorted(set(hourly) | set(minutes)):
        chosen: list[SourceObject] = []
        for hour in range(24):
            if hour in hourly[day]:
                chosen.append(hourly[day][hour])
            elif hour in minutes.get(day, {}):
                chosen.extend(sorted(minutes[day][hour]))
        result[day] = SourceDate(day, tuple(chosen))
    return result


def fingerprint(objects: Iterable[SourceObject]) -> str:
    """A digest of keys, sizes and ETags: changes whenever any object of the date changes."""
    digest = hashlib.sha256()
    for obj in sorted(objects):
        digest.update(f"{obj.key}\t{obj.size}\t{obj.etag.strip(chr(34))}\n".encode())
    return digest.hexdigest()[:24]


def inputs_fingerprint(fingerprints: Mapping[dt.date, str]) -> str:
    """One digest of the fingerprints of a date's previous-close window."""
    digest = hashlib.sha256()
    for day in sorted(fingerprints):
        digest.update(f"{day.isoformat()}\t{fingerprints[day]}\n".encode())
    return digest.hexdigest()[:24]
