"""Open the source reader for a store, as `open_store` opens a store.

The control steps (discover, merge, notify) never read a date, and their images hold no numpy or
pyarrow: the reader that `open_reader` gives imports them with the first date it reads, never
with the wiring.
"""

from __future__ import annotations

import threading

from xetra_etl.common.domain.source_layout import SourceDate
from xetra_etl.common.infra.config import SourceConfig
from xetra_etl.common.ports import DateBars, DateReader, ObjectStore


def open_reader(source: ObjectStore, settings: SourceConfig) -> DateReader:
    """The `DateReader` of `source`, made when the first date is read."""
    return _ReaderOnDemand(source, settings)


class _ReaderOnDemand:
    def __init__(self, source: ObjectStore, settings: SourceConfig) -> None:
        self._source, self._settings = source, settings
        self._reader: DateReader | None = None
        self._lock = threading.Lock()

    def read_date(self, source_date: SourceDate) -> DateBars:
        with self._lock:
            if self._reader is None:
                from xetra_etl.common.adapters.source_reader import SourceReader

                self._reader = SourceReader(self._source, self._settings)
        return self._reader.read_date(source_date)
