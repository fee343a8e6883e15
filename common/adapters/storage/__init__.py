"""Object stores: a local-directory adapter and two S3 adapters of `common.ports.ObjectStore`,
and `open_store`, which picks one for a URI."""

from xetra_etl.common.adapters.storage.factory import open_store
from xetra_etl.common.ports import ObjectInfo, ObjectStore

__all__ = ["ObjectInfo", "ObjectStore", "open_store"]
