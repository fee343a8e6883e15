"""The rules every source row must keep, as one table, and the precise check that applies them.

Each rule says when a row breaks it (`Broken`), which column the error names and what it says.
Two checks read `RULES`: `first_broken_row` here (Arrow compute, any input) and the quick numpy
check in `common.kernels` (plain inputs only). Both report the first row that breaks a rule, and
among the rules a row breaks, the first in the table.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from xetra_etl.common.domain.columns import SOURCE_COLUMNS

Op = Literal["null", "other_date", "not_hh_mm", "not_12_chars", "lt", "le", "gt"]


@dataclass(frozen=True)
class Broken:
    """A row breaks the rule when `op` holds for `column` (and `than`: a column or a number)."""

    op: Op
    column: str
    than: str | float | None = None


@dataclass(frozen=True)
class Rule:
    broken: Broken
    message: str  # may name `{day}`

    @property
    def column(self) -> str:
        return self.broken.column


_PRICES = ("start_price", "max_price", "min_price", "end_price")

RULES: tuple[Rule, ...] = (
    *(Rule(Broken("null", name), "empty value") for name in SOURCE_COLUMNS),
    Rule(Broken("other_date", "date"), "date differs from its folder {day}"),
    Rule(Broken("not_hh_mm", "time"), "time is not hh:mm"),
    Rule(Broken("not_12_chars", "isin"), "ISIN is not 12 characters"),
    Rule(Broken("lt", "traded_volume", 0), "traded volume is negative"),
    *(Rule(Broken("le", name, 0), "price is not positive") for name in _PRICES),
    Rule(Broken("gt", "min_price", "max_price"), "min price above max"),
    Rule(Broken("lt", "start_price", "min_price"), "start price outside min..max"),
    Rule(Broken("gt", "start_price", "max_price"), "start price outside min..max"),
    Rule(Broken("lt", "end_price", "min_price"), "end price outside min..max"),
    Rule(Broken("gt", "end_price", "max_price"), "end price outside min..max"),
)


@dataclass(frozen=True)
class RowProblem:
    row: int  # 0-based, among the table's rows
    column: str  # canonical
    message: str


def first_problem(
    firsts: Sequence[int | None], day: dt.date, rules: Sequence[Rule] = RULES
) -> RowProblem | None:
    """The problem to report, given each rule's first broken row (None: never broken)."""
    found = [(row, index) for index, row in enumerate(firsts) if row is not None]
    if not found:
        return None
    row, index = min(found)
    return RowProblem(row, rules[index].column, rules[index].message.format(day=day))


def first_broken_row(
    table: pa.Table, day: dt.date, not_hh_mm: Callable[[pa.Array], np.ndarray]
) -> RowProblem | None:
    """The first row of `table` (canonical source columns, any encoding) that breaks a rule.

    `not_hh_mm` marks the times that are not `hh:mm`: one implementation of that check serves
    both this check and the quick one (see `xetra_etl.common.kernels.not_hh_mm`).
    """
    firsts = []
    for rule in RULES:
        mask = _mask(rule.broken, table, day, not_hh_mm)
        firsts.append(_first_true(mask))
    return first_problem(firsts, day)


def _mask(
    broken: Broken, table: pa.Table, day: dt.date, not_hh_mm: Callable[[pa.Array], np.ndarray]
) -> pa.Array:
    column = table[broken.column].combine_chunks()
    if broken.op == "null":
        return pc.is_null(column)
    if broken.op == "other_date":
        return pc.not_equal(column, day.isoformat())
    if broken.op == "not_hh_mm":
        return pa.array(not_hh_mm(column), pa.bool_())
    if broken.op == "not_12_chars":
        return pc.not_equal(pc.utf8_length(column), 12)
    than = table[broken.than].combine_chunks() if isinstance(broken.than, str) else broken.than
    compare = {"lt": pc.less, "le": pc.less_equal, "gt": pc.greater}[broken.op]
    return compare(column, than)


def _first_true(mask: pa.Array) -> int | None:
    if not pc.any(mask).as_py():  # the usual case: one cheap reduction, no index search
        return None
    hits = pc.indices_nonzero(pc.fill_null(mask, False))
    return int(hits[0].as_py()) if len(hits) else None
