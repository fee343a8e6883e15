"""`xetra-etl run` loads a date as soon as its window is extracted, before further extractions:
dates finish one after another during a long run, not all at a batch's end."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from tests.recording_store import RecordingStore
from xetra_etl.common.adapters.source_reader import SourceReader
from xetra_etl.common.adapters.storage.local import LocalStore
from xetra_etl.common.app.context import StepContext
from xetra_etl.common.app.demo_data import generate
from xetra_etl.common.entrypoints.localrun import run_local
from xetra_etl.common.infra.config import parse_config

FIRST = dt.date(2021, 3, 1)


def test_each_date_is_loaded_before_the_next_is_read(tmp_path: Path) -> None:
    generate(
        LocalStore(tmp_path / "src", durable=False), first_date=FIRST, days=5, securities_count=3
    )
    config = parse_config(
        {
            "source": {"uri": str(tmp_path / "src")},
            "target": {"uri": str(tmp_path / "tgt")},
            "pipeline": {"first_date": FIRST.isoformat()},
            "logging": {"level": "warning"},
        },
        env={},
    )
    source, target = RecordingStore(config.source.uri), RecordingStore(config.target.uri)
    target.requests = source.requests  # one log, in the order the requests were made
    ctx = StepContext(config, source, target, "r1", SourceReader(source, config.source))

    result = run_local(ctx, first=FIRST, last=FIRST + dt.timedelta(days=4), workers=1)

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
