"""What only the local-directory adapter has: a filesystem root that keys must not leave."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from xetra_etl.common.adapters.storage import open_store
from xetra_etl.common.adapters.storage.local import LocalStore
from xetra_etl.common.infra.errors import ExitCode, StorageError

ESCAPING_KEYS = ["../x", "a/../../x", "../store-sibling/x", "/etc/passwd"]

OPERATIONS: dict[str, Callable[[LocalStore, str], object]] = {
    "get": lambda store, key: store.get(key),
    "put": lambda store, key: store.put(key, b"x"),
    "put_if_none_match": lambda store, key: store.put(key, b"x", if_none_match=True),
    "delete": lambda store, key: store.delete(key),
}


@pytest.fixture
def local(tmp_path: Path) -> LocalStore:
    store = open_store(str(tmp_path / "store"))
    assert isinstance(store, LocalStore)
    return store


@pytest.mark.parametrize("operation", sorted(OPERATIONS))
@pytest.mark.parametrize("key", ESCAPING_KEYS)
def test_local_store_raises_storage_error_when_key_escapes_root(
    local: LocalStore, tmp_path: Path, operation: str, key: str
) -> None:
    with pytest.raises(StorageError) as caught:
        OPERATIONS[operation](local, key)

    assert caught.value.exit_code == ExitCode.CONFIG
    assert not (tmp_path / "x").exists()
    assert not (tmp_path / "store-sibling").exists()


def test_local_store_accepts_dotted_names_when_they_stay_inside_root(local: LocalStore) -> None:
    local.put("a/../b/..c", b"1")

    assert local.get("b/..c").data == b"1"
    assert [info.key for info in local.list()] == ["b/..c"]


def test_open_store_opens_local_directory_when_uri_is_file_url(tmp_path: Path) -> None:
    store = open_store(f"file://{tmp_path}/store")
    store.put("k", b"1")

    assert (tmp_path / "store" / "k").read_bytes() == b"1"
    assert store.location("k") == str(tmp_path.resolve() / "store" / "k")


def test_local_store_removes_empty_directories_when_last_key_deleted(local: LocalStore) -> None:
    local.put("date=2024-01-02/part/report.parquet", b"x")

    local.delete("date=2024-01-02/part/report.parquet")

    assert not (local.root / "date=2024-01-02").exists()
    assert local.root.is_dir()


def test_local_store_lists_no_scratch_files_when_scratch_is_under_a_prefix(
    tmp_path: Path,
) -> None:
    root = tmp_path / "store"
    store = open_store(str(root), scratch="staging/.xetra-tmp")
    etag = store.put("staging/a", b"1", if_none_match=True)
    store.put("staging/a", b"2", if_match=etag)
    store.put("out/b", b"3")

    assert (root / "staging" / ".xetra-tmp").is_dir()  # or this test proves nothing
    assert [info.key for info in store.list()] == ["out/b", "staging/a"]
    assert [info.key for info in store.list("staging/")] == ["staging/a"]
    assert [info.key for info in store.list("staging/.")] == []


def test_local_store_raises_storage_error_when_key_needs_a_file_as_directory(
    local: LocalStore,
) -> None:
    # S3 can hold both `a` and `a/b`; a directory cannot. The adapter must say so in its own
    # error (with the location), not leak an OSError that maps to "bug" (exit 70).
    local.put("a", b"file")

    with pytest.raises(StorageError):
        local.put("a/b", b"x")
