"""Object stores: one small interface, an S3 adapter and a local-directory adapter."""

from common.adapters.storage.base import ObjectInfo, ObjectStore
from common.adapters.storage.factory import open_store

__all__ = ["ObjectInfo", "ObjectStore", "open_store"]
