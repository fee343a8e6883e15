"""An independent reference implementation of the report, for end-to-end checks.

Deliberately simple and slow: the csv module, plain dicts, one pass per date. It shares nothing
with the pipeline's computation except the layout rule (tested on its own).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Mapping

from xetra_etl.common.domain.columns import XETRA_HEADER_NAMES
from xetra_etl.common.domain.source_layout import SourceObject, select_objects
from xetra_etl.common.ports import ObjectStore

Row = dict[str, object]


def daily(
    store: ObjectStore, columns: Mapping[str, str] = XETRA_HEADER_NAMES
) -> dict[dt.date, dict[str, Row]]:
    objects = [SourceObject(o.key, o.size, o.etag) for o in store.list("")]
    result: dict[dt.date, dict[str, Row]] = {}
    for day, source in select_objects(objects).items():
        per_isin: dict[str, list[tuple[str, int, float, float, float, float, int]]] = {}
        order = 0
        for obj in source.objects:
            text = store.get(obj.key).data.decode("utf-8", errors="replace").lstrip("\ufeff")
            for record in csv.DictReader(io.StringIO(text)):
                volume = int(record[columns["traded_volume"]])
                if volume == 0:
                    continue
                order += 1
                per_isin.setdefault(record[columns["isin"]], []).append(
                    (
                        record[columns["time"]],
                        order,
                        float(record[columns["start_price"]]),
                        float(record[columns["max_price"]]),
                        float(record[columns["min_price"]]),
                        float(record[columns["end_price"]]),
                        volume,
                    )
                )
        result[day] = {}
        for isin, bars in per_isin.items():
            bars.sort(key=lambda b: (b[0], b[1]))
            result[day][isin] = {
                "opening_price_eur": bars[0][2],
                "closing_price_eur": bars[-1][5],
                "minimum_price_eur": min(b[4] for b in bars),
                "maximum_price_eur": max(b[3] for b in bars),
                "daily_traded_volume": sum(b[6] for b in bars),
            }
    return result


def report(
    store: ObjectStore,
    *,
    first: dt.date,
    last: dt.date,
    lookback: int = 10,
    columns: Mapping[str, str] = XETRA_HEADER_NAMES,
) -> list[Row]:
    days = daily(store, columns)
    rows: list[Row] = []
    for day in sorted(d for d in days if first <= d <= last):
        for isin in sorted(days[day]):
            row: Row = {"isin": isin, "date": day, **days[day][isin]}
            previous = None
            for back in range(1, lookback + 1):
                earlier = day - dt.timedelta(days=back)
                if isin in days.get(earlier, {}):
                    previous = days[earlier][isin]["closing_price_eur"]
                    break
            close = row["closing_price_eur"]
            assert isinstance(close, float)
            row["change_prev_closing_pct"] = (
                100 * (close - previous) / previous
                if isinstance(previous, float) and previous != 0
                else None
            )
            rows.append(row)
    return rows
