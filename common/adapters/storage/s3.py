"""S3 (or any S3-compatible endpoint) as an object store, through botocore.

Credentials come from the standard AWS chain (botocore's, the one boto3 uses); the endpoint from
the config or `AWS_ENDPOINT_URL`.
Retries are botocore's own ("standard" mode: throttling, 5xx, connection errors, with backoff);
whatever is still failing afterwards is translated into the project's error tree here.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import os
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Literal, cast

import botocore
import botocore.loaders
import botocore.session
import botocore.utils
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionError,
    HTTPClientError,
    NoCredentialsError,
)

from xetra_etl.common.adapters.storage.base import S3Keys
from xetra_etl.common.adapters.storage.translation import answer_error, translated
from xetra_etl.common.infra.errors import (
    StorageError,
    StorageTransientError,
    XetraEtlError,
)
from xetra_etl.common.ports import Blob, ObjectInfo

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


def _retry_mode() -> Literal["legacy", "standard", "adaptive"]:
    mode = os.environ.get("AWS_RETRY_MODE", "standard")
    return mode if mode in ("legacy", "adaptive") else "standard"  # type: ignore[return-value]


def make_client(
    endpoint_url: str | None = None,
    *,
    max_attempts: int | None = None,
    connect_timeout: float | None = None,
    read_timeout: float | None = None,
    max_pool_connections: int = 16,
    region: str | None = None,
    anonymous: bool = False,
) -> S3Client:
    # botocore's own retries: "standard" mode retries throttling, 5xx and connection errors with
    # exponential backoff. AWS_RETRY_MODE / AWS_MAX_ATTEMPTS tune them per deployment, and
    # XETRA_S3_CONNECT_TIMEOUT / XETRA_S3_READ_TIMEOUT the socket timeouts (seconds).
    attempts = max_attempts or int(os.environ.get("AWS_MAX_ATTEMPTS", "8"))
    config = Config(
        retries={"mode": _retry_mode(), "max_attempts": attempts},
        connect_timeout=connect_timeout or float(os.environ.get("XETRA_S3_CONNECT_TIMEOUT", "5")),
        read_timeout=read_timeout or float(os.environ.get("XETRA_S3_READ_TIMEOUT", "30")),
        max_pool_connections=max_pool_connections,
        s3={"addressing_style": "path"} if endpoint_url else None,
        # Unsigned requests (a public bucket): no credentials are looked up or sent.
        signature_version=botocore.UNSIGNED if anonymous else None,
    )
    # botocore's session, not boto3's: boto3 adds only the transfer manager, which the store
    # never uses and whose import was a large part of every S3 step's start (README, Performance).
    core = botocore.session.get_session()
    core.register_component("data_loader", _shared_loader())
    core.get_component("response_parser_factory").set_parser_defaults(
        timestamp_parser=_parse_timestamp
    )
    return cast(
        "S3Client",
        core.create_client("s3", endpoint_url=endpoint_url, region_name=region, config=config),
    )


def _parse_timestamp(value: Any) -> Any:
    """A timestamp of an answer: ISO 8601 ones (every listed object's LastModified) by the
    standard library, the rest (HTTP dates) by botocore. Its general parser (dateutil) cost a
    listing more than anything else, for a value the store never reads."""
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            return dt.datetime.fromisoformat(value)
    return botocore.utils.parse_timestamp(value)


@functools.cache
def _shared_loader() -> botocore.loaders.Loader:
    """One model loader for every client of the process.

    Each session otherwise parses the S3 service model and endpoint rules again, megabytes of
    Python objects per client, and a process may have a client per endpoint.
    Credentials are still resolved per client, from the standard chain.
    """
    return botocore.loaders.create_loader()


class S3Store(S3Keys):
    def __init__(
        self,
        bucket: str,
        prefix: str,
        client: S3Client,
        *,
        client_settings: tuple[str | None, str | None, bool] = (None, None, False),
    ) -> None:
        super().__init__(bucket, prefix)
        self.client = client
        # The configured endpoint, region and anonymity the client was made for.
        self.client_settings = client_settings

    def list(self, prefix: str = "", *, start_after: str = "") -> Iterator[ObjectInfo]:
        root = self.root
        full_prefix = root + prefix
        strip = len(root)
        kwargs: dict[str, Any] = {"Bucket": self.bucket, "Prefix": full_prefix}
        if start_after:
            kwargs["StartAfter"] = root + start_after  # a plain string, trailing "/" kept
        paginator = self.client.get_paginator("list_objects_v2")
        with _translated("listing", self.location(prefix)):
            for page in paginator.paginate(**kwargs):
                for item in page.get("Contents", []):
                    yield ObjectInfo(item["Key"][strip:], item["Size"], item["ETag"])

    def get(self, key: str) -> Blob:
        with _translated("reading", self.location(key)):
            response = self.client.get_object(Bucket=self.bucket, Key=self._key(key))
            return Blob(response["Body"].read(), response["ETag"])

    def open_object(self, key: str) -> bytes:
        return self.get(key).data

    def put(
        self,
        key: str,
        data: bytes,
        *,
        if_match: str | None = None,
        if_none_match: bool = False,
    ) -> str:
        kwargs: dict[str, Any] = {"Bucket": self.bucket, "Key": self._key(key), "Body": data}
        if if_match is not None:
            kwargs["IfMatch"] = if_match
        if if_none_match:
            kwargs["IfNoneMatch"] = "*"
        with _translated("writing", self.location(key), if_match=if_match):
            return str(self.client.put_object(**kwargs)["ETag"])

    def delete(self, key: str) -> None:
        with _translated("deleting", self.location(key)):
            self.client.delete_object(Bucket=self.bucket, Key=self._key(key))


def _translate(exc: Exception, verb: str, location: str) -> XetraEtlError:
    """The project's error for `exc`, raised while `verb` (reading, writing...) `location`."""
    doing = f"{verb} {location}"
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code", ""))
        status = str(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", ""))
        return answer_error(doing, location, code, status, error.get("Message") or code)
    if isinstance(exc, NoCredentialsError):
        return StorageError(
            f"{doing}: no AWS credentials found; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "
            "AWS_PROFILE, or run where a role provides them (a public source bucket needs none: "
            "set source.anonymous: true)"
        )
    if isinstance(exc, ConnectionError | HTTPClientError):
        return StorageTransientError(
            f"{doing}: {exc}, still failing after retries; check endpoint_url, "
            "AWS_ENDPOINT_URL and the network"
        )
    return StorageError(f"{doing}: {exc}")


# A request inside `with _translated(verb, location)` fails with the project's error.
_translated = functools.partial(translated, _translate, (ClientError, BotoCoreError))
