"""What the application needs of a source reader: one call that gives a date's minute bars."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from xetra_etl.common.domain.source_layout import SourceDate

if TYPE_CHECKING:  # the control images (discover, merge, notify) have neither
    import numpy as np
    import pyarrow as pa


@dataclass(frozen=True)
class DateBars:
    """A date's validated minute bars (`BAR_SCHEMA`), one row per ISIN and minute.

    `minutes` holds each row's minute of the day; `duplicates` counts the rows dropped because
    they repeated an earlier row exactly. `isin_codes`, when the reader has them, is each row's
    ISIN as an index into the array of distinct ISINs (found once, for the duplicate check, and
    reused by the aggregation).
    """

    bars: pa.Table
    minutes: np.ndarray
    duplicates: int
    isin_codes: tuple[np.ndarray, pa.Array] | None = None

    @property
    def rows_read(self) -> int:
        return int(self.bars.num_rows) + self.duplicates


class DateReader(Protocol):
    def read_date(self, source_date: SourceDate) -> DateBars:
        """The date's bars; SourceDataError names the object, line and column of a bad value."""
        ...
