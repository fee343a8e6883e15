"""Arrow tables to and from parquet bytes, with a little JSON metadata riding along."""

from __future__ import annotations

import io
import json
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

_META_KEY = b"xetra_etl"


def to_parquet(table: pa.Table, metadata: dict[str, Any] | None = None) -> bytes:
    if metadata is not None:
        existing = table.schema.metadata or {}
        table = table.replace_schema_metadata({**existing, _META_KEY: json.dumps(metadata)})
    sink = io.BytesIO()
    # No dictionary pages: the tables are a few thousand distinct ISINs and prices, where they
    # save nothing and cost half the write time.
    pq.write_table(table, sink, compression="zstd", use_dictionary=False)
    return sink.getvalue()


def from_parquet(data: bytes) -> tuple[pa.Table, dict[str, Any]]:
    table = pq.read_table(io.BytesIO(data))
    raw = (table.schema.metadata or {}).get(_META_KEY)
    metadata: dict[str, Any] = json.loads(raw) if raw else {}
    return table.replace_schema_metadata(None), metadata
