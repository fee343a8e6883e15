"""A directory on the local filesystem as an object store.

Writes go to a temporary file beside the store root and are renamed into place, so a reader never
sees half an object. Conditional writes are serialised with an exclusive `flock` per store.
"""

from __future__ import annotations

import contextlib
import fcntl
import io
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from xetra_etl.common.infra.errors import ObjectNotFoundError, PreconditionFailedError, StorageError
from xetra_etl.common.ports import Blob, ObjectInfo

# Temporary files and the lock live in a scratch folder of the store, which listings skip; the
# pipeline puts it under the target's staging prefix so nothing is written outside its prefixes.
DEFAULT_SCRATCH = ".xetra-tmp"


def _etag(stat: os.stat_result) -> str:
    # Cheap and content-free: a listing must not read the files. Every write replaces the inode,
    # so size, mtime and inode together change whenever the content is rewritten.
    return f"{stat.st_size:x}-{stat.st_mtime_ns:x}-{stat.st_ino:x}"


def _object_info(key: str, entry: os.DirEntry[str]) -> Iterator[ObjectInfo]:
    """The listing's entry for a file, or nothing when it vanished since the directory was read."""
    try:
        stat = entry.stat()
    except FileNotFoundError:
        return
    yield ObjectInfo(key, stat.st_size, _etag(stat))


class LocalStore:
    local = True

    def __init__(
        self, root: str | os.PathLike[str], *, durable: bool = True, scratch: str = DEFAULT_SCRATCH
    ) -> None:
        self.root = Path(root).resolve()
        self._root = str(self.root)
        self._root_slash = os.path.join(self._root, "")
        self.uri = str(self.root)
        self.scratch = scratch.strip("/")
        # fsync before the rename, so a written object survives a power loss, not only a crash.
        self.durable = durable

    def _path(self, key: str) -> Path:
        # Lexical, like an S3 key: `..` may not climb out of the root. (No `resolve()`: it stats
        # every component of every key a run reads.)
        path = os.path.normpath(os.path.join(self._root, key))
        if path != self._root and not path.startswith(self._root_slash):
            raise StorageError(f"key {key!r} escapes the store root {self.root}")
        return Path(path)

    def location(self, key: str) -> str:
        return str(self.root / key)

    def list(self, prefix: str = "", *, start_after: str = "") -> Iterator[ObjectInfo]:
        if not self.root.is_dir():
            return
        # Walk only the directories that can hold matching keys.
        base_dir = prefix.rpartition("/")[0]
        start = self.root / base_dir if base_dir else self.root
        if not start.is_dir():
            return
        yield from self._walk(start, base_dir, prefix, start_after)

    def _walk(self, path: Path, rel: str, prefix: str, start_after: str) -> Iterator[ObjectInfo]:
        """Keys under `path` in key order, lazily: a consumer that stops early stops the walk.

        Visiting entries sorted by name (a directory as `name/`) yields keys in exactly the
        order of sorting them, so no full listing is collected first; directories that hold
        only keys at or before `start_after`, or outside `prefix`, are never entered.
        """
        try:
            entries = list(os.scandir(path))
        except FileNotFoundError:
            return
        named = sorted(
            ((f"{rel}/{e.name}" if rel else e.name) + ("/" if e.is_dir() else ""), e)
            for e in entries
        )
        for key, entry in named:
            if not key.endswith("/"):
                if key.startswith(prefix) and key > start_after:
                    yield from _object_info(key, entry)
            elif self._may_hold(key, prefix, start_after):
                yield from self._walk(Path(entry.path), key.rstrip("/"), prefix, start_after)

    def _may_hold(self, folder: str, prefix: str, start_after: str) -> bool:
        """Whether `folder` (a key ending in `/`) may hold keys the listing wants."""
        if folder.rstrip("/") == self.scratch:
            return False
        if not (folder.startswith(prefix) or prefix.startswith(folder)):
            return False
        # Otherwise every key inside sorts at or before start_after.
        return folder > start_after or start_after.startswith(folder)

    def get(self, key: str) -> Blob:
        with self._open(key) as handle:
            return Blob(handle.readall(), _etag(os.fstat(handle.fileno())))

    def open_object(self, key: str) -> io.FileIO:
        """The object as a file to read once (the source reader reads it into its buffer);
        the caller closes it."""
        return self._open(key)

    def _open(self, key: str) -> io.FileIO:
        path = self._path(key)
        try:
            return io.FileIO(path, "r")
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError) as exc:
            raise ObjectNotFoundError(self.location(key)) from exc

    def put(
        self,
        key: str,
        data: bytes,
        *,
        if_match: str | None = None,
        if_none_match: bool = False,
    ) -> str:
        path = self._path(key)
        scratch = self.root / self.scratch
        try:
            scratch.mkdir(parents=True, exist_ok=True)
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageError(f"cannot write {self.location(key)}: {exc}") from exc
        with self._lock(conditional=if_match is not None or if_none_match):
            if if_none_match and path.exists():
                raise PreconditionFailedError(f"{self.location(key)} already exists")
            if if_match is not None:
                try:
                    current = _etag(path.stat())
                except FileNotFoundError:
                    current = None
                if current != if_match:
                    raise PreconditionFailedError(f"{self.location(key)} changed since it was read")
            fd, tmp = tempfile.mkstemp(dir=scratch, prefix="put-")
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(data)
                    if self.durable:
                        handle.flush()
                        os.fsync(handle.fileno())
                os.replace(tmp, path)
            except BaseException:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(tmp)
                raise
            return _etag(path.stat())

    def delete(self, key: str) -> None:
        path = self._path(key)
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        # Leave no empty directories behind, so a deleted partition disappears for readers.
        parent = path.parent
        while parent != self.root:
            try:
                parent.rmdir()
            except OSError:
                break
            parent = parent.parent

    @contextlib.contextmanager
    def _lock(self, *, conditional: bool) -> Iterator[None]:
        if not conditional:
            yield
            return
        with open(self.root / self.scratch / "lock", "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
