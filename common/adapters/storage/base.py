"""What the object-store adapters share; the interface itself is `common.ports.ObjectStore`."""

from __future__ import annotations

from xetra_etl.common.ports import ObjectStore  # kept for the imports not yet updated

__all__ = ["ObjectStore", "join_key"]


def join_key(*parts: str) -> str:
    return "/".join(p.strip("/") for p in parts if p and p.strip("/"))
