"""The storage interface every adapter implements.

Keys are relative to the store's root (the bucket prefix or the directory of its URI) and always use
`/` as separator. ETags are opaque strings: equal ETags mean equal content for the lifetime of
a key.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol


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


def join_key(*parts: str) -> str:
    return "/".join(p.strip("/") for p in parts if p and p.strip("/"))
