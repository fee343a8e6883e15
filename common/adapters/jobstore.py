"""Job control in the target store: one record per date, a derived meta file, and a run lock.

Each date's record (`<meta>/dates/<date>.json`) is written only by the step that processed the
date, after the data it describes is durable, so concurrent runs never contend on one shared
object. The meta file (`<meta>/meta.csv`) is derived from the records; it is rewritten with a
conditional write (If-Match / If-None-Match), so two writers cannot overwrite each other's view,
and a reader uses it as a cache: only records whose ETag differs from the one it lists are read.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from xetra_etl.common.adapters.target_layout import TargetLayout
from xetra_etl.common.domain.jobcontrol import DateRecord, parse_meta, render_meta
from xetra_etl.common.infra.errors import (
    LockHeldError,
    ObjectNotFoundError,
    PreconditionFailedError,
)
from xetra_etl.common.ports import ObjectStore

log = logging.getLogger(__name__)

Records = dict[dt.date, tuple[DateRecord, str]]


class DateRecords:
    """The date records in the target (one object per date) and the meta file built from them."""

    def __init__(self, store: ObjectStore, layout: TargetLayout) -> None:
        self.store = store
        self.layout = layout
        # What this instance wrote, by date, with the ETag the store gave it: a listing that
        # shows the same ETag needs no GET to know the record (a run's merge rereads none of
        # the records its own dates wrote; another writer's record has another ETag).
        self._written: Records = {}

    def write(self, record: DateRecord) -> str:
        etag = self.store.put(self.layout.record_key(record.date), record.to_json())
        self._written[record.date] = (record, etag)
        return etag

    def read(self, day: dt.date) -> DateRecord | None:
        pair = self._read_with_etag(day)
        return pair[0] if pair else None

    def load(self) -> Records:
        """Every date's record with its ETag, reading only records the meta file does not match."""
        return self.load_and_check_meta()[0]

    def load_and_check_meta(self) -> tuple[Records, bool]:
        """`load`, and whether the meta file already says exactly that (no rebuild needed)."""
        cached, _, raw = self._read_meta()
        records = self._load(cached)
        return records, bool(raw) and render_meta(records) == raw

    def _load(self, cached: Records) -> Records:
        """The listed records: from `cached` (the meta file's) or this instance's own writes
        where the listed ETag matches, else read."""
        listed = {
            dt.date.fromisoformat(info.key.rsplit("/", 1)[1].removesuffix(".json")): info.etag
            for info in self.store.list(self.layout.records_prefix)
            if info.key.endswith(".json")
        }
        known = {**cached, **{d: pair for d, pair in self._written.items() if pair[1]}}
        stale = [d for d, etag in listed.items() if d not in known or known[d][1] != etag]
        result: Records = {d: known[d] for d in listed if d not in stale}
        with ThreadPoolExecutor(max_workers=8) as pool:
            for day, pair in zip(stale, pool.map(self._read_with_etag, stale), strict=True):
                if pair is not None:
                    result[day] = pair
        return result

    def rebuild_meta(self, *, attempts: int = 10) -> Records:
        """Rewrite the meta file from the records; retried when another writer got there first."""
        for attempt in range(attempts):
            cached, etag, current = self._read_meta()
            records = self._load(cached)
            body = render_meta(records)
            if body == current:
                return records  # nothing changed: a no-op run rewrites nothing
            try:
                if etag is None:
                    self.store.put(self.layout.meta_key, body, if_none_match=True)
                else:
                    self.store.put(self.layout.meta_key, body, if_match=etag)
                return records
            except PreconditionFailedError:
                time.sleep(0.05 * (attempt + 1))
        raise PreconditionFailedError(
            f"{self.store.location(self.layout.meta_key)} kept changing; gave up after {attempts}"
        )

    def _read_with_etag(self, day: dt.date) -> tuple[DateRecord, str] | None:
        key = self.layout.record_key(day)
        try:
            blob = self.store.get(key)
        except ObjectNotFoundError:
            return None
        try:
            return DateRecord.from_json(blob.data), blob.etag
        except (ValueError, KeyError, TypeError) as exc:
            # Unknown state is treated as no state: the date is processed again, which is safe
            # (idempotent) and rewrites the record.
            log.warning(
                "job-control record %s is corrupt (%s); the date will be processed again",
                self.store.location(key),
                exc,
            )
            return None

    def _read_meta(self) -> tuple[Records, str | None, bytes]:
        try:
            blob = self.store.get(self.layout.meta_key)
        except ObjectNotFoundError:
            return {}, None, b""
        try:
            return parse_meta(blob.data), blob.etag, blob.data
        except (ValueError, KeyError, UnicodeDecodeError) as exc:
            # The meta file is derived; a corrupt one is rebuilt from the records.
            log.warning(
                "meta file %s is unreadable (%s); rebuilding it from the date records",
                self.store.location(self.layout.meta_key),
                exc,
            )
            return {}, blob.etag, blob.data


@dataclass(frozen=True)
class Lease:
    run_id: str
    etag: str


class RunLock:
    """A lease on the target, so two local runs never process it at once.

    Taken with a create-if-absent write; renewed with If-Match on its own ETag. A lease whose
    expiry has passed (its run was killed) is taken over, again with If-Match, so only one run wins.
    """

    def __init__(self, store: ObjectStore, layout: TargetLayout, ttl_seconds: int) -> None:
        self.store = store
        self.key = layout.lock_key
        self.ttl = ttl_seconds

    def _body(self, run_id: str) -> bytes:
        now = time.time()
        return json.dumps(
            {
                "run_id": run_id,
                "host": socket.gethostname(),
                "pid": os.getpid(),
                "acquired_at": now,
                "expires_at": now + self.ttl,
            }
        ).encode()

    def acquire(self, run_id: str) -> Lease:
        try:
            return Lease(run_id, self._put(self._body(run_id), if_none_match=True))
        except PreconditionFailedError:
            pass
        try:
            blob = self.store.get(self.key)
        except ObjectNotFoundError:
            return self.acquire(run_id)
        try:
            held = json.loads(blob.data)
            holder, expires = str(held["run_id"]), float(held["expires_at"])
        except (ValueError, KeyError, TypeError):
            held, holder, expires = {}, "unknown", 0.0
        if expires > time.time() and not _holder_is_gone(held):
            until = dt.datetime.fromtimestamp(expires, dt.UTC).isoformat(timespec="seconds")
            raise LockHeldError(
                f"another run ({holder}) holds the lock {self.store.location(self.key)} until "
                f"{until}; try again later, or delete the lock if that run is gone"
            )
        log.warning("taking over the lock of run %s: it expired or its process is gone", holder)
        try:
            return Lease(run_id, self._put(self._body(run_id), if_match=blob.etag))
        except PreconditionFailedError as exc:
            raise LockHeldError("another run took the expired lock first") from exc

    def renew(self, lease: Lease) -> Lease:
        try:
            etag = self._put(self._body(lease.run_id), if_match=lease.etag)
        except PreconditionFailedError as exc:
            raise LockHeldError(
                f"run {lease.run_id} lost its lock {self.store.location(self.key)}"
            ) from exc
        return Lease(lease.run_id, etag)

    def _put(self, body: bytes, *, if_match: str | None = None, if_none_match: bool = False) -> str:
        """Write the lock under a condition. A lost condition while the lock holds exactly
        `body` (a timestamp to the microsecond is in it) was this very write: it went through,
        its answer was lost, and the store's repeat of it found the condition changed."""
        try:
            return self.store.put(self.key, body, if_match=if_match, if_none_match=if_none_match)
        except PreconditionFailedError as lost:
            try:
                current = self.store.get(self.key)
            except ObjectNotFoundError:
                raise lost from None
            if current.data != body:
                raise
            return current.etag

    def release(self, lease: Lease) -> None:
        try:
            current = self.store.get(self.key)
        except ObjectNotFoundError:
            return
        if current.etag == lease.etag:
            self.store.delete(self.key)


def _holder_is_gone(held: dict[str, object]) -> bool:
    """True when the lock was taken on this host by a process that no longer exists."""
    pid = held.get("pid")
    if held.get("host") != socket.gethostname() or not isinstance(pid, int):
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False
