"""Adapters: the stores (S3, local directory), reading a source date, parquet bytes, the source
catalog, job-control records and the target layout. Written against the ports
(`common.ports`: `ObjectStore`, `DateReader`).
"""
