"""Job control keeps its promises on MinIO, whose conditional writes differ from AWS S3.

MinIO writes the object when `If-Match` names a key that does not exist (cmd/erasure-object.go:
the precondition is checked only against an existing object), where AWS S3 answers 404. The run
lock's renewal and takeover and the meta file's rebuild write with `If-Match`. A store wrapper
with MinIO's rule, around the real local adapter, runs the real `common/adapters/jobstore.py` to
show what holds there: never two lock holders, no date lost or brought back.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from xetra_etl.common.adapters.jobstore import DateRecords, RunLock
from xetra_etl.common.adapters.storage.local import LocalStore
from xetra_etl.common.adapters.target_layout import TargetLayout
from xetra_etl.common.domain.jobcontrol import DateRecord, State
from xetra_etl.common.infra.errors import (
    LockHeldError,
    ObjectNotFoundError,
    PreconditionFailedError,
)
from xetra_etl.common.ports import ObjectStore

DAY = dt.date(2021, 1, 5)
LAYOUT = TargetLayout("reports/daily", "_meta", "_staging", "_runs")


class MinioConditionalStore(LocalStore):
    """The local adapter with MinIO's `If-Match` on a missing key: the write goes through."""

    def put(
        self,
        key: str,
        data: bytes,
        *,
        if_match: str | None = None,
        if_none_match: bool = False,
    ) -> str:
        if if_match is not None:
            try:
                self.get(key)
            except ObjectNotFoundError:
                return super().put(key, data, if_none_match=if_none_match)
        return super().put(key, data, if_match=if_match, if_none_match=if_none_match)


@pytest.fixture(params=["aws", "minio"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> ObjectStore:
    kind = LocalStore if request.param == "aws" else MinioConditionalStore
    return kind(tmp_path / "target")


def test_wrapper_writes_on_if_match_of_a_missing_key_like_minio(tmp_path: Path) -> None:
    minio = MinioConditionalStore(tmp_path / "m")
    minio.put("k", b"v", if_match="stale")
    assert minio.get("k").data == b"v"
    with pytest.raises(PreconditionFailedError):
        LocalStore(tmp_path / "a").put("k", b"v", if_match="stale")  # AWS-like: refused


def test_lock_never_has_two_holders_when_renewed_after_someone_deleted_it(
    store: ObjectStore,
) -> None:
    lock = RunLock(store, LAYOUT, ttl_seconds=600)
    lease = lock.acquire("run-a")
    store.delete(LAYOUT.lock_key)  # "delete the lock if that run is gone", but run-a lives
    try:
        lease = lock.renew(lease)  # MinIO: run-a's own lease is written back
    except LockHeldError:
        lease = lock.acquire("run-a")  # AWS: renewal refused; run-a stops or takes it anew
    with pytest.raises(LockHeldError):
        lock.acquire("run-b")  # either way, one holder at a time
    lock.release(lease)
    assert lock.acquire("run-b").run_id == "run-b"


def test_renewal_fails_when_another_run_took_the_lock(store: ObjectStore) -> None:
    lock = RunLock(store, LAYOUT, ttl_seconds=600)
    lease = lock.acquire("run-a")
    store.delete(LAYOUT.lock_key)
    lock.acquire("run-b")
    with pytest.raises(LockHeldError, match="lost its lock"):
        lock.renew(lease)  # If-Match on an existing, different ETag: refused on MinIO too


class LostAnswerStore(LocalStore):
    """The local adapter that writes the first conditional write of a kind (`lose`: create or
    if-match), then reports its condition lost: what a client sees when a write's answer is lost
    and its repeat finds the object changed."""

    def __init__(self, root: Path, lose: str) -> None:
        super().__init__(root)
        self.lose, self.lost = lose, False

    def put(
        self,
        key: str,
        data: bytes,
        *,
        if_match: str | None = None,
        if_none_match: bool = False,
    ) -> str:
        etag = super().put(key, data, if_match=if_match, if_none_match=if_none_match)
        kind = "create" if if_none_match else "if-match" if if_match is not None else None
        if kind == self.lose and not self.lost:
            self.lost = True
            raise PreconditionFailedError(f"{self.location(key)} changed")
        return etag


def test_a_lock_whose_create_answer_was_lost_is_taken_by_its_own_run(tmp_path: Path) -> None:
    store = LostAnswerStore(tmp_path / "target", lose="create")
    lock = RunLock(store, LAYOUT, ttl_seconds=600)

    lease = lock.acquire("run-a")

    assert store.lost and lease.etag == store.get(LAYOUT.lock_key).etag
    with pytest.raises(LockHeldError):
        RunLock(store, LAYOUT, ttl_seconds=600).acquire("run-b")


def test_a_renewal_whose_answer_was_lost_keeps_the_lock(tmp_path: Path) -> None:
    store = LostAnswerStore(tmp_path / "target", lose="if-match")
    lock = RunLock(store, LAYOUT, ttl_seconds=600)
    lease = lock.acquire("run-a")

    renewed = lock.renew(lease)

    assert store.lost and renewed.etag == store.get(LAYOUT.lock_key).etag != lease.etag
    lock.release(renewed)
    assert lock.acquire("run-b").run_id == "run-b"


def test_a_lost_condition_over_someone_elses_lock_is_still_lost(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "target")
    lock = RunLock(store, LAYOUT, ttl_seconds=600)
    lease = lock.acquire("run-a")
    store.delete(LAYOUT.lock_key)
    lock.acquire("run-b")

    with pytest.raises(LockHeldError, match="lost its lock"):
        lock.renew(lease)


def _record(day: dt.date) -> DateRecord:
    return DateRecord(day, State.DONE, "fp", "ifp", row_count=10, run_id="r")


def test_meta_rebuild_loses_no_date_when_the_meta_file_vanishes_between_read_and_write(
    store: ObjectStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    jobs = DateRecords(store, LAYOUT)
    jobs.write(_record(DAY))
    jobs.rebuild_meta()
    jobs.write(_record(DAY + dt.timedelta(days=1)))
    real_load = jobs.load

    def load_then_meta_vanishes() -> dict[dt.date, tuple[DateRecord, str]]:
        records = real_load()
        store.delete(LAYOUT.meta_key)  # e.g. an operator removes it while a run rebuilds it
        return records

    monkeypatch.setattr(jobs, "load", load_then_meta_vanishes)
    records = jobs.rebuild_meta()  # MinIO writes through If-Match; AWS retries with If-None-Match
    monkeypatch.undo()
    assert set(records) == {DAY, DAY + dt.timedelta(days=1)}
    assert set(jobs.load()) == {DAY, DAY + dt.timedelta(days=1)}


def test_a_forgotten_date_is_not_brought_back_by_a_stale_meta_file(store: ObjectStore) -> None:
    jobs = DateRecords(store, LAYOUT)
    jobs.write(_record(DAY))
    jobs.write(_record(DAY + dt.timedelta(days=1)))
    jobs.rebuild_meta()
    store.delete(LAYOUT.record_key(DAY))  # the date's record is removed: it must be redone
    assert set(jobs.load()) == {DAY + dt.timedelta(days=1)}  # records decide, the meta is a cache
    jobs.rebuild_meta()
    assert DAY.isoformat() not in store.get(LAYOUT.meta_key).data.decode()
