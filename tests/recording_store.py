"""A local store that records every request it serves, for tests that count round trips."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator

from xetra_etl.common.adapters.storage.local import LocalStore
from xetra_etl.common.ports import Blob, ObjectInfo


class RecordingStore(LocalStore):
    """Records each request as (operation, key): get, open (a streamed read), put, delete, list
    (the key is the listed prefix). On S3 each would be one round trip."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        super().__init__(root)
        self.requests: list[tuple[str, str]] = []

    def get(self, key: str) -> Blob:
        self.requests.append(("get", key))
        return super().get(key)

    def open_object(self, key: str) -> io.FileIO:
        self.requests.append(("open", key))
        return super().open_object(key)

    def put(
        self, key: str, data: bytes, *, if_match: str | None = None, if_none_match: bool = False
    ) -> str:
        self.requests.append(("put", key))
        return super().put(key, data, if_match=if_match, if_none_match=if_none_match)

    def delete(self, key: str) -> None:
        self.requests.append(("delete", key))
        super().delete(key)

    def list(self, prefix: str = "", *, start_after: str = "") -> Iterator[ObjectInfo]:
        self.requests.append(("list", prefix))
        yield from super().list(prefix, start_after=start_after)

    def count(self, operation: str, part: str = "") -> int:
        """How many `operation` requests had `part` in their key."""
        return sum(1 for op, key in self.requests if op == operation and part in key)

    def reads(self) -> list[str]:
        """The keys of every object read, whole or streamed."""
        return [key for op, key in self.requests if op in ("get", "open")]
