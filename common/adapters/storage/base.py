"""What the object-store adapters share; the interface itself is `common.ports.ObjectStore`."""

from __future__ import annotations

__all__ = ["S3Keys", "join_key"]


def join_key(*parts: str) -> str:
    return "/".join(p.strip("/") for p in parts if p and p.strip("/"))


class S3Keys:
    """Where an S3 store's objects live: a bucket and a key prefix, the store's root."""

    local = False  # every read waits on the network

    def __init__(self, bucket: str, prefix: str) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.uri = f"s3://{bucket}/{self.prefix}" if self.prefix else f"s3://{bucket}"
        self.root = f"{self.prefix}/" if self.prefix else ""

    def _key(self, key: str) -> str:
        return join_key(self.prefix, key)

    def location(self, key: str) -> str:
        return f"s3://{self.bucket}/{self._key(key)}"
