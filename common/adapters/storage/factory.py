"""Open a store from a URI: `s3://bucket/prefix` or a local directory path."""

from __future__ import annotations

import importlib.util
from urllib.parse import urlparse

from xetra_etl.common.adapters.storage.local import LocalStore
from xetra_etl.common.ports import ObjectStore


def open_store(
    uri: str,
    *,
    endpoint_url: str | None = None,
    region: str | None = None,
    anonymous: bool = False,
    scratch: str | None = None,
    share_with: ObjectStore | None = None,
) -> ObjectStore:
    """`scratch`: where a local store keeps its temporary files (ignored on S3).

    `region` overrides the AWS chain's; `anonymous` sends unsigned requests (a public bucket),
    with no credentials looked up at all.

    S3 goes through obstore where it is installed (the data images), else through botocore (the
    control images). `share_with`: a botocore store opened with the same `endpoint_url` lends its
    client (connection pool, credentials, service model) instead of a second one being made.
    """
    if uri.startswith("s3://"):
        parsed = urlparse(uri)
        if obstore_installed():
            from xetra_etl.common.adapters.storage.s3_obstore import ObstoreS3Store

            return ObstoreS3Store(
                parsed.netloc, parsed.path, endpoint_url, region=region, anonymous=anonymous
            )
        from xetra_etl.common.adapters.storage.s3 import S3Store, make_client

        settings = (endpoint_url, region, anonymous)
        if isinstance(share_with, S3Store) and share_with.client_settings == settings:
            client = share_with.client
        else:
            client = make_client(endpoint_url, region=region, anonymous=anonymous)
        return S3Store(parsed.netloc, parsed.path, client, client_settings=settings)
    if uri.startswith("file://"):
        uri = urlparse(uri).path
    return LocalStore(uri) if scratch is None else LocalStore(uri, scratch=scratch)


def obstore_installed() -> bool:
    return importlib.util.find_spec("obstore") is not None
