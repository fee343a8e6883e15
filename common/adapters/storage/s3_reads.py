"""Bulk object reads from S3 through obstore (Rust's object_store), for the source reader.

A GET through botocore costs ~6 ms of Python CPU; through obstore about half (bench/bare_read.py,
README Performance). Everything else stays on botocore: listings, writes, the conditional writes of
job control. Imported only when a date is first read from S3, so no other import pays for it.

Kept from the botocore client of the store: its endpoint (the config's, or `AWS_ENDPOINT_URL`) and
region; the standard AWS credential chain (obstore asks botocore for the keys, and again before
they expire); the retry budget (`AWS_MAX_ATTEMPTS`: 5xx, SlowDown, resets and timeouts are
retried with backoff) and the socket timeouts (`XETRA_S3_CONNECT_TIMEOUT`,
`XETRA_S3_READ_TIMEOUT`). What still fails is translated into the project's errors like the
store's own.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from typing import TYPE_CHECKING

import botocore.credentials
import botocore.session
import obstore
from obstore.exceptions import BaseError, PermissionDeniedError, UnauthenticatedError
from obstore.store import S3Store as RustS3Store

from xetra_etl.common.infra.errors import (
    ObjectNotFoundError,
    StorageError,
    StorageTransientError,
    XetraEtlError,
)

if TYPE_CHECKING:
    from obstore.store import S3Credential

    from xetra_etl.common.adapters.storage.s3 import S3Store

_CREDENTIALS_TTL = dt.timedelta(minutes=30)  # then obstore asks again (refreshable keys renew)


class Body:
    """An object's bytes as obstore holds them, read like a file: copied once, into the
    caller's buffer (`readinto`), never into a `bytes` of their own first."""

    def __init__(self, data: obstore.Bytes) -> None:
        self._view = memoryview(data)
        self._at = 0

    def read(self, size: int = -1, /) -> bytes:
        end = len(self._view) if size < 0 else min(self._at + size, len(self._view))
        chunk = bytes(self._view[self._at : end])
        self._at = end
        return chunk

    def readinto(self, buffer: memoryview, /) -> int:
        count = min(len(buffer), len(self._view) - self._at)
        buffer[:count] = self._view[self._at : self._at + count]
        self._at += count
        return count

    def close(self) -> None:
        self._view.release()


def object_reader(store: S3Store) -> Callable[[str], Body]:
    """A function that reads one object of `store` (a key relative to its root), thread-safe."""
    meta = store.client.meta
    attempts = int(os.environ.get("AWS_MAX_ATTEMPTS", "8"))
    seconds = {
        "connect_timeout": float(os.environ.get("XETRA_S3_CONNECT_TIMEOUT", "5")),
        "read_timeout": float(os.environ.get("XETRA_S3_READ_TIMEOUT", "30")),
    }
    endpoint = meta.endpoint_url
    fast = RustS3Store(
        store.bucket,
        endpoint=endpoint,
        region=meta.region_name or "us-east-1",
        credential_provider=_Credentials(store.location("")),
        client_options={
            "allow_http": endpoint.startswith("http:"),
            "connect_timeout": dt.timedelta(seconds=seconds["connect_timeout"]),
            "read_timeout": dt.timedelta(seconds=seconds["read_timeout"]),
        },
        retry_config={"max_retries": max(attempts - 1, 0)},
    )

    def read(key: str) -> Body:
        try:
            return Body(obstore.get(fast, store.full_key(key)).bytes())
        except (BaseError, OSError) as exc:  # a missing object is a FileNotFoundError
            raise _translate(exc, store.location(key)) from exc

    return read


class _Credentials:
    """obstore's credential callback over botocore's standard chain, the store client's own:
    environment, profiles, SSO, web identity, instance metadata. (obstore's boto3 provider
    would import boto3 for this alone.)"""

    def __init__(self, location: str) -> None:
        credentials = botocore.session.get_session().get_credentials()
        if credentials is None:
            raise StorageError(
                f"reading {location}: no AWS credentials found; set AWS_ACCESS_KEY_ID and "
                "AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or run where a role provides them"
            )
        self._credentials: botocore.credentials.Credentials = credentials

    def __call__(self) -> S3Credential:
        frozen = self._credentials.get_frozen_credentials()
        return {
            "access_key_id": frozen.access_key or "",
            "secret_access_key": frozen.secret_key or "",
            "token": frozen.token,
            "expires_at": dt.datetime.now(dt.UTC) + _CREDENTIALS_TTL,
        }


def _translate(exc: Exception, location: str) -> XetraEtlError:
    if isinstance(exc, FileNotFoundError):
        return ObjectNotFoundError(location)
    if isinstance(exc, PermissionDeniedError | UnauthenticatedError | PermissionError):
        return StorageError(f"reading {location}: {exc}")
    text = str(exc)
    if "Client error" in text and "status 5" not in text:  # a 4xx answer: a retry cannot help
        return StorageError(f"reading {location}: {_first_line(text)}")
    return StorageTransientError(
        f"reading {location}: {_first_line(text)}, still failing after retries"
    )


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else "error"
