"""Counts in messages: "1 date", "2 dates", never "1 dates" or "date(s)"."""

from __future__ import annotations


def noun(count: int, singular: str, plural: str | None = None) -> str:
    """`singular` for one, else `plural` (default: `singular` + "s")."""
    return singular if count == 1 else (plural or singular + "s")


def counted(count: int, singular: str, plural: str | None = None) -> str:
    """ "1 date", "3 dates"."""
    return f"{count} {noun(count, singular, plural)}"
