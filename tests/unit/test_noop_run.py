"""A run with nothing new lists the source and reads job control, but fetches no source object
and no report partition."""

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


def test_second_run_fetches_no_source_object(tmp_path: Path) -> None:
    generate(
        LocalStore(tmp_path / "src", durable=False),
        first_date=dt.date(2021, 3, 1),
        days=5,
        securities_count=4,
    )
    config = parse_config(
        {
            "source": {"uri": str(tmp_path / "src")},
            "target": {"uri": str(tmp_path / "tgt")},
            "pipeline": {"first_date": "2021-03-01"},
            "logging": {"level": "warning"},
        },
        env={},
    )

    source, target = RecordingStore(config.source.uri), RecordingStore(config.target.uri)

    def ctx(run_id: str) -> StepContext:
        reader = SourceReader(source, config.source)
        return StepContext(config, source, target, run_id, reader)

    first = run_local(ctx("r1"), first=dt.date(2021, 3, 1), last=dt.date(2021, 3, 5), workers=1)
    assert first.exit_code == 0 and first.summary and first.summary.done == 5
    source.requests.clear()
    target.requests.clear()
    second = run_local(ctx("r2"), first=dt.date(2021, 3, 1), last=dt.date(2021, 3, 5), workers=1)
    assert second.exit_code == 0 and second.summary and second.summary.done == 0
    assert source.reads() == []
    assert [k for k in target.reads() if "/date=" in k] == []
    assert target.reads()  # the target's job control was read through the recording store
