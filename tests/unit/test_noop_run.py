"""A run with nothing new lists the source and reads job control, but fetches no source object
and no report partition."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterator
from pathlib import Path

from xetra_etl.common.adapters.source_reader import SourceReader
from xetra_etl.common.adapters.storage.base import Blob, ObjectInfo
from xetra_etl.common.adapters.storage.local import LocalStore
from xetra_etl.common.app.context import StepContext
from xetra_etl.common.app.demo_data import generate
from xetra_etl.common.entrypoints.localrun import run_local
from xetra_etl.common.infra.config import parse_config


class CountingStore(LocalStore):
    gets = 0
    keys: list[str] = []  # noqa: RUF012 (shared on purpose: every store of the run counts here)

    def get(self, key: str) -> Blob:
        CountingStore.gets += 1
        CountingStore.keys.append(self.location(key))
        return super().get(key)

    def open_object(self, key: str) -> io.FileIO:
        CountingStore.gets += 1
        CountingStore.keys.append(self.location(key))
        return super().open_object(key)

    def list(self, prefix: str = "", *, start_after: str = "") -> Iterator[ObjectInfo]:
        yield from super().list(prefix, start_after=start_after)


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

    def ctx(run_id: str) -> StepContext:
        source = CountingStore(config.source.uri)
        reader = SourceReader(source, config.source)
        return StepContext(config, source, CountingStore(config.target.uri), run_id, reader)

    first = run_local(ctx("r1"), first=dt.date(2021, 3, 1), last=dt.date(2021, 3, 5), workers=1)
    assert first.exit_code == 0 and first.summary and first.summary.done == 5
    CountingStore.keys.clear()
    second = run_local(ctx("r2"), first=dt.date(2021, 3, 1), last=dt.date(2021, 3, 5), workers=1)
    assert second.exit_code == 0 and second.summary and second.summary.done == 0
    source = str(tmp_path / "src")
    assert [k for k in CountingStore.keys if k.startswith(source)] == []
    assert [k for k in CountingStore.keys if "/date=" in k] == []
    assert CountingStore.keys  # the target's job control was read through the counting store
