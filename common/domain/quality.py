"""Per-date data-quality checks on report rows; recorded in job control, shown by `status`.

Hard rules on single rows (prices positive, min <= start/end <= max, volume >= 0) already fail the
date when the source breaks them; these checks re-assert them on the result and add the soft ones
(ISIN check digits, a sudden drop in the number of securities traded), which only warn.
"""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pyarrow.compute as pc

from xetra_etl.common.domain.isin import is_valid
from xetra_etl.common.domain.wording import counted

ROW_DROP_WARNING = 0.5  # warn when fewer than half as many securities traded as on the last date


def quality_checks(
    day: dt.date, rows: pa.Table, previous_rows: int | None
) -> tuple[dict[str, str], list[str]]:
    """(check -> result, warnings) for one date's report rows.

    `previous_rows` is the row count of the latest earlier source date; weekends, which carry
    reference prices only, are not compared.
    """
    checks: dict[str, str] = {}
    warnings: list[str] = []
    order_ok, volume_ok = _prices_in_range(rows), _volumes_non_negative(rows)
    checks["price_within_range"] = "ok" if order_ok else "FAILED"
    checks["volume_non_negative"] = "ok" if volume_ok else "FAILED"
    if not order_ok:
        warnings.append("a price lies outside its day's min..max")
    if not volume_ok:
        warnings.append("a daily volume is negative")
    invalid = [isin for isin in rows["isin"].to_pylist() if not is_valid(isin)]
    checks["isin_check_digit"] = "ok" if not invalid else f"{len(invalid)} invalid"
    if invalid:
        warnings.append(
            f"{counted(len(invalid), 'ISIN')} with a wrong check digit, e.g. {invalid[0]}"
        )
    if previous_rows and day.weekday() < 5:
        ratio = rows.num_rows / previous_rows
        checks["rows_vs_previous"] = f"{ratio:.0%}"
        if ratio < ROW_DROP_WARNING:
            warnings.append(
                f"row count dropped to {rows.num_rows} from {previous_rows} on the previous date"
            )
    return checks, warnings


def _prices_in_range(rows: pa.Table) -> bool:
    """Every opening and closing price lies within its row's minimum..maximum."""
    if not rows.num_rows:
        return True
    low, high = rows["minimum_price_eur"], rows["maximum_price_eur"]
    return bool(
        pc.all(
            pc.and_(
                pc.and_(
                    pc.less_equal(low, rows["opening_price_eur"]),
                    pc.less_equal(rows["opening_price_eur"], high),
                ),
                pc.and_(
                    pc.less_equal(low, rows["closing_price_eur"]),
                    pc.less_equal(rows["closing_price_eur"], high),
                ),
            )
        ).as_py()
    )


def _volumes_non_negative(rows: pa.Table) -> bool:
    if not rows.num_rows:
        return True
    return bool(pc.all(pc.greater_equal(rows["daily_traded_volume"], 0)).as_py())
