"""The ports: what the application needs of the world outside it, in one place.

`ObjectStore` (with `ObjectInfo`, `Blob` and `Stream`) is what every store adapter implements;
keys are relative to the store's root (the bucket prefix or the directory of its URI) and always
use `/` as separator; ETags are opaque strings, equal ETags meaning equal content for the
lifetime of a key. `DateReader` (with `DateBars`) is what the source reader implements: one call
that gives a date's minute bars.

Both the application and the adapters import this module; it imports only the domain.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from xetra_etl.common.domain.source_layout import SourceDate

if TYPE_CHECKING:  # the control images (discover, merge, notify) have neither
    import numpy as np
    import pyarrow as pa


@dataclass(frozen=True, order=True)
class ObjectInfo:
    key: str
    size: int
    etag: str


@dataclass(frozen=True)
class Blob:
    data: bytes
    etag: str


class Stream(Protocol):
    """An object opened for reading once, like `open(path, "rb", buffering=0)`."""

    def read(self, size: int = -1, /) -> bytes: ...

    def readinto(self, buffer: memoryview, /) -> int | None: ...

    def close(self) -> None: ...


class ObjectStore(Protocol):
    """What the application needs of a store, and nothing more."""

    uri: str
    # True when a read does not wait on the network (a directory): a reader opens the objects
    # one after another instead of fetching a few ahead on other threads.
    local: bool

    def list(self, prefix: str = "", *, start_after: str = "") -> Iterator[ObjectInfo]:
        """Objects whose key starts with `prefix`, in key order, after `start_after`."""
        ...

    def get(self, key: str) -> Blob:
        """The object's bytes and ETag; ObjectNotFoundError when it does not exist."""
        ...

    def open_object(self, key: str) -> bytes | Stream:
        """The object's body for a reader that reads it once: its bytes, or an open stream that
        the caller reads (into its own buffer, no copy before) and closes."""
        ...

    def put(
        self,
        key: str,
        data: bytes,
        *,
        if_match: str | None = None,
        if_none_match: bool = False,
    ) -> str:
        """Write atomically and return the new ETag.

        `if_match`: only when the current ETag equals it; `if_none_match`: only when the key
        does not exist. A lost condition raises PreconditionFailedError.
        """
        ...

    def delete(self, key: str) -> None:
        """Remove the object; removing a missing key is not an error."""
        ...

    def location(self, key: str) -> str:
        """A full, human-readable address of `key` for messages (`s3://bucket/prefix/key`)."""
        ...


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
