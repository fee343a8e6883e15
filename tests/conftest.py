"""Shared fixtures: real S3 servers (started once per session), fresh buckets and stores.

- `seaweedfs`, `moto_server`: session-wide `S3Server`s. `server.env()` is what a subprocess (a
  console script under test) needs: endpoint, test credentials and region.
- `s3_bucket`: a fresh bucket on SeaweedFS per test, for end-to-end runs.
- `s3_server`: parametrized over both servers, for tests of S3 behaviour.
- `store`: parametrized over every backend (local directory; moto and SeaweedFS, each through
  the botocore store and the obstore one), each a fresh, empty store. S3 stores live under a
  unique prefix `<id>/root/pfx` in one bucket per server, so prefix handling is exercised
  everywhere. `store_target` describes where a store lives;
  `open_store_again` opens another, independent instance of it.

Servers start lazily: a run that selects only local tests starts none.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.s3servers import (
    AWS_ENV_TO_CLEAR,
    S3Bucket,
    S3Server,
    StoreTarget,
    aws_env,
    new_bucket_name,
    running_moto,
    running_seaweedfs,
)
from xetra_etl.common.adapters.storage import ObjectStore
from xetra_etl.common.adapters.storage.local import LocalStore
from xetra_etl.common.adapters.storage.s3 import make_client

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

# A backend is a server and, for S3, the store class: "moto" is the botocore store on moto,
# "moto-obstore" the obstore store on the same server.
BACKENDS = ["local", "moto", "seaweedfs", "moto-obstore", "seaweedfs-obstore"]
S3_BACKENDS = ["moto", "seaweedfs"]
S3_STORE_PREFIX = "root/pfx"


@pytest.fixture(scope="session")
def aws_test_env() -> Iterator[dict[str, str]]:
    """Test credentials and region for in-process clients, for the rest of the session.

    No endpoint is set here: tests pass it explicitly (or set it with `monkeypatch`), because two
    servers run side by side.
    """
    with pytest.MonkeyPatch.context() as patch:
        for name in AWS_ENV_TO_CLEAR:
            patch.delenv(name, raising=False)
        env = aws_env()
        for name, value in env.items():
            patch.setenv(name, value)
        yield env


@pytest.fixture(scope="session")
def seaweedfs(
    aws_test_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[S3Server]:
    # Its data is throwaway: do not wait long for a graceful shutdown.
    with running_seaweedfs(tmp_path_factory.mktemp("seaweedfs"), stop_timeout=0.5) as server:
        yield server


@pytest.fixture(scope="session")
def moto_server(
    aws_test_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[S3Server]:
    with running_moto(tmp_path_factory.mktemp("moto")) as server:
        yield server


@pytest.fixture(params=S3_BACKENDS)
def s3_server(request: pytest.FixtureRequest) -> S3Server:
    """Each real S3 server in turn."""
    return _server(request, request.param)


@pytest.fixture
def s3_bucket(seaweedfs: S3Server) -> S3Bucket:
    """A fresh, empty bucket on SeaweedFS."""
    return S3Bucket(seaweedfs, seaweedfs.make_bucket())


class _SharedS3:
    """Per server: one adapter client and one bucket, shared by every `store` of the session.

    Each `store` gets its own unique prefix in that bucket, which isolates tests as well as a
    bucket would: a fresh bucket costs a volume allocation on SeaweedFS (about 0.2 s) and a
    client about 70 ms, which for ~100 store tests is most of the suite's time. Tests about
    whole buckets use `s3_bucket` or their own fresh bucket.
    """

    def __init__(self) -> None:
        self._clients: dict[str, S3Client] = {}
        self._buckets: dict[str, str] = {}

    def get(self, server: S3Server) -> tuple[S3Client, str]:
        if server.kind not in self._clients:
            self._clients[server.kind] = make_client(server.endpoint_url)
            self._buckets[server.kind] = server.make_bucket(new_bucket_name("contract"))
        return self._clients[server.kind], self._buckets[server.kind]

    def close(self) -> None:
        for client in self._clients.values():
            client.close()
        self._clients.clear()


@pytest.fixture(scope="session")
def _shared_s3() -> Iterator[_SharedS3]:
    shared = _SharedS3()
    try:
        yield shared
    finally:
        shared.close()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def store_target(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[StoreTarget]:
    if backend == "local":
        root = tmp_path / "store"  # not created: a store must work from a missing directory
        target = StoreTarget(backend, str(root), root=root)
    else:
        server = _server(request, backend)
        shared: _SharedS3 = request.getfixturevalue("_shared_s3")
        _, bucket = shared.get(server)
        prefix = f"{new_bucket_name('t')}/{S3_STORE_PREFIX}"
        target = StoreTarget(
            backend, f"s3://{bucket}/{prefix}", server=server, bucket=bucket, prefix=prefix
        )
    try:
        yield target
    finally:
        target.close()


@pytest.fixture
def open_store_again(store_target: StoreTarget) -> Callable[[], ObjectStore]:
    """Open another, independent instance of the test store (own client, own lock handle)."""
    return store_target.open


@pytest.fixture
def store(store_target: StoreTarget, request: pytest.FixtureRequest) -> ObjectStore:
    """A fresh, empty store on each backend."""
    if store_target.server is None:
        return LocalStore(store_target.uri)
    shared: _SharedS3 = request.getfixturevalue("_shared_s3")
    client, _ = shared.get(store_target.server)
    return store_target.make(client)


def _server(request: pytest.FixtureRequest, backend: str) -> S3Server:
    fixture = {"moto": "moto_server", "seaweedfs": "seaweedfs"}[backend.removesuffix("-obstore")]
    server = request.getfixturevalue(fixture)
    assert isinstance(server, S3Server)
    return server
