"""The weekly CronWorkflow: Monday morning Berlin time, never overlapping, failures kept."""

from __future__ import annotations

from typing import Any


def test_cron_runs_weekly_in_berlin_time_when_scheduled(cron: dict[str, Any]) -> None:
    spec = cron["spec"]
    assert spec["schedules"] == ["0 6 * * 1"]
    assert "schedule" not in spec  # removed in the v4 schema
    assert spec["timezone"] == "Europe/Berlin"


def test_cron_forbids_overlap_when_last_run_is_still_going(cron: dict[str, Any]) -> None:
    assert cron["spec"]["concurrencyPolicy"] == "Forbid"
    assert cron["spec"]["startingDeadlineSeconds"] > 0


def test_cron_keeps_failed_runs_when_history_is_pruned(cron: dict[str, Any]) -> None:
    spec = cron["spec"]
    assert spec["failedJobsHistoryLimit"] >= spec["successfulJobsHistoryLimit"] >= 1


def test_cron_references_pipeline_template_when_started(
    cron: dict[str, Any], ctx: dict[str, Any]
) -> None:
    workflow_spec = cron["spec"]["workflowSpec"]
    assert workflow_spec["workflowTemplateRef"] == {"name": ctx["metadata"]["name"]}
    assert "templates" not in workflow_spec
