"""What only the S3 adapter has: a bucket prefix, an endpoint, and a network that can fail.

Runs against both real servers (moto and SeaweedFS); the unreachable endpoint needs no server.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.s3servers import S3Bucket, S3Server, closed_port, new_bucket_name
from xetra_etl.common.adapters.storage import ObjectStore, open_store
from xetra_etl.common.adapters.storage.s3 import S3Store, make_client
from xetra_etl.common.infra.errors import (
    ExitCode,
    ObjectNotFoundError,
    StorageError,
    StorageTransientError,
    XetraEtlError,
)

Operation = Callable[[ObjectStore], object]

OPERATIONS: dict[str, Operation] = {
    "get": lambda store: store.get("date=2024-01-02/report.parquet"),
    "put": lambda store: store.put("date=2024-01-02/report.parquet", b"x"),
    "put_if_none_match": lambda store: store.put("lock", b"x", if_none_match=True),
    "list": lambda store: list(store.list("date=")),
    "delete": lambda store: store.delete("date=2024-01-02/report.parquet"),
}


@pytest.fixture
def bucket(s3_server: S3Server) -> S3Bucket:
    return S3Bucket(s3_server, s3_server.make_bucket())


@pytest.fixture
def opened() -> Iterator[list[S3Store]]:
    """Stores a test opens itself; their clients are closed afterwards."""
    stores: list[S3Store] = []
    yield stores
    for store in stores:
        store.client.close()


def _open(opened: list[S3Store], uri: str, endpoint_url: str | None) -> S3Store:
    store = open_store(uri, endpoint_url=endpoint_url)
    assert isinstance(store, S3Store)
    opened.append(store)
    return store


def test_s3_store_writes_under_its_prefix_when_given_relative_keys(
    bucket: S3Bucket, opened: list[S3Store]
) -> None:
    store = _open(opened, bucket.uri("root/pfx"), bucket.server.endpoint_url)

    store.put("date=2024-01-02/report.parquet", b"x")

    assert bucket.keys() == ["root/pfx/date=2024-01-02/report.parquet"]


def test_s3_store_lists_only_its_prefix_when_neighbours_share_a_string_prefix(
    bucket: S3Bucket, opened: list[S3Store]
) -> None:
    admin = bucket.server.admin
    for key in ["root/pfx", "root/pfxx/k", "root/pf/k", "root/k", "other/root/pfx/k"]:
        admin.put_object(Bucket=bucket.name, Key=key, Body=b"neighbour")
    store = _open(opened, bucket.uri("root/pfx"), bucket.server.endpoint_url)
    store.put("k", b"mine")

    assert [info.key for info in store.list()] == ["k"]
    assert [info.key for info in store.list("", start_after="a")] == ["k"]
    with pytest.raises(ObjectNotFoundError):
        store.get("x/k")


@pytest.mark.parametrize("uri_prefix", ["", "root/pfx/", "/root/pfx"])
def test_s3_store_round_trips_when_uri_prefix_is_empty_or_slashed(
    bucket: S3Bucket, opened: list[S3Store], uri_prefix: str
) -> None:
    store = _open(opened, f"s3://{bucket.name}/{uri_prefix}", bucket.server.endpoint_url)
    root = uri_prefix.strip("/")

    etag = store.put("a/b", b"1")

    assert store.get("a/b").data == b"1"
    assert [(i.key, i.etag) for i in store.list()] == [("a/b", etag)]
    assert bucket.keys() == [f"{root}/a/b" if root else "a/b"]
    assert store.location("a/b") == f"s3://{bucket.name}/{root + '/' if root else ''}a/b"


def test_open_store_uses_endpoint_from_environment_when_none_given(
    bucket: S3Bucket, opened: list[S3Store], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Steps in pods get the endpoint as AWS_ENDPOINT_URL, not as an argument.
    monkeypatch.setenv("AWS_ENDPOINT_URL", bucket.server.endpoint_url)
    store = _open(opened, bucket.uri("root/pfx"), None)

    store.put("k", b"1")

    assert store.get("k").data == b"1"
    assert bucket.keys() == ["root/pfx/k"]


def test_s3_bucket_env_lets_a_subprocess_write_when_passed_to_it(s3_bucket: S3Bucket) -> None:
    # What end-to-end tests do with a console script: only the environment points it at the
    # server, as in a pod.
    script = (
        "import sys; from xetra_etl.common.adapters.storage import open_store; "
        "open_store(sys.argv[1]).put('from-subprocess', b'ok')"
    )
    env = {**os.environ, **s3_bucket.env()}

    subprocess.run(
        [sys.executable, "-c", script, s3_bucket.uri("target")],
        env=env,
        cwd=Path(__file__).resolve().parents[2],
        check=True,
        timeout=60,
    )

    assert s3_bucket.keys() == ["target/from-subprocess"]


@pytest.mark.parametrize("operation", ["delete", "get", "list", "put"])
def test_s3_store_raises_transient_error_when_endpoint_unreachable(
    operation: str, aws_test_env: dict[str, str]
) -> None:
    client = make_client(
        f"http://127.0.0.1:{closed_port()}", max_attempts=2, connect_timeout=1, read_timeout=2
    )
    store = S3Store("xetra-bucket", "root/pfx", client)
    try:
        with pytest.raises(StorageTransientError) as caught:
            OPERATIONS[operation](store)
    finally:
        client.close()

    assert caught.value.exit_code == ExitCode.TEMPORARY
    assert int(caught.value.exit_code) == 75
    assert caught.value.exit_code == ExitCode.TEMPORARY
    assert "s3://xetra-bucket/root/pfx/" in str(caught.value)


@pytest.mark.parametrize("operation", sorted(OPERATIONS))
def test_s3_store_raises_storage_error_when_bucket_missing(
    s3_server: S3Server, operation: str
) -> None:
    missing = new_bucket_name("missing")
    store = S3Store(missing, "root/pfx", s3_server.admin)

    with pytest.raises(XetraEtlError) as caught:
        OPERATIONS[operation](store)

    # Not "object not found" (exit 66, "the earlier step did not run"): the config is wrong.
    assert type(caught.value) is StorageError
    assert caught.value.exit_code == ExitCode.CONFIG
    assert caught.value.exit_code != ExitCode.TEMPORARY
    assert missing in str(caught.value)


def test_a_target_on_the_source_endpoint_shares_its_client(
    bucket: S3Bucket, opened: list[S3Store]
) -> None:
    source = _open(opened, bucket.uri("src"), bucket.server.endpoint_url)
    same = open_store(bucket.uri("tgt"), endpoint_url=bucket.server.endpoint_url, share_with=source)
    other = open_store(bucket.uri("tgt"), endpoint_url=None, share_with=source)
    assert isinstance(same, S3Store) and isinstance(other, S3Store)
    opened.append(other)

    same.put("k", b"1")

    assert same.client is source.client
    assert other.client is not source.client  # another endpoint setting: a client of its own
    assert bucket.keys() == ["tgt/k"]


def test_listing_timestamps_are_parsed_without_dateutil() -> None:
    from xetra_etl.common.adapters.storage.s3 import _parse_timestamp

    assert _parse_timestamp("2021-01-04T08:00:00.000Z") == dt.datetime(2021, 1, 4, 8, tzinfo=dt.UTC)
    # HTTP dates (headers) still go to botocore's own parser.
    assert _parse_timestamp("Mon, 04 Jan 2021 08:00:00 GMT") == dt.datetime(
        2021, 1, 4, 8, tzinfo=dt.UTC
    )


def test_the_s3_adapters_import_neither_boto3_nor_its_transfer_manager() -> None:
    script = (
        "import sys\n"
        "import xetra_etl.common.adapters.storage.s3, xetra_etl.common.adapters.storage.s3_reads\n"
        "print(sorted(m for m in ('boto3', 's3transfer') if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == "[]"


def test_fast_reads_without_credentials_fail_with_what_to_set(
    bucket: S3Bucket, opened: list[S3Store], monkeypatch: pytest.MonkeyPatch
) -> None:
    from xetra_etl.common.adapters.storage.s3_reads import object_reader

    store = _open(opened, bucket.uri("src"), bucket.server.endpoint_url)
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")

    with pytest.raises(StorageError, match="no AWS credentials found; set AWS_ACCESS_KEY_ID"):
        object_reader(store)


def test_fast_reads_take_keys_from_the_standard_chain(
    bucket: S3Bucket, opened: list[S3Store]
) -> None:
    from xetra_etl.common.adapters.storage.s3_reads import object_reader

    store = _open(opened, bucket.uri("src"), bucket.server.endpoint_url)
    store.put("2021-01-04/a.csv", b"ISIN\nX\n")

    body = object_reader(store)("2021-01-04/a.csv")

    assert body.read() == b"ISIN\nX\n"
