"""The performance benchmark: `make bench` (or `python -m bench.run_bench`).

Generates 2021-scale source data with the project's own generator (3,000 securities, about
177,000 rows and 22-25 MB of CSV per trading day), then measures whole processes side by side:
`xetra-etl run`, one hand-written DuckDB query and plain pandas, over the same files, and checks
that all three give the same report. On one SeaweedFS server: `xetra-etl run` on S3 beside DuckDB
with httpfs (reading s3://, writing the partitions back to s3://) and the bare-read floors (8
threads GET every source object and do nothing else: botocore, obstore, pyarrow). Prints one
table of medians and ratios and writes it to bench-out/results.json.

Whole processes: wall time from start to exit; peak RSS by polling the process tree (psutil,
every 5 ms), per process (the largest single process) and summed over the tree.

Environment: BENCH_REPS (default 5), BENCH_SKIP (comma list of: local, s3, noop, chunks, pandas,
and the bare-read clients botocore, obstore, pyarrow).
"""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench-out"
DATA = OUT / "data"
BIN = Path(sys.executable).parent
PY = sys.executable
REPS = int(os.environ.get("BENCH_REPS", "5"))
CHUNK_REPS = int(os.environ.get("BENCH_CHUNK_REPS", "1"))  # ~60 processes per repetition
SKIP = set(filter(None, os.environ.get("BENCH_SKIP", "").split(",")))
FIRST = dt.date(2021, 1, 4)  # a Monday
LOOKBACK = 10
SECURITIES = 3000
LIQUIDITY = (0.005, 0.232)  # about 177,000 rows per trading day at 3,000 securities
sys.path.insert(0, str(ROOT))


@dataclass
class Measured:
    wall: float
    peak_process_mb: float
    peak_tree_mb: float
    processes: int
    rc: int


@dataclass
class Row:
    name: str
    runs: list[Measured] = field(default_factory=list)
    note: str = ""

    def median(self, attr: str) -> float:
        return float(statistics.median(getattr(r, attr) for r in self.runs))


def measure(argv: list[str], *, env: dict[str, str] | None = None, cwd: Path = ROOT) -> Measured:
    """Run one command; wall time and peak RSS of the largest process and of the whole tree."""
    started = time.perf_counter()
    popen = subprocess.Popen(
        argv,
        cwd=cwd,
        env={**os.environ, **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    root = psutil.Process(popen.pid)
    peak_process = peak_tree = 0
    seen: set[int] = set()
    while popen.poll() is None:
        try:
            procs = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            break
        total = 0
        for proc in procs:
            try:
                rss = proc.memory_info().rss
            except psutil.Error:
                continue
            seen.add(proc.pid)
            total += rss
            peak_process = max(peak_process, rss)
        peak_tree = max(peak_tree, total)
        time.sleep(0.005)
    _, stderr = popen.communicate()
    wall = time.perf_counter() - started
    if popen.returncode != 0:
        sys.stderr.write(f"command failed ({popen.returncode}): {' '.join(argv)}\n")
        sys.stderr.write(stderr.decode(errors="replace")[-3000:])
    return Measured(wall, peak_process / 2**20, peak_tree / 2**20, len(seen), popen.returncode)


# --------------------------------------------------------------------------- data


def trading_days(n: int) -> int:
    """Calendar days from FIRST that hold `n` weekdays (Saturdays are reference-only dates)."""
    days, weekdays = 0, 0
    while weekdays < n:
        if (FIRST + dt.timedelta(days=days)).weekday() < 5:
            weekdays += 1
        days += 1
    return days


def dataset(n: int) -> tuple[Path, dt.date, dict[str, Any]]:
    from xetra_etl.common.adapters.storage.local import LocalStore
    from xetra_etl.common.app.demo_data import generate

    days = trading_days(n)
    path = DATA / f"d{n}"
    stamp = path / ".generated.json"
    spec = {"days": days, "securities": SECURITIES, "liquidity": LIQUIDITY, "seed": 7}
    if not stamp.exists() or json.loads(stamp.read_text())["spec"] != spec:
        shutil.rmtree(path, ignore_errors=True)
        started = time.perf_counter()
        counts = generate(
            LocalStore(path, durable=False),
            first_date=FIRST,
            days=days,
            securities_count=SECURITIES,
            minute_files_for_last=False,
            liquidity=LIQUIDITY,
        )
        took = time.perf_counter() - started
        size = sum(p.stat().st_size for p in path.rglob("*.csv"))
        stamp.write_text(json.dumps({"spec": spec, "counts": counts, "bytes": size, "s": took}))
    info = json.loads(stamp.read_text())
    return path, FIRST + dt.timedelta(days=days - 1), info


def write_config(path: Path, source: str, target: str, **extra: Any) -> Path:
    lines = [
        f"source: {{uri: '{source}'{extra.get('source_extra', '')}}}",
        f"target: {{uri: '{target}'{extra.get('target_extra', '')}}}",
        f"pipeline: {{first_date: {FIRST.isoformat()}, prev_close_lookback_days: {LOOKBACK}}}",
        "logging: {level: warning, format: json}",
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def etl(*args: str) -> list[str]:
    return [str(BIN / "xetra-etl"), *args]


# --------------------------------------------------------------------------- equality


def check_equal(project: Path, other: Path, label: str) -> str:
    """Compare the project's report dataset with a baseline's: exactly, or to 1e-12 relative."""
    import pyarrow.compute as pc
    import pyarrow.dataset as ds

    def load(path: Path) -> Any:
        table = ds.dataset(str(path), format="parquet", partitioning="hive").to_table()
        table = table.set_column(
            table.schema.get_field_index("date"), "date", pc.cast(table["date"], "string")
        )
        return table.sort_by([("isin", "ascending"), ("date", "ascending")])

    a, b = load(project), load(other)
    if a.num_rows != b.num_rows:
        return f"{label}: DIFFERENT row counts {a.num_rows} vs {b.num_rows}"
    worst = 0.0
    for name in a.column_names:
        x, y = a[name].to_pylist(), b[name].to_pylist()
        for u, v in zip(x, y, strict=True):
            if u == v:
                continue
            if u is None or v is None or isinstance(u, str):
                return f"{label}: DIFFERENT in {name}: {u!r} vs {v!r}"
            worst = max(worst, abs(u - v) / max(abs(u), abs(v)))
    if worst > 1e-12:
        return f"{label}: DIFFERENT (max relative difference {worst:.2e})"
    return f"{label}: equal ({a.num_rows} rows" + (", exact)" if worst == 0 else f", {worst:.1e})")


# --------------------------------------------------------------------------- suites


def local_throughput(sizes: tuple[int, ...], rows: dict[str, Row], checks: list[str]) -> None:
    """Every contender at every size, interleaved within each repetition: a busy minute hits
    them all, and the sizes' difference (`local_split`) compares runs of the same minute."""
    contenders = {"etl": "xetra-etl run", "duckdb": "DuckDB query", "pandas": "pandas"}
    if "pandas" in SKIP:
        del contenders["pandas"]
    setups = []
    for n in sizes:
        source, last, _ = dataset(n)
        work = OUT / "work" / f"local{n}"
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        config = write_config(work / "config.yaml", str(source), str(work / "target"))
        names = {key: f"{label}, local, {n} days" for key, label in contenders.items()}
        for name in names.values():
            rows.setdefault(name, Row(name))
        setups.append((source, last, work, config, names))
    for _ in range(REPS):
        for source, last, work, config, names in setups:
            shutil.rmtree(work / "target", ignore_errors=True)
            argv = etl("run", "--config", str(config), "--last-date", last.isoformat())
            rows[names["etl"]].runs.append(measure(argv))
            for key in ("duckdb", "pandas"):
                if key in names:
                    shutil.rmtree(work / key, ignore_errors=True)
                    script = str(ROOT / f"bench/{key}_baseline.py")
                    argv = [PY, script, str(source), str(work / key), str(LOOKBACK)]
                    rows[names[key]].runs.append(measure(argv))
    _, _, work, _, names = setups[0]  # the largest: its reports are compared
    report = work / "target" / "reports" / "daily"
    checks.append(check_equal(report, work / "duckdb", f"{sizes[0]} days vs DuckDB"))
    if "pandas" in names:
        checks.append(check_equal(report, work / "pandas", f"{sizes[0]} days vs pandas"))


def local_split(rows: dict[str, Row], large: int, small: int) -> dict[str, Any]:
    """Per date and fixed cost of each contender, from its local runs at two sizes.

    Per date: the wall-time difference of the two sizes' runs of the same repetition, over
    the difference in dates (median over repetitions). Fixed: the smaller run less its dates.
    """
    dates = {n: dataset(n)[2]["counts"]["dates"] for n in (large, small)}
    extra = dates[large] - dates[small]
    split: dict[str, Any] = {"dates": [dates[large], dates[small]]}
    for label in ("xetra-etl run", "DuckDB query"):
        big = rows.get(f"{label}, local, {large} days")
        few = rows.get(f"{label}, local, {small} days")
        if big is None or few is None:
            return {}
        per_date = statistics.median(
            (b.wall - f.wall) / extra for b, f in zip(big.runs, few.runs, strict=True)
        )
        fixed = few.median("wall") - dates[small] * per_date
        split[label] = {"per_date_ms": round(per_date * 1000, 1), "fixed_s": round(fixed, 3)}
    ours, duck = split["xetra-etl run"], split["DuckDB query"]
    gap = ours["fixed_s"] - duck["fixed_s"]
    saved = (duck["per_date_ms"] - ours["per_date_ms"]) / 1000
    split["parity_dates"] = round(gap / saved) if gap > 0 and saved > 0 else None
    return split


def chunk_shape(rows: dict[str, Row], notes: list[str]) -> None:
    """Argo's shape: discover, then per work item extract, transform, load processes; merge.

    Two items at a time (a parallelism of 2, like the run's workers). chunk 1 vs chunk 5 vs 10.
    """
    source, last, _ = dataset(20)
    for chunk in (1, 5, 10):
        name = f"step processes, 20 days, --chunk-size {chunk}"
        rows[name] = Row(name)
        for rep in range(CHUNK_REPS):
            work = OUT / "work" / f"chunk{chunk}"
            shutil.rmtree(work, ignore_errors=True)
            work.mkdir(parents=True)
            config = str(write_config(work / "config.yaml", str(source), str(work / "target")))
            run_id = f"bench-chunk{chunk}-{rep}"
            common = ["--config", config, "--run-id", run_id]
            started = time.perf_counter()
            steps: list[Measured] = []
            plan = work / "dates.json"
            steps.append(
                measure(
                    [
                        *etl("discover", *common, "--dates-out", str(plan)),
                        *("--last-date", str(last), "--chunk-size", str(chunk)),
                    ]
                )
            )
            items = json.loads(plan.read_text())

            def item(dates: Any, common: list[str] = common) -> list[Measured]:
                text = dates if isinstance(dates, str) else json.dumps(dates)
                return [
                    measure(etl(step, *common, "--dates", text))
                    for step in ("extract", "transform", "load")
                ]

            with concurrent.futures.ThreadPoolExecutor(2) as pool:
                for result in pool.map(item, items):
                    steps.extend(result)
            steps.append(measure(etl("merge", *common)))
            wall = time.perf_counter() - started
            rows[name].runs.append(
                Measured(
                    wall,
                    max(s.peak_process_mb for s in steps),
                    max(s.peak_tree_mb for s in steps) * 2,  # two items at once
                    len(steps),
                    max(s.rc for s in steps),
                )
            )
        rows[name].note = f"{len(items)} items, {rows[name].runs[-1].processes} processes"
    notes.append("step processes: peak tree = 2 x the largest step (two items run at once)")


S3_ROWS = {
    "etl": "xetra-etl run, S3 source and target, 20 days",
    "duckdb": "DuckDB query with httpfs, S3 source and target, 20 days",
    "botocore": "bare read: 8 botocore threads GET every object, 20 days",
    "obstore": "bare read: 8 threads GET every object through obstore, 20 days",
    "pyarrow": "bare read: 8 threads GET every object through pyarrow's S3FileSystem, 20 days",
}


def s3_suite(rows: dict[str, Row], checks: list[str], noop: dict[str, Any]) -> None:
    """The S3 side by side on one SeaweedFS server: our run, DuckDB with httpfs reading s3://
    and writing the partitions back with COPY ... TO 's3://...', and the bare-read floors."""
    from tests.s3servers import running_seaweedfs

    source, last, _ = dataset(20)
    work = OUT / "work" / "s3"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    with running_seaweedfs(work / "weed") as server:
        env = server.env()
        client = server.client()
        src_bucket, tgt_bucket = server.make_bucket("bsrc"), server.make_bucket("btgt")
        files = sorted(p for p in source.rglob("*.csv"))

        def upload(path: Path) -> None:
            key = str(path.relative_to(source))
            client.put_object(Bucket=src_bucket, Key=key, Body=path.read_bytes())

        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            list(pool.map(upload, files))
        clients = [c for c in ("botocore", "obstore", "pyarrow") if c not in SKIP]
        for key in ("etl", "duckdb", *clients):
            rows[S3_ROWS[key]] = Row(S3_ROWS[key])
        rows[S3_ROWS["etl"]].note = f"{len(files)} objects"
        for rep in range(REPS):  # interleaved, so a busy moment hits every contender alike
            config = write_config(
                work / "config.yaml", f"s3://{src_bucket}", f"s3://{tgt_bucket}/out{rep}"
            )
            argv = etl("run", "--config", str(config), "--last-date", last.isoformat())
            rows[S3_ROWS["etl"]].runs.append(measure(argv, env=env))
            duck = [PY, str(ROOT / "bench/duckdb_baseline.py"), f"s3://{src_bucket}"]
            duck += [f"s3://{tgt_bucket}/duck{rep}", str(LOOKBACK)]
            rows[S3_ROWS["duckdb"]].runs.append(measure(duck, env=env))
            for name in clients:
                argv = [PY, str(ROOT / "bench/bare_read.py"), name, src_bucket]
                rows[S3_ROWS[name]].runs.append(measure(argv, env=env))
        ours = download(client, tgt_bucket, f"out{REPS - 1}/reports/daily/", work / "ours")
        theirs = download(client, tgt_bucket, f"duck{REPS - 1}/", work / "duck")
        checks.append(check_equal(ours, theirs, "20 days on S3 vs DuckDB with httpfs on S3"))
        if "noop" not in SKIP:
            noop.update(noop_suite(server, client, work))
        client.close()


def download(client: Any, bucket: str, prefix: str, dest: Path) -> Path:
    """The objects under `prefix` into `dest`, keys relative to the prefix."""
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    for key in [item["Key"] for page in pages for item in page.get("Contents", [])]:
        path = dest / key.removeprefix(prefix)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(client.get_object(Bucket=bucket, Key=key)["Body"].read())
    return dest


def noop_suite(server: Any, client: Any, work: Path) -> dict[str, Any]:
    """1,000 processed dates on S3, nothing changed: a real `xetra-etl run` lists and reads
    job control only. Seeded cheaply: small synthetic dates, a real run of the first five, then
    the other records written through the project's DateRecords with the same fingerprints."""
    from xetra_etl.common.adapters.catalog import list_source_dates
    from xetra_etl.common.adapters.source_reader import SourceReader
    from xetra_etl.common.adapters.storage.local import LocalStore
    from xetra_etl.common.adapters.storage.s3 import S3Store
    from xetra_etl.common.app.context import StepContext
    from xetra_etl.common.app.demo_data import generate
    from xetra_etl.common.domain.dates import lookback_start
    from xetra_etl.common.domain.jobcontrol import DateRecord, State
    from xetra_etl.common.infra.config import load_config

    small = work / "small"
    first = dt.date(2018, 1, 1)
    counts = generate(
        LocalStore(small, durable=False),
        first_date=first,
        days=1170,  # Sundays have no folder: about 1,000 dates
        securities_count=2,
        minute_files_for_last=False,
    )
    src, tgt = server.make_bucket("nsrc"), server.make_bucket("ntgt")
    # One object per date is enough for job control: keep the 08:00 file of every date.
    files = sorted(small.rglob("*_BINS_XETR08.csv"))

    def upload(path: Path) -> None:
        client.put_object(Bucket=src, Key=str(path.relative_to(small)), Body=path.read_bytes())

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        list(pool.map(upload, files))
    last = max(dt.date.fromisoformat(p.parent.name) for p in files)
    config_path = work / "noop.yaml"
    config_path.write_text(
        f"source: {{uri: 's3://{src}'}}\ntarget: {{uri: 's3://{tgt}'}}\n"
        f"pipeline: {{first_date: {first}}}\nlogging: {{level: warning, format: json}}\n"
    )
    env = server.env()
    seed_last = first + dt.timedelta(days=6)
    subprocess.run(
        etl("run", "--config", str(config_path), "--last-date", str(seed_last)),
        env={**os.environ, **env},
        check=True,
        capture_output=True,
    )
    os.environ.update(env)
    config = load_config(str(config_path))
    from xetra_etl.common.adapters.storage.s3 import make_client

    s3 = make_client(server.endpoint_url)
    source = S3Store(src, "", s3)
    reader = SourceReader(source, config.source)
    ctx = StepContext(config, source, S3Store(tgt, "", s3), "bench-seed", reader)
    lookback = config.pipeline.prev_close_lookback_days
    found = list_source_dates(ctx.source, lookback_start(first, lookback), last)
    fingerprints = {d: s.fingerprint for d, s in found.items()}
    done = {d for d, _ in ctx.jobs.load().items()}
    records = [
        DateRecord(
            date=d,
            state=State.DONE,
            fingerprint=fingerprints[d],
            inputs_fingerprint=ctx.inputs_digest(d, fingerprints),
            # Seeded without a partition: recorded as a date without trades, so discovery's
            # partition check agrees with the empty report prefix.
            row_count=0,
            run_id="bench-seed",
            processed_at="2021-01-01T00:00:00+00:00",
            partition=frozenset(),
        )
        for d in sorted(found)
        if d >= first and d not in done
    ]
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        list(pool.map(ctx.jobs.write, records))
    ctx.jobs.rebuild_meta()
    dates = len(found)
    argv = etl("run", "--config", str(config_path), "--last-date", str(last), "--json")
    runs = [measure(argv, env=env) for _ in range(REPS)]
    counted = count_requests(argv, env, server.endpoint_url)
    return {
        "dates": dates,
        "source_objects": len(files),
        "generated": counts,
        "wall_median_s": statistics.median(r.wall for r in runs),
        "peak_process_mb": statistics.median(r.peak_process_mb for r in runs),
        "requests": counted,
        "source_gets": counted["by_bucket"].get(f"GetObject {src}", 0),
        "runs": [asdict(r) for r in runs],
    }


def count_requests(argv: list[str], env: dict[str, str], endpoint_url: str) -> dict[str, Any]:
    """Run `argv` once with its S3 requests passing through a counting proxy (whichever client
    sends them), and count them by operation and by operation and bucket."""
    from tests.faultproxy import FaultPlan, fault_proxy

    plan = FaultPlan()
    with fault_proxy(endpoint_url, plan) as proxy:
        subprocess.run(
            argv,
            env={**os.environ, **env, "AWS_ENDPOINT_URL": proxy},
            check=True,
            capture_output=True,
        )
    operations = [_operation(method, path) for method, path in plan.seen]
    return {
        "total": len(operations),
        "by_operation": dict(Counter(operation for operation, _ in operations)),
        "by_bucket": dict(Counter(f"{operation} {bucket}" for operation, bucket in operations)),
    }


def _operation(method: str, path: str) -> tuple[str, str]:
    """(S3 operation, bucket) of a path-style request."""
    where, _, query = path.lstrip("/").partition("?")
    bucket, _, key = where.partition("/")
    if method == "GET" and not key:
        return ("ListObjects" if "list-type" in query else "GET bucket"), bucket
    if method == "POST" and "delete" in query:
        return "DeleteObjects", bucket
    names = {"GET": "GetObject", "PUT": "PutObject", "DELETE": "DeleteObject", "HEAD": "HeadObject"}
    return names.get(method, method), bucket


def image_sizes() -> list[dict[str, Any]]:
    """Each step image's size over its base, beside the budget of the images issue."""
    budget_mb = {"discover": 40, "merge": 40}  # control steps; data steps get 300 MB
    if shutil.which("buildah") is None:
        return []
    try:
        out = subprocess.run(
            ["buildah", "images", "--json"], check=False, capture_output=True, text=True, timeout=60
        )
        images = json.loads(out.stdout or "[]")
    except (OSError, ValueError, subprocess.SubprocessError):
        return []
    names = [name for image in images for name in image.get("names") or [] if "xetra" in name]
    sizes: dict[str, int] = {}
    for name in names:
        inspect = subprocess.run(
            ["podman", "image", "inspect", "--format", "{{.Size}}", name],
            check=False, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        if inspect.returncode == 0 and inspect.stdout.strip().isdigit():
            sizes[name] = int(inspect.stdout.strip())
    base = next((size for name, size in sizes.items() if "xetra-base" in name), 0)
    result = []
    for name, size in sorted(sizes.items()):
        if "xetra-etl/" not in name:
            continue
        step = name.rsplit("/", 1)[-1].split(":")[0]
        over = round((size - base) / 2**20, 1)
        limit = budget_mb.get(step, 300)
        result.append(
            {
                "image": name,
                "size_mb": round(size / 2**20, 1),
                "over_base_mb": over,
                "budget": f"<= {limit} MB over base",
                "within_budget": over <= limit,
            }
        )
    return result


# --------------------------------------------------------------------------- report


def table(rows: dict[str, Row], anchor: Callable[[str], str | None]) -> list[dict[str, Any]]:
    result = []
    for name, row in rows.items():
        base = anchor(name)
        ratio = row.median("wall") / rows[base].median("wall") if base in rows else None
        result.append(
            {
                "measurement": name,
                "wall_s": round(row.median("wall"), 3),
                "vs_duckdb": round(ratio, 2) if ratio is not None else None,
                "peak_process_mb": round(row.median("peak_process_mb"), 1),
                "peak_tree_mb": round(row.median("peak_tree_mb"), 1),
                "processes": row.runs[-1].processes,
                "reps": len(row.runs),
                "failed": sum(1 for r in row.runs if r.rc),
                "note": row.note,
            }
        )
    return result


def anchor_of(name: str) -> str | None:
    if name.startswith("DuckDB"):
        return None
    if name in S3_ROWS.values():
        return S3_ROWS["duckdb"]
    days = "5 days" if "5 days" in name else "20 days"
    return f"DuckDB query, local, {days}"


def render(results: dict[str, Any]) -> str:
    lines = [
        f"machine: {results['machine']}",
        "",
        "| measurement | wall s (median) | vs DuckDB | peak RSS / process MB | peak RSS tree MB "
        "| processes | note |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for r in results["table"]:
        ratio = f"{r['vs_duckdb']:.2f}x" if r["vs_duckdb"] is not None else "1 (anchor)"
        fail = f" ({r['failed']} FAILED)" if r["failed"] else ""
        lines.append(
            f"| {r['measurement']}{fail} | {r['wall_s']:.2f} | {ratio} | "
            f"{r['peak_process_mb']:.0f} | {r['peak_tree_mb']:.0f} | {r['processes']} "
            f"| {r['note']} |"
        )
    split = results.get("local_split")
    if split:
        dates = split["dates"]
        parts = [
            f"{label} {split[label]['per_date_ms']:.1f} ms a date, {split[label]['fixed_s']:.2f} s "
            "fixed"
            for label in ("xetra-etl run", "DuckDB query")
        ]
        parity = split["parity_dates"]
        lines += [
            "",
            f"local, per date and fixed ({dates[0]} and {dates[1]} dates, paired within each "
            f"repetition): {'; '.join(parts)}"
            + (f"; equal wall time at about {parity} dates" if parity else ""),
        ]
    noop = results.get("noop")
    if noop:
        operations = ", ".join(f"{k}: {v}" for k, v in noop["requests"]["by_operation"].items())
        lines += [
            "",
            f"no-op run, SeaweedFS, {noop['dates']} processed dates: "
            f"{noop['wall_median_s']:.2f} s wall, {noop['requests'].get('total', '?')} S3 "
            f"requests ({operations}), "
            f"source objects fetched: {noop['source_gets']}",
        ]
    lines += ["", "equality checks:"] + [f"  {c}" for c in results["checks"]]
    lines += ["", "data: " + "; ".join(results["data"])]
    images = results["images"]
    lines += ["", "images:"]
    if images:
        lines += [
            f"  {i['image']}: {i['size_mb']} MB, {i['over_base_mb']} MB over base"
            f" (budget {i['budget']}: {'met' if i['within_budget'] else 'NOT met'})"
            for i in images
        ]
    else:
        lines.append("  not built")
    lines += [f"note: {n}" for n in results["notes"]]
    return "\n".join(lines)


def main() -> int:
    OUT.mkdir(exist_ok=True)
    # Measure the project as installed: with bytecode. (An editable checkout under
    # PYTHONDONTWRITEBYTECODE=1 would otherwise compile every module at every process start.)
    subprocess.run([PY, "-m", "compileall", "-q", "common", "steps", "bench"], cwd=ROOT, check=True)
    rows: dict[str, Row] = {}
    checks: list[str] = []
    notes: list[str] = []
    data = []
    for n in (5, 20):
        _, _, info = dataset(n)
        c = info["counts"]
        data.append(
            f"{n} trading days: {c['dates']} dates, {c['rows']:,} rows, "
            f"{info['bytes'] / 2**20:.0f} MB CSV, generated in {info['s']:.1f} s"
        )
    split: dict[str, Any] = {}
    if "local" not in SKIP:
        local_throughput((20, 5), rows, checks)
        split = local_split(rows, 20, 5)
    noop: dict[str, Any] = {}
    if "s3" not in SKIP:
        s3_suite(rows, checks, noop)
    if "chunks" not in SKIP:
        chunk_shape(rows, notes)
    results = {
        "machine": f"{os.cpu_count()} cores, python {sys.version.split()[0]}, "
        f"load average before {os.getloadavg()[0]:.1f}",
        "reps": REPS,
        "table": table(rows, anchor_of),
        "local_split": split,
        "noop": noop,
        "checks": checks,
        "data": data,
        "images": image_sizes(),
        "notes": notes,
        "raw": {name: [asdict(r) for r in row.runs] for name, row in rows.items()},
    }
    (OUT / "results.json").write_text(json.dumps(results, indent=2))
    text = render(results)
    (OUT / "results.md").write_text(text + "\n")
    print(text)
    return 1 if any("DIFFERENT" in c for c in checks) else 0


if __name__ == "__main__":
    raise SystemExit(main())
