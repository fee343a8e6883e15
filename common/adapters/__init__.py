"""Adapters: the stores (S3, local directory), reading a source date, parquet bytes, the source
catalog, job-control records and the target layout. Written against the interfaces the
application declares (`common.adapters.storage.base.ObjectStore`, `common.app.reading.DateReader`).
"""
