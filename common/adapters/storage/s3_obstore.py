"""S3 (or any S3-compatible endpoint) as an object store, through obstore (Rust's object_store).

The store of every process that has obstore (the data images, a development install): a GET
costs less CPU than botocore's, and with keys in the environment no botocore is imported at all
(docs/performance.md). The control images have no obstore and use the botocore store
(`s3.py`); one contract suite holds both to the same behaviour.

Configured as the botocore store is:
- endpoint: the config's, else `AWS_ENDPOINT_URL_S3` or `AWS_ENDPOINT_URL`; path-style requests
  on a custom endpoint, virtual-hosted ones on AWS;
- region: the config's, else `AWS_REGION` or `AWS_DEFAULT_REGION` (else us-east-1);
- anonymous (the config's `source.anonymous`): unsigned requests, no credentials looked up;
- credentials: keys in the environment (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
  `AWS_SESSION_TOKEN`) are used as they are. With a profile, an AWS config file, web identity or
  an instance role instead, botocore's standard chain resolves the endpoint, region and keys,
  as the botocore store would, and obstore asks it again before the keys expire;
- retries: `AWS_MAX_ATTEMPTS` attempts with backoff for 5xx, SlowDown, resets and timeouts;
  socket timeouts `XETRA_S3_CONNECT_TIMEOUT` and `XETRA_S3_READ_TIMEOUT` (seconds).

What still fails is translated into the project's errors, as the botocore store does.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import obstore
from obstore.exceptions import (
    AlreadyExistsError,
    BaseError,
    PermissionDeniedError,
    PreconditionError,
    UnauthenticatedError,
)
from obstore.store import S3Store as RustS3Store

from xetra_etl.common.adapters.storage.base import S3Keys
from xetra_etl.common.adapters.storage.translation import answer_error, translated
from xetra_etl.common.infra.errors import (
    ObjectNotFoundError,
    PreconditionFailedError,
    StorageError,
    StorageTransientError,
    XetraEtlError,
)
from xetra_etl.common.ports import Blob, ObjectInfo

if TYPE_CHECKING:
    import botocore.credentials
    from obstore import PutResult
    from obstore.store import ClientConfig, S3Credential

_CREDENTIALS_TTL = dt.timedelta(minutes=30)  # then obstore asks botocore again
T = TypeVar("T")


class ObstoreS3Store(S3Keys):
    def __init__(
        self,
        bucket: str,
        prefix: str,
        endpoint_url: str | None = None,
        *,
        region: str | None = None,
        anonymous: bool = False,
    ) -> None:
        super().__init__(bucket, prefix)
        self._store = _rust_store(
            bucket, endpoint_url, self.location(""), region=region, anonymous=anonymous
        )

    def list(self, prefix: str = "", *, start_after: str = "") -> Iterator[ObjectInfo]:
        root = self.root
        wanted = root + prefix
        after = root + start_after if start_after else ""
        # obstore lists whole path segments: ask for the folder `wanted` lies in, and keep the
        # keys that start with it as a plain string and sort after `start_after` as one (S3
        # compares StartAfter as a plain string, trailing "/" and all; obstore trims it).
        folder = wanted[: wanted.rfind("/") + 1]
        with _translated("listing", self.location(prefix)):
            for batch in obstore.list(self._store, folder or None, offset=after or None):
                for meta in batch:
                    key = meta["path"]
                    if key.startswith(wanted) and key > after:
                        yield ObjectInfo(key[len(root) :], meta["size"], meta["e_tag"] or "")

    def get(self, key: str) -> Blob:
        data, etag = self._get(key)
        return Blob(bytes(data), etag)

    def open_object(self, key: str) -> Body:
        """The object's bytes as obstore holds them, for a reader that copies them once."""
        return Body(self._get(key)[0])

    def _get(self, key: str) -> tuple[obstore.Bytes, str]:
        with _translated("reading", self.location(key)):
            result = obstore.get(self._store, self._key(key))
            return result.bytes(), result.meta["e_tag"] or ""

    def put(
        self,
        key: str,
        data: bytes,
        *,
        if_match: str | None = None,
        if_none_match: bool = False,
    ) -> str:
        mode: Any = "overwrite"
        if if_none_match:
            mode = "create"
        elif if_match is not None:
            mode = {"e_tag": if_match}
        full_key = self._key(key)

        def write() -> PutResult:
            return obstore.put(self._store, full_key, data, mode=mode)

        with _translated("writing", self.location(key), if_match=if_match):
            # obstore repeats a plain write itself
            result = write() if mode == "overwrite" else self._repeated(write)
        return result["e_tag"] or ""

    def delete(self, key: str) -> None:
        with _translated("deleting", self.location(key)):
            self._repeated(lambda: obstore.delete(self._store, self._key(key)))

    @staticmethod
    def _repeated(request: Callable[[], T]) -> T:
        """`request`, repeated while it gets no answer from the server.

        obstore repeats a failed request itself, except one whose sending failed (a reset
        connection) when it deems the request unsafe to repeat: a conditional write, and a
        delete (S3's batch delete, a POST). The fault proxy showed both. The botocore store
        repeats them, and so does this, with the same budget and a similar backoff.
        """
        for attempt in range(1, _attempts()):
            try:
                return request()
            except (BaseError, OSError) as exc:
                if not _unanswered(exc):
                    raise
            time.sleep(min(0.1 * 2**attempt, 5.0))
        return request()


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


def _attempts() -> int:
    return max(int(os.environ.get("AWS_MAX_ATTEMPTS", "8")), 1)


def _rust_store(
    bucket: str,
    endpoint_url: str | None,
    location: str,
    *,
    region: str | None = None,
    anonymous: bool = False,
) -> RustS3Store:
    options: ClientConfig = {
        "connect_timeout": dt.timedelta(
            seconds=float(os.environ.get("XETRA_S3_CONNECT_TIMEOUT", "5"))
        ),
        "read_timeout": dt.timedelta(seconds=float(os.environ.get("XETRA_S3_READ_TIMEOUT", "30"))),
    }
    if anonymous:
        settings = _anonymous_settings(endpoint_url, region)
    else:
        settings = _settings_from_environment(endpoint_url) or _settings_from_chain(
            endpoint_url, location, region
        )
    if region:
        settings["region"] = region
    endpoint = settings.pop("endpoint", None)  # obstore takes a given endpoint or none, not None
    if endpoint:
        settings["endpoint"] = endpoint
        options["allow_http"] = endpoint.startswith("http:")
    return RustS3Store(
        bucket,
        virtual_hosted_style_request=not endpoint,
        client_options=options,
        retry_config={"max_retries": _attempts() - 1},
        **settings,
    )


def _anonymous_settings(endpoint_url: str | None, region: str | None) -> dict[str, Any]:
    """Endpoint and region for unsigned requests; no credential is looked up anywhere."""
    env = os.environ
    return {
        "endpoint": endpoint_url or env.get("AWS_ENDPOINT_URL_S3") or env.get("AWS_ENDPOINT_URL"),
        "region": region or env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1",
        "skip_signature": True,
    }


def _settings_from_environment(endpoint_url: str | None) -> dict[str, Any] | None:
    """Endpoint, region and keys when the environment alone holds them; else None."""
    env = os.environ
    if env.get("AWS_PROFILE") or env.get("AWS_DEFAULT_PROFILE") or _aws_files_in_effect():
        return None
    key, secret = env.get("AWS_ACCESS_KEY_ID"), env.get("AWS_SECRET_ACCESS_KEY")
    if not (key and secret):
        return None
    settings: dict[str, Any] = {
        "endpoint": endpoint_url or env.get("AWS_ENDPOINT_URL_S3") or env.get("AWS_ENDPOINT_URL"),
        "region": env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1",
        "access_key_id": key,
        "secret_access_key": secret,
    }
    if env.get("AWS_SESSION_TOKEN"):
        settings["session_token"] = env["AWS_SESSION_TOKEN"]
    return settings


def _aws_files_in_effect() -> bool:
    """Whether an AWS config or credentials file may hold settings botocore would apply."""
    for variable, default in (
        ("AWS_CONFIG_FILE", "~/.aws/config"),
        ("AWS_SHARED_CREDENTIALS_FILE", "~/.aws/credentials"),
    ):
        if Path(os.environ.get(variable) or default).expanduser().is_file():
            return True
    return False


def _settings_from_chain(
    endpoint_url: str | None, location: str, region: str | None = None
) -> dict[str, Any]:
    """Endpoint, region and a credential callback as botocore's standard chain resolves them."""
    import botocore.session

    from xetra_etl.common.adapters.storage.s3 import make_client

    client = make_client(endpoint_url, region=region)
    try:
        meta = client.meta
        custom = endpoint_url or not meta.endpoint_url.rstrip("/").endswith(".amazonaws.com")
        endpoint = meta.endpoint_url if custom else None  # on AWS obstore names the endpoint
        region = meta.region_name or "us-east-1"
    finally:
        client.close()
    credentials = botocore.session.get_session().get_credentials()
    if credentials is None:
        raise StorageError(
            f"opening {location}: no AWS credentials found; set AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or run where a role provides them "
            "(a public source bucket needs none: set source.anonymous: true)"
        )
    return {
        "endpoint": endpoint,
        "region": region,
        "credential_provider": _ChainCredentials(credentials),
    }


class _ChainCredentials:
    """obstore's credential callback over botocore's chain: profiles, SSO, web identity,
    instance metadata. (obstore's boto3 provider would import boto3 for this alone.)"""

    def __init__(self, credentials: botocore.credentials.Credentials) -> None:
        self._credentials = credentials

    def __call__(self) -> S3Credential:
        frozen = self._credentials.get_frozen_credentials()
        return {
            "access_key_id": frozen.access_key or "",
            "secret_access_key": frozen.secret_key or "",
            "token": frozen.token,
            "expires_at": dt.datetime.now(dt.UTC) + _CREDENTIALS_TTL,
        }


# obstore raises one exception type for every answer it has no type for; the answer's HTTP
# status and S3 error code are in its text, where obstore (object_store) puts them.
_STATUS = re.compile(r"status code: (\d{3})|with status (\d{3})")
_CODE = re.compile(r"<Code>([^<]+)</Code>")
_MESSAGE = re.compile(r"<Message>([^<]+)</Message>")
_ENDPOINT = re.compile(r"\b(https?://[^/\s]+)")


def _answer(exc: Exception) -> tuple[str, str, str] | None:
    """The server's answer in `exc` as (S3 error code, HTTP status, message); None when no
    answer came."""
    text = str(exc)
    status = _STATUS.search(text)
    if status is None:
        return None
    code, message = _CODE.search(text), _MESSAGE.search(text)
    return (
        code.group(1) if code else "",
        status.group(1) or status.group(2),
        message.group(1) if message else _first_line(text),
    )


def _unanswered(exc: Exception) -> bool:
    """Whether a request failed without an answer: a reset or refused connection, a timeout."""
    return isinstance(exc, BaseError) and _answer(exc) is None


def _translate(exc: Exception, verb: str, location: str) -> XetraEtlError:
    """The project's error for `exc`, raised while `verb` (reading, writing...) `location`."""
    doing = f"{verb} {location}"
    answer = _answer(exc)
    code, status, message = answer or ("", "", "")
    if isinstance(exc, FileNotFoundError) and code != "NoSuchBucket":
        return ObjectNotFoundError(location)
    if isinstance(exc, AlreadyExistsError | PreconditionError):
        return PreconditionFailedError(f"{doing}: condition not met")
    if isinstance(exc, PermissionDeniedError | UnauthenticatedError | PermissionError):
        return StorageError(f"{doing}: {_first_line(str(exc))}")
    if answer is not None:
        return answer_error(doing, location, code, status, message)
    if isinstance(exc, BaseError):
        endpoint = _ENDPOINT.search(str(exc))
        where = f"the S3 endpoint {endpoint.group(1)}" if endpoint else "the S3 endpoint"
        return StorageTransientError(
            f"{doing}: {where} did not answer (connection refused or timed out), still failing "
            "after retries; check endpoint_url, AWS_ENDPOINT_URL and the network"
        )
    return StorageTransientError(f"{doing}: {_first_line(str(exc))}, still failing after retries")


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else "error"


# A request inside `with _translated(verb, location)` fails with the project's error.
_translated = functools.partial(translated, _translate, (BaseError, OSError))
