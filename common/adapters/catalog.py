"""What the stores hold, each from one listing: the source's dates and the report's partitions."""

from __future__ import annotations

import datetime as dt

from xetra_etl.common.domain.jobcontrol import PartitionFile
from xetra_etl.common.domain.source_layout import (
    SourceDate,
    SourceObject,
    parse_key,
    select_objects,
)
from xetra_etl.common.infra.errors import SourceNotFoundError, StorageError
from xetra_etl.common.ports import ObjectStore

SOURCE_LAYOUT = "<YYYY-MM-DD>/<YYYY-MM-DD>_BINS_XETR<hh>.csv"
# How many keys the check of an apparently empty source looks at before it gives up looking for
# a date folder (a bucket one folder too high can hold millions of keys).
PROBE_LIMIT = 5000


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


def list_planned_source_dates(
    store: ObjectStore, first: dt.date, last: dt.date
) -> dict[dt.date, SourceDate]:
    """`list_source_dates`, for a plan: a source without any date folder is an error.

    A source that holds date folders, none of them in [first, last], is a quiet "nothing to do";
    only then does a second listing, from the top, tell the two apart.
    """
    try:
        found = list_source_dates(store, first, last)
        if not found:
            ensure_source_has_dates(store)
    except StorageError as exc:
        raise SourceNotFoundError(
            f"source {store.uri} cannot be listed ({exc}); expected date folders "
            f"{SOURCE_LAYOUT} there"
        ) from exc
    return found


def ensure_source_has_dates(store: ObjectStore) -> None:
    """Raise SourceNotFoundError unless the source holds at least one source file."""
    seen: list[str] = []
    for info in store.list(""):
        if parse_key(info.key) is not None:
            return
        seen.append(info.key)
        if len(seen) >= PROBE_LIMIT:
            break
    if not seen:
        found = "nothing is there (it does not exist, or it is empty)"
    else:
        count = f"{len(seen)}+" if len(seen) >= PROBE_LIMIT else str(len(seen))
        found = f"it holds {count} objects but no date folder (first: {seen[0]!r})"
        nested = next((k for k in seen if "/" in k and parse_key(k.split("/", 1)[1])), None)
        if nested is not None:
            found += f"; the date folders are one level down: {store.uri}/{nested.split('/')[0]}"
    raise SourceNotFoundError(
        f"source {store.uri}: {found}; expected date folders {SOURCE_LAYOUT} there"
    )


def list_partitions(store: ObjectStore, report_prefix: str) -> dict[dt.date, set[PartitionFile]]:
    """Every report partition's files (name, size, ETag), from one listing of the report prefix."""
    prefix = f"{report_prefix}/date="
    result: dict[dt.date, set[PartitionFile]] = {}
    for info in store.list(prefix):
        folder, _, name = info.key[len(prefix) :].partition("/")
        try:
            day = dt.date.fromisoformat(folder)
        except ValueError:
            continue
        result.setdefault(day, set()).add(PartitionFile.of(name, info.size, info.etag))
    return result
