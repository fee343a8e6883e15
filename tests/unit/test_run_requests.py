"""What `run` asks the target store for: one listing where a request per date would do the
same, and no read of what the run itself wrote. Every request is one S3 round trip in
production, on the same cores that parse.

Also the staging behaviour those listings serve: staged aggregates are reused, and a date's
stale aggregates (from a source that has changed since) are removed. And the order of a run's
requests: each date is loaded before the next is read.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from tests.recording_store import RecordingStore
from xetra_etl.common.adapters.catalog import list_source_dates
from xetra_etl.common.adapters.source_reader import SourceReader
from xetra_etl.common.adapters.storage.local import LocalStore
from xetra_etl.common.app.context import StepContext
from xetra_etl.common.app.demo_data import generate
from xetra_etl.common.app.extract import aggregates_for
from xetra_etl.common.entrypoints.localrun import RunResult, run_local
from xetra_etl.common.infra.config import Config, parse_config

FIRST, LAST = dt.date(2021, 3, 1), dt.date(2021, 3, 5)  # Monday to Friday


@pytest.fixture
def config(tmp_path: Path) -> Config:
    generate(LocalStore(tmp_path / "src", durable=False), first_date=FIRST, days=5)
    return parse_config(
        {
            "source": {"uri": str(tmp_path / "src")},
            "target": {"uri": str(tmp_path / "tgt")},
            "pipeline": {"first_date": FIRST.isoformat()},
            "logging": {"level": "warning"},
        },
        env={},
    )


def run(config: Config, run_id: str) -> tuple[RunResult, RecordingStore]:
    source = LocalStore(config.source.uri)
    target = RecordingStore(Path(config.target.uri))
    ctx = StepContext(config, source, target, run_id, SourceReader(source, config.source))
    return run_local(ctx, first=FIRST, last=LAST, workers=2), target


def staged_aggregates(config: Config) -> list[Path]:
    return sorted((Path(config.target.uri) / "staging" / "daily").rglob("*.parquet"))


def test_a_run_lists_staging_once_and_reads_back_nothing_it_wrote(config: Config) -> None:
    result, target = run(config, "r1")

    assert result.exit_code == 0 and result.summary and result.summary.done == 5
    assert target.count("list", "staging/daily/") == 1  # not one per date
    assert target.count("get", "staging/daily/") == 0  # every date is new: nothing to reuse
    assert target.count("delete", "staging/daily/") == 0
    assert target.count("get", "meta/dates/") == 0  # merge knows the records this run wrote
    assert target.count("delete", "/report/") == 0  # `run` stages no report to remove
    assert target.count("list", "staging/runs/r1/report/") == 1
    meta = (Path(config.target.uri) / "meta" / "meta.csv").read_text()
    assert meta.count(",done,") == 5


def test_a_rerun_reuses_staged_aggregates_and_removes_stale_ones(config: Config) -> None:
    run(config, "r1")
    before = staged_aggregates(config)
    assert len(before) == 5
    # One date's source changes (a new object): its fingerprint, and so its aggregates' key.
    changed = Path(config.source.uri) / "2021-03-03"
    extra = changed / "2021-03-03_BINS_XETR23.csv"
    extra.write_bytes(sorted(changed.glob("*.csv"))[0].read_bytes().splitlines(True)[0])

    result, target = run(config, "r2")

    assert result.exit_code == 0 and result.summary
    assert target.count("list", "staging/daily/") == 1
    after = staged_aggregates(config)
    assert len(after) == 5  # the changed date's old aggregates are gone, its new ones there
    assert [p for p in before if "2021-03-03" in str(p)] != [
        p for p in after if "2021-03-03" in str(p)
    ]
    assert [p for p in before if "2021-03-03" not in str(p)] == [
        p for p in after if "2021-03-03" not in str(p)
    ]
    assert target.count("delete", "staging/daily/2021-03-03/") == 1


def test_aggregates_for_without_a_listing_still_removes_stale_aggregates(config: Config) -> None:
    """The Argo extract step reads one date at a time, with no run-wide listing."""
    run(config, "r1")
    source = LocalStore(config.source.uri)
    target = RecordingStore(Path(config.target.uri))
    ctx = StepContext(config, source, target, "r2", SourceReader(source, config.source))
    first_folder = Path(config.target.uri) / "staging" / "daily" / FIRST.isoformat()
    for staged in first_folder.glob("*.parquet"):
        staged.unlink()  # the first date's aggregates are missing: extracted again
    stale = first_folder / "old-fingerprint.parquet"
    stale.write_bytes(b"left by an earlier source")
    dates = list_source_dates(source, FIRST, LAST)

    aggregates_for(ctx, dates[FIRST])
    aggregates_for(ctx, dates[dt.date(2021, 3, 2)])

    assert target.count("get", f"staging/daily/{FIRST}/") == 1  # tried, missing, extracted
    assert target.count("list", f"staging/daily/{FIRST}/") == 1
    assert not stale.exists()
    assert len(list(first_folder.glob("*.parquet"))) == 1
    assert target.count("get", "staging/daily/2021-03-02/") == 1  # reused as staged
    assert target.count("list", "staging/daily/2021-03-02/") == 0


def test_a_run_loads_each_date_before_it_reads_the_next(config: Config) -> None:
    """A date is loaded as soon as its window is extracted, ahead of further extractions: dates
    finish one after another during a long run, not all at a batch's end."""
    source, target = RecordingStore(config.source.uri), RecordingStore(config.target.uri)
    target.requests = source.requests  # one log, in the order the requests were made
    ctx = StepContext(config, source, target, "r1", SourceReader(source, config.source))

    result = run_local(ctx, first=FIRST, last=LAST, workers=1)

    assert result.exit_code == 0 and result.summary and result.summary.done == 5
    reports = ctx.layout.report_prefix + "/"
    steps = []
    for op, key in source.requests:
        if op == "open":
            steps.append(("read", key[:10]))
        elif op == "put" and key.startswith(reports):
            steps.append(("load", key.removeprefix(reports + "date=")[:10]))
    days = [(FIRST + dt.timedelta(days=i)).isoformat() for i in range(5)]
    loads = [steps.index(("load", day)) for day in days]
    first_reads = [steps.index(("read", day)) for day in days]
    assert all(load < next_read for load, next_read in zip(loads, first_reads[1:], strict=False))
