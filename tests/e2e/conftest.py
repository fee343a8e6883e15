"""End-to-end fixtures: a source and a target on a real S3 server or on local directories, and
the real console scripts run as subprocesses against them."""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
import yaml

from tests import oracle
from xetra_etl.common.adapters.storage.factory import open_store
from xetra_etl.common.adapters.storage.local import LocalStore
from xetra_etl.common.app.demo_data import generate
from xetra_etl.common.ports import ObjectStore

FIRST_DATA = dt.date(2021, 3, 1)  # data starts before the first reported date
FIRST = dt.date(2021, 3, 3)
LAST = dt.date(2021, 3, 10)  # the newest date is written as per-minute files
LOOKBACK = 3


def console_script(name: str) -> str:
    found = shutil.which(name, path=str(Path(sys.executable).parent))
    assert found, f"{name} is not installed next to {sys.executable}; run `make install`"
    return found


@dataclass
class Place:
    kind: str
    source_uri: str
    target_uri: str
    env: dict[str, str]
    tmp: Path
    endpoint_url: str | None = None
    runs: list[subprocess.CompletedProcess[str]] = field(default_factory=list)

    @property
    def source(self) -> ObjectStore:
        return open_store(self.source_uri, endpoint_url=self.endpoint_url)

    @property
    def target(self) -> ObjectStore:
        return open_store(self.target_uri, endpoint_url=self.endpoint_url)

    def write_config(self, name: str = "config.yaml", **sections: dict[str, Any]) -> Path:
        config: dict[str, Any] = {
            "source": {"uri": self.source_uri},
            "target": {"uri": self.target_uri},
            "pipeline": {
                "first_date": FIRST.isoformat(),
                "prev_close_lookback_days": LOOKBACK,
                "workers": 2,
            },
        }
        for section, values in sections.items():
            config.setdefault(section, {}).update(values)
        path = self.tmp / name
        path.write_text(yaml.safe_dump(config))
        return path

    def cli(
        self, *args: str, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [console_script("xetra-etl"), *args],
            env={**os.environ, **self.env, "XETRA_LOG_FORMAT": "json", **(env or {})},
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        self.runs.append(result)
        return result

    def run(self, config: Path | None = None, *extra: str) -> dict[str, Any]:
        """`xetra-etl run --json`; returns the run summary, asserting nothing about the exit."""
        config = config or self.write_config()
        result = self.cli(
            "run", "--config", str(config), "--last-date", LAST.isoformat(), "--json", *extra
        )
        assert result.stdout.strip(), f"no run summary on stdout; stderr:\n{result.stderr[-3000:]}"
        report: dict[str, Any] = json.loads(result.stdout)
        report["exit_code"] = result.returncode
        report["stderr"] = result.stderr
        return report

    def report_rows(self, report_prefix: str = "reports/daily") -> list[dict[str, Any]]:
        target = self.target
        rows: list[dict[str, Any]] = []
        for info in target.list(f"{report_prefix}/"):
            day = dt.date.fromisoformat(info.key.split("date=")[1][:10])
            table = pq.read_table(io.BytesIO(target.get(info.key).data))
            rows += [{"date": day, **row} for row in table.to_pylist()]
        return sorted(rows, key=lambda r: (r["date"], r["isin"]))

    def expected_rows(self, **options: Any) -> list[dict[str, Any]]:
        rows = oracle.report(self.source, first=FIRST, last=LAST, lookback=LOOKBACK, **options)
        return sorted(rows, key=lambda r: (r["date"], r["isin"]))


def processed(report: dict[str, Any]) -> set[str]:
    return {d["date"] for d in report["dates"] if d["state"] == "done"}


def failed(report: dict[str, Any]) -> set[str]:
    return {d["date"] for d in report["dates"] if d["state"] != "done"}


def write_demo(store: ObjectStore) -> None:
    generate(
        store,
        first_date=FIRST_DATA,
        days=(LAST - FIRST_DATA).days + 1,
        securities_count=12,
        seed=11,
    )


S3_SERVER_FIXTURES = {"seaweedfs": "seaweedfs", "moto": "moto_server"}


def make_place(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> Place:
    """Demo data in a source and an empty target: `local` directories or an S3 server's bucket."""
    if kind == "local":
        found = Place("local", str(tmp_path / "source"), str(tmp_path / "target"), {}, tmp_path)
        write_demo(LocalStore(found.source_uri, durable=False))
        return found
    server = request.getfixturevalue(S3_SERVER_FIXTURES[kind])
    bucket = server.make_bucket()
    found = Place(
        kind,
        f"s3://{bucket}/xetra-pds",
        f"s3://{bucket}/out",
        server.env(),
        tmp_path,
        endpoint_url=server.endpoint_url,
    )
    write_demo(found.source)
    return found


@pytest.fixture(params=["local", "seaweedfs"])
def place(request: pytest.FixtureRequest, tmp_path: Path) -> Place:
    """A source with demo data and an empty target, on each backend in turn."""
    return make_place(request.param, request, tmp_path)


@pytest.fixture
def s3_place(request: pytest.FixtureRequest, tmp_path: Path) -> Place:
    """The same on SeaweedFS only."""
    return make_place("seaweedfs", request, tmp_path)


@pytest.fixture
def local_place(request: pytest.FixtureRequest, tmp_path: Path) -> Place:
    return make_place("local", request, tmp_path)
