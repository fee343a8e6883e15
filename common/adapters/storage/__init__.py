"""Object stores: one small interface, an S3 adapter and a local-directory adapter."""

from xetra_etl.common.adapters.storage.base import ObjectInfo, ObjectStore
from xetra_etl.common.adapters.storage.factory import open_store

__all__ = ["ObjectInfo", "ObjectStore", "open_store"]
