"""A no-op run beside a bare listing, on SeaweedFS with 1,000 processed dates.

    .venv/bin/python bench/noop_partitions.py [DATES]

Seeds a source of one small object per date and, for every date, a report partition and a `done`
record that describes it. Then measures, in this process (no interpreter start-up in the figures):

- bare listing: the source listing of the plan's range and the listing of the date records;
- discover: what `xetra-etl discover` decides with (source, records, report prefix), plan written;
- no-op run: `run_local`, as `xetra-etl run` calls it (lock, discover, merge, run summary).

Prints the median and best wall time of BENCH_REPS interleaved repetitions (default 5), each as
a ratio to the bare listing, every S3 request by operation, and how many source objects and
partitions were fetched (both must be 0).
"""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import os
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.s3servers import running_seaweedfs  # noqa: E402
from xetra_etl.common.adapters.catalog import list_source_dates  # noqa: E402
from xetra_etl.common.adapters.reader_factory import open_reader  # noqa: E402
from xetra_etl.common.adapters.storage.s3 import S3Store, make_client  # noqa: E402
from xetra_etl.common.app.context import StepContext  # noqa: E402
from xetra_etl.common.app.discover import list_for_plan, plan_from_listing  # noqa: E402
from xetra_etl.common.domain.dates import lookback_start  # noqa: E402
from xetra_etl.common.domain.jobcontrol import DateRecord, PartitionFile, State  # noqa: E402
from xetra_etl.common.entrypoints import localrun  # noqa: E402
from xetra_etl.common.infra.config import Config, parse_config  # noqa: E402

REPS = int(os.environ.get("BENCH_REPS", "5"))
HEADER = (
    b"ISIN,Mnemonic,SecurityDesc,SecurityType,Currency,SecurityID,Date,Time,StartPrice,MaxPrice,"
    b"MinPrice,EndPrice,TradedVolume,NumberOfTrades\n"
)


class Requests:
    """Every S3 request of a client, by operation, and the keys of its GetObject calls."""

    def __init__(self) -> None:
        self.by_operation: Counter[str] = Counter()
        self.got: list[str] = []

    def hook(self, request: Any, event_name: str = "", **_: Any) -> None:
        operation = event_name.rsplit(".", 1)[-1]
        self.by_operation[operation] += 1
        if operation == "GetObject":
            self.got.append(request.url.split("?", 1)[0])


def seed(server: Any, dates: int) -> tuple[Config, dt.date, dt.date]:
    client = server.client()
    src, tgt = server.make_bucket("nsrc"), server.make_bucket("ntgt")
    first = dt.date(2018, 1, 1)
    days = [first + dt.timedelta(days=i) for i in range(dates)]

    def source_object(day: dt.date) -> None:
        row = f'"DE0007664039","VOW3","VW","Common stock","EUR",1,{day},08:00,1,1,1,1,5,1\n'
        key = f"{day}/{day}_BINS_XETR08.csv"
        client.put_object(Bucket=src, Key=key, Body=HEADER + row.encode())

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        list(pool.map(source_object, days))
    config = parse_config(
        {
            "source": {"uri": f"s3://{src}"},
            "target": {"uri": f"s3://{tgt}"},
            "pipeline": {"first_date": first.isoformat()},
            "logging": {"level": "warning"},
        },
        env={},
    )
    ctx = context_for(config, make_client(server.endpoint_url), "seed")
    lookback = config.pipeline.prev_close_lookback_days
    found = list_source_dates(ctx.source, lookback_start(first, lookback), days[-1])
    fingerprints = {d: s.fingerprint for d, s in found.items()}

    def done(day: dt.date) -> None:
        key = ctx.layout.partition_key(day)
        data = f"partition of {day}".encode()
        etag = ctx.target.put(key, data)
        name = key.removeprefix(ctx.layout.partition_prefix(day))
        ctx.jobs.write(
            DateRecord(
                date=day,
                state=State.DONE,
                fingerprint=fingerprints[day],
                inputs_fingerprint=ctx.inputs_digest(day, fingerprints),
                row_count=1,
                run_id="seed",
                processed_at="2021-01-01T00:00:00+00:00",
                partition=frozenset({PartitionFile.of(name, len(data), etag)}),
            )
        )

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        list(pool.map(done, days))
    ctx.jobs.rebuild_meta()
    client.close()
    return config, first, days[-1]


def context_for(config: Config, client: Any, run_id: str) -> StepContext:
    source = S3Store(config.source.uri.removeprefix("s3://"), "", client)
    target = S3Store(config.target.uri.removeprefix("s3://"), "", client)
    return StepContext(config, source, target, run_id, open_reader(source, config.source))


def measure(endpoint: str, actions: dict[str, Callable[[Any], None]]) -> list[dict[str, Any]]:
    """Each action REPS times, interleaved, so a busy machine slows them alike."""
    walls: dict[str, list[float]] = {name: [] for name in actions}
    counted: dict[str, Requests] = {}
    for _ in range(REPS):
        for name, action in actions.items():
            requests = Requests()
            client = make_client(endpoint)
            client.meta.events.register("before-send.s3.*", requests.hook)
            started = time.perf_counter()
            action(client)
            walls[name].append(time.perf_counter() - started)
            client.close()
            counted[name] = requests
    return [
        {
            "name": name,
            "wall_s": statistics.median(walls[name]),
            "min_s": min(walls[name]),
            "requests": sum(counted[name].by_operation.values()),
            "by_operation": dict(sorted(counted[name].by_operation.items())),
            "gets": counted[name].got,
        }
        for name in actions
    ]


def main(dates: int) -> None:
    with tempfile.TemporaryDirectory() as work, running_seaweedfs(Path(work)) as server:
        os.environ.update(server.env())
        config, first, last = seed(server, dates)
        lookback = config.pipeline.prev_close_lookback_days
        runs = iter(range(10**6))

        def bare(client: Any) -> None:
            ctx = context_for(config, client, "bare")
            list_source_dates(ctx.source, lookback_start(first, lookback), last)
            list(ctx.target.list(ctx.layout.records_prefix))

        def discover(client: Any) -> None:
            ctx = context_for(config, client, f"discover-{next(runs)}")
            plan = plan_from_listing(ctx, list_for_plan(ctx, first, last), first=first, last=last)
            assert not plan.items, plan.reasons

        def noop_run(client: Any) -> None:
            ctx = context_for(config, client, f"noop-{next(runs)}")
            result = localrun.run_local(ctx, first=first, last=last, workers=1)
            assert result.exit_code == 0 and result.summary and result.summary.done == 0

        results = measure(
            server.endpoint_url,
            {
                "bare listing (source + records)": bare,
                "discover (source + records + report prefix)": discover,
                "no-op run (lock, discover, merge, run summary)": noop_run,
            },
        )
        base = results[0]
        print(f"{dates} processed dates on SeaweedFS, {REPS} interleaved repetitions:")
        for r in results:
            source_gets = [u for u in r["gets"] if "/nsrc" in u]
            partition_gets = [u for u in r["gets"] if "/date=" in u]
            print(
                f"  {r['name']:<48} median {r['wall_s'] * 1000:7.1f} ms "
                f"(x{r['wall_s'] / base['wall_s']:.2f}), best {r['min_s'] * 1000:7.1f} ms "
                f"(x{r['min_s'] / base['min_s']:.2f})  {r['requests']:3d} requests "
                f"{r['by_operation']}  source GETs {len(source_gets)}, "
                f"partition GETs {len(partition_gets)}"
            )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000)
