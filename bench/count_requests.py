"""Run `xetra-etl ARGS` in this process and count its S3 requests with a botocore event hook.

Every client the project makes goes through `common.adapters.storage.s3.make_client`; the hook
counts each request (`before-send`) by operation and by operation and bucket, and the counts are
written as JSON to $BENCH_REQUESTS_OUT when the command ends. Requests of worker processes are not
counted (a no-op run starts none that talk to S3).
"""

from __future__ import annotations

import atexit
import json
import os
import sys
from collections import Counter
from typing import Any

from xetra_etl.common.adapters.storage import s3

counts: Counter[str] = Counter()
by_bucket: Counter[str] = Counter()
_make_client = s3.make_client


def _count(request: Any, event_name: str = "", **_: Any) -> None:
    operation_name = event_name.rsplit(".", 1)[-1] or "?"
    counts[operation_name] += 1
    path = request.url.split("://", 1)[-1].split("/", 2)
    by_bucket[f"{operation_name} {path[1] if len(path) > 1 else ''}"] += 1


def make_client(*args: Any, **kwargs: Any) -> Any:
    client = _make_client(*args, **kwargs)
    client.meta.events.register("before-send.s3.*", _count)
    return client


def _write() -> None:
    out = os.environ.get("BENCH_REQUESTS_OUT")
    if out:
        with open(out, "w") as handle:
            json.dump(
                {
                    "total": sum(counts.values()),
                    "by_operation": dict(counts),
                    "by_bucket": dict(by_bucket),
                },
                handle,
            )


s3.make_client = make_client
atexit.register(_write)

if __name__ == "__main__":
    from xetra_etl.steps.cli import main

    code = main(sys.argv[1:])
    _write()
    sys.exit(code)
