"""Object stores: one small interface, an S3 adapter and a local-directory adapter."""

from common.storage.base import ObjectInfo, ObjectStore
from common.storage.factory import open_store

__all__ = ["ObjectInfo", "ObjectStore", "open_store"]
