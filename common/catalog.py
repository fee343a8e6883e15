"""The source catalog: which dates exist and which objects make them up, from one listing."""

from __future__ import annotations

import datetime as dt

from common.domain.layout import SourceDate, SourceObject, select_objects
from common.storage.base import ObjectStore


def list_source_dates(
    store: ObjectStore, first: dt.date, last: dt.date
) -> dict[dt.date, SourceDate]:
    """Source dates in [first, last]; one paginated listing that starts at `first`'s folder."""
    # Keys sort by date folder; "~" sorts after every character of a source key, so this
    # starts the listing right after the folder of the day before `first`.
    start_after = f"{(first - dt.timedelta(days=1)).isoformat()}/~"
    stop = last.isoformat()
    objects = []
    for info in store.list("", start_after=start_after):
        if info.key[:10] > stop:
            break
        objects.append(SourceObject(info.key, info.size, info.etag))
    return {d: s for d, s in select_objects(objects).items() if first <= d <= last}
