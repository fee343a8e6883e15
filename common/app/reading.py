"""Moved to `common.ports`; kept for the imports not yet updated."""

from xetra_etl.common.ports import DateBars, DateReader

__all__ = ["DateBars", "DateReader"]
