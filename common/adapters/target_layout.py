"""Where everything lives in the target store, derived from the target config in one place."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from xetra_etl.common.infra.config import TargetConfig


@dataclass(frozen=True)
class TargetLayout:
    report_prefix: str
    meta_prefix: str
    staging_prefix: str
    runs_prefix: str

    @classmethod
    def from_config(cls, target: TargetConfig) -> TargetLayout:
        return cls(
            target.report_prefix, target.meta_prefix, target.staging_prefix, target.runs_prefix
        )

    # The report dataset: nothing but these partitions lives under the report prefix.
    def partition_prefix(self, day: dt.date) -> str:
        return f"{self.report_prefix}/date={day.isoformat()}/"

    def partition_key(self, day: dt.date) -> str:
        return f"{self.partition_prefix(day)}part-0.parquet"

    # Job control.
    @property
    def records_prefix(self) -> str:
        return f"{self.meta_prefix}/dates/"

    def record_key(self, day: dt.date) -> str:
        return f"{self.records_prefix}{day.isoformat()}.json"

    @property
    def meta_key(self) -> str:
        return f"{self.meta_prefix}/meta.csv"

    @property
    def lock_key(self) -> str:
        return f"{self.meta_prefix}/lock.json"

    # Staging: daily aggregates are content-addressed by the date's fingerprint and kept across
    # runs; a run's own hand-over objects live under its run id and are removed by merge.
    @property
    def aggregates_root(self) -> str:
        return f"{self.staging_prefix}/daily/"

    def aggregates_prefix(self, day: dt.date) -> str:
        return f"{self.aggregates_root}{day.isoformat()}/"

    def aggregates_key(self, day: dt.date, fingerprint: str) -> str:
        return f"{self.aggregates_prefix(day)}{fingerprint}.parquet"

    def run_staging_prefix(self, run_id: str) -> str:
        return f"{self.staging_prefix}/runs/{run_id}/"

    def plan_key(self, run_id: str) -> str:
        return f"{self.run_staging_prefix(run_id)}plan.json"

    def staged_reports_prefix(self, run_id: str) -> str:
        return f"{self.run_staging_prefix(run_id)}report/"

    def staged_report_key(self, run_id: str, day: dt.date) -> str:
        return f"{self.staged_reports_prefix(run_id)}{day.isoformat()}.parquet"

    # Run summaries and saved logs.
    def run_summary_key(self, run_id: str) -> str:
        return f"{self.runs_prefix}/{run_id}/summary.json"

    def run_log_key(self, run_id: str) -> str:
        return f"{self.runs_prefix}/{run_id}/log.jsonl"
