"""What only the S3 adapters have: a bucket prefix, an endpoint, credentials, and a network that
can fail.

Runs each store class (botocore's, obstore's) against both real servers (moto and SeaweedFS); the
unreachable endpoint needs no server.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.faultproxy import FaultPlan, fault_proxy
from tests.s3servers import S3Bucket, S3Server, closed_port, new_bucket_name
from xetra_etl.common.adapters.storage import ObjectStore, factory, open_store
from xetra_etl.common.adapters.storage.s3 import S3Store, make_client
from xetra_etl.common.adapters.storage.s3_obstore import ObstoreS3Store
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
Opener = Callable[[str, "str | None"], ObjectStore]


@pytest.fixture
def bucket(s3_server: S3Server) -> S3Bucket:
    return S3Bucket(s3_server, s3_server.make_bucket())


@pytest.fixture(params=["botocore", "obstore"])
def open_s3(request: pytest.FixtureRequest) -> Iterator[Opener]:
    """Opens a store of one S3 class for a URI and endpoint; botocore clients closed after."""
    clients = []

    def opener(uri: str, endpoint_url: str | None) -> ObjectStore:
        bucket, _, prefix = uri.removeprefix("s3://").partition("/")
        if request.param == "obstore":
            return ObstoreS3Store(bucket, prefix, endpoint_url)
        clients.append(make_client(endpoint_url))
        return S3Store(bucket, prefix, clients[-1])

    yield opener
    for client in clients:
        client.close()


def test_s3_store_writes_under_its_prefix_when_given_relative_keys(
    bucket: S3Bucket, open_s3: Opener
) -> None:
    store = open_s3(bucket.uri("root/pfx"), bucket.server.endpoint_url)

    store.put("date=2024-01-02/report.parquet", b"x")

    assert bucket.keys() == ["root/pfx/date=2024-01-02/report.parquet"]


def test_s3_store_lists_only_its_prefix_when_neighbours_share_a_string_prefix(
    bucket: S3Bucket, open_s3: Opener
) -> None:
    admin = bucket.server.admin
    for key in ["root/pfx", "root/pfxx/k", "root/pf/k", "root/k", "other/root/pfx/k"]:
        admin.put_object(Bucket=bucket.name, Key=key, Body=b"neighbour")
    store = open_s3(bucket.uri("root/pfx"), bucket.server.endpoint_url)
    store.put("k", b"mine")

    assert [info.key for info in store.list()] == ["k"]
    assert [info.key for info in store.list("", start_after="a")] == ["k"]
    with pytest.raises(ObjectNotFoundError):
        store.get("x/k")


@pytest.mark.parametrize("uri_prefix", ["", "root/pfx/", "/root/pfx"])
def test_s3_store_round_trips_when_uri_prefix_is_empty_or_slashed(
    bucket: S3Bucket, open_s3: Opener, uri_prefix: str
) -> None:
    store = open_s3(f"s3://{bucket.name}/{uri_prefix}", bucket.server.endpoint_url)
    root = uri_prefix.strip("/")

    etag = store.put("a/b", b"1")

    assert store.get("a/b").data == b"1"
    assert [(i.key, i.etag) for i in store.list()] == [("a/b", etag)]
    assert bucket.keys() == [f"{root}/a/b" if root else "a/b"]
    assert store.location("a/b") == f"s3://{bucket.name}/{root + '/' if root else ''}a/b"


def test_open_store_uses_endpoint_from_environment_when_none_given(
    bucket: S3Bucket, open_s3: Opener, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Steps in pods get the endpoint as AWS_ENDPOINT_URL, not as an argument.
    monkeypatch.setenv("AWS_ENDPOINT_URL", bucket.server.endpoint_url)
    store = open_s3(bucket.uri("root/pfx"), None)

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
    operation: str, open_s3: Opener, monkeypatch: pytest.MonkeyPatch, aws_test_env: dict[str, str]
) -> None:
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "2")
    monkeypatch.setenv("XETRA_S3_CONNECT_TIMEOUT", "1")
    monkeypatch.setenv("XETRA_S3_READ_TIMEOUT", "2")
    store = open_s3("s3://xetra-bucket/root/pfx", f"http://127.0.0.1:{closed_port()}")

    with pytest.raises(StorageTransientError) as caught:
        OPERATIONS[operation](store)

    assert caught.value.exit_code == ExitCode.TEMPORARY
    assert int(caught.value.exit_code) == 75
    assert "s3://xetra-bucket/root/pfx/" in str(caught.value)


# Timeouts cost seconds each: only for the requests obstore does not repeat by itself.
RETRIED = [
    *((op, fault) for op in [*OPERATIONS, "put_if_match"] for fault in ("reset", "503")),
    *((operation, "timeout") for operation in ("put_if_none_match", "put_if_match", "delete")),
]


@pytest.mark.parametrize(("operation", "fault"), RETRIED)
def test_s3_store_retries_every_operation_through_passing_faults(
    s3_bucket: S3Bucket,
    open_s3: Opener,
    operation: str,
    fault: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # obstore itself repeats neither a conditional write nor a delete that got no answer. The
    # retries are the client's: one server will do.
    bucket = s3_bucket
    monkeypatch.setenv("XETRA_S3_READ_TIMEOUT", "1")
    admin, key = bucket.server.admin, "root/pfx/date=2024-01-02/report.parquet"
    etag = admin.put_object(Bucket=bucket.name, Key=key, Body=b"x")["ETag"]
    if operation == "put_if_none_match":
        admin.delete_object(Bucket=bucket.name, Key="root/pfx/lock")
    plan = FaultPlan(
        kinds=(fault,), only_paths_containing=bucket.name, limit=1, timeout_seconds=1.5
    )
    with fault_proxy(bucket.server.endpoint_url, plan) as proxy:
        store = open_s3(bucket.uri("root/pfx"), proxy)

        if operation == "put_if_match":
            store.put("date=2024-01-02/report.parquet", b"y", if_match=etag)
        else:
            OPERATIONS[operation](store)

    assert plan.counts["faults"] == 1


@pytest.mark.parametrize("operation", sorted(OPERATIONS))
def test_s3_store_raises_storage_error_when_bucket_missing(
    s3_server: S3Server, open_s3: Opener, operation: str
) -> None:
    missing = new_bucket_name("missing")
    store = open_s3(f"s3://{missing}/root/pfx", s3_server.endpoint_url)

    with pytest.raises(XetraEtlError) as caught:
        OPERATIONS[operation](store)

    # Not "object not found" (exit 66, "the earlier step did not run"): the config is wrong.
    assert type(caught.value) is StorageError
    assert caught.value.exit_code == ExitCode.CONFIG
    assert caught.value.exit_code != ExitCode.TEMPORARY
    assert missing in str(caught.value)


def test_open_store_takes_obstore_where_installed_else_botocore(
    bucket: S3Bucket, monkeypatch: pytest.MonkeyPatch
) -> None:
    endpoint = bucket.server.endpoint_url
    assert isinstance(open_store(bucket.uri("a"), endpoint_url=endpoint), ObstoreS3Store)

    monkeypatch.setattr(factory, "obstore_installed", lambda: False)  # as in a control image
    store = open_store(bucket.uri("a"), endpoint_url=endpoint)
    assert isinstance(store, S3Store)
    store.client.close()


def test_a_botocore_target_on_the_source_endpoint_shares_its_client(
    bucket: S3Bucket, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(factory, "obstore_installed", lambda: False)
    endpoint = bucket.server.endpoint_url
    source = open_store(bucket.uri("src"), endpoint_url=endpoint)
    same = open_store(bucket.uri("tgt"), endpoint_url=endpoint, share_with=source)
    other = open_store(bucket.uri("tgt"), endpoint_url=None, share_with=source)
    assert isinstance(source, S3Store) and isinstance(same, S3Store)
    assert isinstance(other, S3Store)

    same.put("k", b"1")

    assert same.client is source.client
    assert other.client is not source.client  # another endpoint setting: a client of its own
    assert bucket.keys() == ["tgt/k"]
    source.client.close()
    other.client.close()


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
        "import xetra_etl.common.adapters.storage.s3\n"
        "import xetra_etl.common.adapters.storage.s3_obstore\n"
        "print(sorted(m for m in ('boto3', 's3transfer') if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == "[]"


def test_with_keys_in_the_environment_s3_needs_no_botocore(s3_bucket: S3Bucket) -> None:
    # What a data step on S3 pays at start: obstore's import, not botocore's and its client.
    script = (
        "import sys\n"
        "from xetra_etl.common.adapters.storage import open_store\n"
        "store = open_store(sys.argv[1])\n"
        "store.put('k', b'1'); assert [i.key for i in store.list()] == ['k']\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('botocore', 'boto3')))\n"
    )
    env = {**os.environ, **s3_bucket.env()}
    done = subprocess.run(
        [sys.executable, "-c", script, s3_bucket.uri("x")],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert done.stdout.strip() == "[]"


def _no_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "missing-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "missing-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def test_obstore_store_without_credentials_fails_with_what_to_set(
    bucket: S3Bucket, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _no_credentials(monkeypatch, tmp_path)

    with pytest.raises(StorageError, match="no AWS credentials found; set AWS_ACCESS_KEY_ID"):
        ObstoreS3Store(bucket.name, "src", bucket.server.endpoint_url)


def test_obstore_store_takes_a_profile_through_the_standard_chain(
    bucket: S3Bucket, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    keys = {name: os.environ[name] for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
    _no_credentials(monkeypatch, tmp_path)
    credentials = tmp_path / "credentials"
    credentials.write_text(
        "[etl]\n"
        f"aws_access_key_id = {keys['AWS_ACCESS_KEY_ID']}\n"
        f"aws_secret_access_key = {keys['AWS_SECRET_ACCESS_KEY']}\n"
    )
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
    monkeypatch.setenv("AWS_PROFILE", "etl")
    monkeypatch.setenv("AWS_ENDPOINT_URL", bucket.server.endpoint_url)

    store = ObstoreS3Store(bucket.name, "src", None)
    store.put("2021-01-04/a.csv", b"ISIN\nX\n")

    assert store.open_object("2021-01-04/a.csv").read() == b"ISIN\nX\n"
    assert bucket.keys() == ["src/2021-01-04/a.csv"]


def test_both_stores_see_the_same_keys_and_etags(bucket: S3Bucket) -> None:
    # Recorded fingerprints are built from listed ETags: a store that quoted or encoded them
    # differently would make every recorded date look changed after an upgrade.
    endpoint = bucket.server.endpoint_url
    client = make_client(endpoint)
    botocore_store = S3Store(bucket.name, "root", client)
    obstore_store = ObstoreS3Store(bucket.name, "root", endpoint)
    keys = ["date=2021-01-04/part-0.parquet", "a b+c%20d.csv", "ä/ß.json", "x/~y"]
    for index, key in enumerate(keys):
        writer = botocore_store if index % 2 else obstore_store
        writer.put(key, key.encode())

    stores = (botocore_store, obstore_store)
    seen = [list(store.list()) for store in stores]
    gets = [[(blob.data, blob.etag) for blob in map(store.get, keys)] for store in stores]

    assert seen[0] == seen[1] and sorted(info.key for info in seen[0]) == sorted(keys)
    assert gets[0] == gets[1]
    assert all(info.etag.startswith('"') for info in seen[0])
    client.close()
