"""The bare-read floor: fetch every object of a bucket with one S3 client and do nothing else.

    python bench/bare_read.py CLIENT BUCKET [THREADS]

CLIENT is botocore (the floor the issue measured), pyarrow (Arrow's C++ S3 filesystem) or
obstore (Rust's object_store). The endpoint and credentials come from the standard environment
(`AWS_ENDPOINT_URL`, `AWS_ACCESS_KEY_ID`, ...). Prints the objects and bytes read.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor


def keys(bucket: str) -> list[str]:
    import boto3

    client = boto3.client("s3", endpoint_url=os.environ.get("AWS_ENDPOINT_URL"))
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket)
    return [item["Key"] for page in pages for item in page.get("Contents", [])]


def botocore_get(bucket: str) -> Callable[[str], int]:
    import boto3
    from botocore.config import Config

    config = Config(max_pool_connections=16, s3={"addressing_style": "path"})
    client = boto3.client("s3", endpoint_url=os.environ.get("AWS_ENDPOINT_URL"), config=config)
    return lambda key: len(client.get_object(Bucket=bucket, Key=key)["Body"].read())


def pyarrow_get(bucket: str) -> Callable[[str], int]:
    from pyarrow import fs

    endpoint = os.environ.get("AWS_ENDPOINT_URL", "")
    scheme, _, host = endpoint.partition("://")
    s3 = fs.S3FileSystem(endpoint_override=host or None, scheme=scheme or "https")

    def get(key: str) -> int:
        with s3.open_input_file(f"{bucket}/{key}") as handle:
            return len(handle.read())

    return get


def obstore_get(bucket: str) -> Callable[[str], int]:
    import obstore
    from obstore.store import S3Store

    endpoint = os.environ.get("AWS_ENDPOINT_URL")
    store = S3Store(
        bucket,
        endpoint=endpoint,
        client_options={"allow_http": True} if endpoint and endpoint.startswith("http:") else None,
    )
    return lambda key: len(memoryview(obstore.get(store, key).bytes()))


CLIENTS = {"botocore": botocore_get, "pyarrow": pyarrow_get, "obstore": obstore_get}


def main(client: str, bucket: str, threads: int = 8) -> None:
    names = keys(bucket)
    get = CLIENTS[client](bucket)
    with ThreadPoolExecutor(threads) as pool:
        sizes = list(pool.map(get, names))
    print(f"{client}: {len(sizes)} objects, {sum(sizes) / 2**20:.0f} MB")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], *(int(a) for a in sys.argv[3:4]))
