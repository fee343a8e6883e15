"""Realistic Xetra-format source data for demos, tests and benchmarks.

Deterministic for a seed. Writes what the real bucket holds: 24 hourly files per trading day
(header-only outside trading hours), per-minute files for the newest date (a day not yet
collapsed), quoted descriptions with commas, the three quoting styles seen over the years,
securities that skip days, zero-volume reference rows in the evening auction hour, Saturdays
with reference rows only, and no folders for Sundays.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

import numpy as np

from common.domain.dates import date_range
from common.domain.isin import check_digit
from common.storage.base import ObjectStore

log = logging.getLogger(__name__)

HEADER = (
    "ISIN,Mnemonic,SecurityDesc,SecurityType,Currency,SecurityID,Date,Time,"
    "StartPrice,MaxPrice,MinPrice,EndPrice,TradedVolume,NumberOfTrades"
)
TRADING_MINUTES = range(8 * 60, 16 * 60 + 30)  # 08:00-16:29 UTC
REFERENCE_MINUTE = 20 * 60 + 30  # evening reference prices, volume 0
STYLES = ("all-quoted", "strings-quoted", "minimal")
_TYPES = ("Common stock", "ETF", "ETC", "Other")


@dataclass(frozen=True)
class Security:
    isin: str
    mnemonic: str
    description: str
    kind: str
    security_id: int
    liquidity: float  # chance of a trade in any minute
    skip_chance: float  # chance of not trading at all on a day


def securities(count: int, rng: np.random.Generator) -> list[Security]:
    result = []
    for index in range(count):
        body = f"DE000{index + 100000:06d}"
        isin = body + str(check_digit(body))
        result.append(
            Security(
                isin=isin,
                mnemonic=f"X{index:03d}",
                description=f"DEMO {index} AG INH., O.N. {index % 7},50",
                kind=_TYPES[index % len(_TYPES)],
                security_id=2500000 + index,
                liquidity=float(rng.uniform(0.02, 0.9)),
                skip_chance=0.15 if index % 5 == 4 else 0.0,
            )
        )
    return result


def _fmt_row(values: list[str], quoted: list[bool], style: str) -> str:
    out = []
    for value, is_string in zip(values, quoted, strict=True):
        if style == "all-quoted" or (style == "strings-quoted" and is_string) or "," in value:
            out.append(f'"{value}"')
        else:
            out.append(value)
    return ",".join(out)


# Which columns are strings (quoted in the "strings-quoted" style, like 2018's files).
_STRING_COLUMNS = [True, True, True, False, True, False, False, False] + [False] * 6


def _day_rows(
    day: dt.date,
    secs: list[Security],
    prices: np.ndarray,
    rng: np.random.Generator,
    *,
    trading: bool,
) -> dict[int, list[list[str]]]:
    """Rows of one date by minute of day; updates `prices` (the random walk) in place."""
    rows: dict[int, list[list[str]]] = {}
    minutes = np.array(TRADING_MINUTES)
    for index, sec in enumerate(secs):

        def row(
            minute: int,
            values: tuple[float, float, float, float],
            volume: int,
            trades: int,
            sec: Security = sec,
        ) -> list[str]:
            return [
                sec.isin,
                sec.mnemonic,
                sec.description,
                sec.kind,
                "EUR",
                str(sec.security_id),
                day.isoformat(),
                f"{minute // 60:02d}:{minute % 60:02d}",
                *(f"{v:.2f}" for v in values),
                str(volume),
                str(trades),
            ]

        if trading and rng.random() >= sec.skip_chance:
            active = minutes[rng.random(len(minutes)) < sec.liquidity]
            steps = np.exp(np.cumsum(rng.normal(0.0, 0.0015, len(active) + 1)))
            path = np.round(prices[index] * steps, 2).clip(0.01)
            start, end = path[:-1], path[1:]
            high = np.round(
                np.maximum(start, end) * (1 + np.abs(rng.normal(0, 5e-4, len(active)))), 2
            )
            low = np.round(
                np.minimum(start, end) * (1 - np.abs(rng.normal(0, 5e-4, len(active)))), 2
            )
            low = np.minimum(low.clip(0.01), np.minimum(start, end))
            trades = rng.integers(1, 12, len(active))
            volume = rng.integers(1, 40, len(active)) * 25 * trades
            for values in zip(
                active.tolist(),
                start.tolist(),
                high.tolist(),
                low.tolist(),
                end.tolist(),
                volume.tolist(),
                trades.tolist(),
                strict=True,
            ):
                minute = int(values[0])
                rows.setdefault(minute, []).append(row(minute, values[1:5], values[5], values[6]))
            if len(active):
                prices[index] = path[-1]
        if index % 3 == 0:  # evening reference price: a row, but not a trade
            price = round(float(prices[index]), 2)
            rows.setdefault(REFERENCE_MINUTE, []).append(
                row(REFERENCE_MINUTE, (price, price, price, price), 0, 1)
            )
    return rows


def generate(
    store: ObjectStore,
    *,
    first_date: dt.date,
    days: int,
    securities_count: int = 60,
    seed: int = 7,
    minute_files_for_last: bool = True,
) -> dict[str, int]:
    """Write `days` calendar days of source data; returns counts of dates, objects and rows."""
    rng = np.random.default_rng(seed)
    secs = securities(securities_count, rng)
    prices = rng.uniform(5.0, 250.0, len(secs))
    last = first_date + dt.timedelta(days=days - 1)
    counts = {"dates": 0, "objects": 0, "rows": 0}
    for number, day in enumerate(date_range(first_date, last)):
        if day.weekday() == 6:  # Sundays have no folder at all
            continue
        style = STYLES[number % len(STYLES)]
        by_minute = _day_rows(day, secs, prices, rng, trading=day.weekday() < 5)
        files: dict[str, list[list[str]]] = {}
        minute_files = minute_files_for_last and day == last
        for hour in range(24):
            hour_minutes = sorted(m for m in by_minute if m // 60 == hour)
            if minute_files and hour_minutes:
                for minute in hour_minutes:
                    files[f"{day}/{day}_BINS_XETR{hour:02d}{minute % 60:02d}.csv"] = by_minute[
                        minute
                    ]
            else:
                files[f"{day}/{day}_BINS_XETR{hour:02d}.csv"] = [
                    r for m in hour_minutes for r in by_minute[m]
                ]
        for key, rows in files.items():
            lines = [HEADER] + [_fmt_row(r, _STRING_COLUMNS, style) for r in rows]
            store.put(key, ("\n".join(lines) + "\n").encode())
            counts["objects"] += 1
            counts["rows"] += len(rows)
        counts["dates"] += 1
    log.info("wrote %(dates)d dates, %(objects)d objects, %(rows)d rows", counts)
    return counts
