"""ISIN check digits (ISO 6166): letters become numbers, then the Luhn algorithm."""

from __future__ import annotations

import functools
import string

_NUMBER_OF = {ch: str(int(ch, 36)) for ch in string.digits + string.ascii_uppercase}  # "A": "10"
_VALUE = {str(d): d for d in range(10)}
_DOUBLED = {str(d): sum(divmod(2 * d, 10)) for d in range(10)}  # digit sum of twice the digit


def check_digit(body: str) -> int:
    """The check digit for the first 11 characters of an ISIN (ASCII letters and digits)."""
    digits = "".join(map(_NUMBER_OF.__getitem__, body.upper()))
    # Luhn: from the right, every other digit doubled, starting with the rightmost.
    total = sum(map(_DOUBLED.__getitem__, digits[::-2]))
    total += sum(map(_VALUE.__getitem__, digits[-2::-2]))
    return (10 - total % 10) % 10


@functools.lru_cache(maxsize=1 << 16)  # a date repeats the ISINs of the last: check each once
def is_valid(isin: str) -> bool:
    return (
        len(isin) == 12
        and isin.isascii()
        and isin[:2].isalpha()
        and isin[:11].isalnum()
        and isin[11].isdigit()
        and check_digit(isin[:11]) == int(isin[11])
    )
