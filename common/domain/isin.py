"""ISIN check digits (ISO 6166): letters become numbers, then the Luhn algorithm."""

from __future__ import annotations

import functools


def check_digit(body: str) -> int:
    """The check digit for the first 11 characters of an ISIN."""
    digits = "".join(str(int(ch, 36)) for ch in body.upper())
    total = 0
    for index, ch in enumerate(reversed(digits)):
        value = int(ch)
        if index % 2 == 0:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return (10 - total % 10) % 10


@functools.lru_cache(maxsize=1 << 16)  # a date repeats the ISINs of the last: check each once
def is_valid(isin: str) -> bool:
    return (
        len(isin) == 12
        and isin[:2].isalpha()
        and isin[:11].isalnum()
        and isin[11].isdigit()
        and check_digit(isin[:11]) == int(isin[11])
    )
