"""The pipeline template keeps the settings that make failures visible and retryable."""

from __future__ import annotations

import re
from typing import Any

import pytest

DAY = 86_400


def _templates(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {t["name"]: t for t in doc["spec"]["templates"]}


def _tasks(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {t["name"]: t for t in template["dag"]["tasks"]}


def _args(task: dict[str, Any]) -> dict[str, str]:
    return {p["name"]: p["value"] for p in task.get("arguments", {}).get("parameters", [])}


@pytest.fixture(scope="module")
def main_tasks(ctx: dict[str, Any]) -> dict[str, dict[str, Any]]:
    spec = ctx["spec"]
    return _tasks(_templates(ctx)[spec["entrypoint"]])


def test_pipeline_takes_date_range_and_chunk_size_when_submitted(ctx: dict[str, Any]) -> None:
    params = {p["name"]: p["value"] for p in ctx["spec"]["arguments"]["parameters"]}
    # chunk-size empty: discover takes the config's pipeline.chunk_size unless given at submit
    assert params == {"first-date": "", "last-date": "", "chunk-size": ""}


def test_discover_receives_workflow_parameters_and_run_id_when_started(
    main_tasks: dict[str, dict[str, Any]],
) -> None:
    args = _args(main_tasks["discover"])
    assert args == {
        "first-date": "{{workflow.parameters.first-date}}",
        "last-date": "{{workflow.parameters.last-date}}",
        "chunk-size": "{{workflow.parameters.chunk-size}}",
        "run-id": "{{workflow.name}}",
    }


def test_fan_out_reads_discover_file_output_when_expanding(
    main_tasks: dict[str, dict[str, Any]], library: dict[str, Any]
) -> None:
    process = main_tasks["process"]
    assert process["withParam"] == "{{tasks.discover.outputs.parameters.dates}}"
    assert "result" not in process["withParam"]
    assert process["depends"] == "discover"
    discover = _templates(library)["discover"]
    dates = {p["name"]: p for p in discover["outputs"]["parameters"]}["dates"]
    assert "path" in dates["valueFrom"]


def test_each_item_is_a_nested_dag_of_extract_transform_load_when_expanded(
    ctx: dict[str, Any], main_tasks: dict[str, dict[str, Any]]
) -> None:
    process = main_tasks["process"]
    assert _args(process) == {"dates": "{{item}}"}
    nested = _templates(ctx)[process["template"]]
    tasks = _tasks(nested)
    assert list(tasks) == ["extract", "transform", "load"]
    assert "depends" not in tasks["extract"]
    assert tasks["transform"]["depends"] == "extract"
    assert tasks["load"]["depends"] == "transform"
    for task in tasks.values():
        assert _args(task) == {
            "dates": "{{inputs.parameters.dates}}",
            "run-id": "{{workflow.name}}",
        }


def test_merge_depends_plainly_on_fan_out_when_a_date_fails(
    main_tasks: dict[str, dict[str, Any]], rendered: dict[str, str]
) -> None:
    assert main_tasks["merge"]["depends"] == "process"
    assert all("AnySucceeded" not in text for text in rendered.values())
    assert _args(main_tasks["merge"]) == {"run-id": "{{workflow.name}}"}


def test_fan_out_dag_does_not_fail_fast_when_one_date_fails(ctx: dict[str, Any]) -> None:
    main = _templates(ctx)[ctx["spec"]["entrypoint"]]
    assert main["dag"]["failFast"] is False


def test_every_step_task_uses_library_via_template_ref_when_rendered(
    ctx: dict[str, Any], library: dict[str, Any]
) -> None:
    library_templates = _templates(library)
    refs = 0
    for template in ctx["spec"]["templates"]:
        for task in template["dag"]["tasks"]:
            if "templateRef" not in task:
                assert task["template"] in _templates(ctx)
                continue
            refs += 1
            ref = task["templateRef"]
            assert ref["name"] == library["metadata"]["name"]
            target = library_templates[ref["template"]]
            declared = {p["name"] for p in target["inputs"]["parameters"]}
            assert set(_args(task)) == declared, f"{task['name']} arguments"
    assert refs == 6


def test_exit_handler_notifies_status_and_failures_when_run_ends(ctx: dict[str, Any]) -> None:
    handler = _templates(ctx)[ctx["spec"]["onExit"]]
    (notify,) = handler["dag"]["tasks"]
    assert notify["templateRef"]["template"] == "notify"
    assert _args(notify) == {
        "run-id": "{{workflow.name}}",
        "status": "{{workflow.status}}",
        "failures": (
            "{{=len(workflow.failures) <= 32768 ? workflow.failures : 'omitted: over 32768 bytes'}}"
        ),
    }


def test_pipeline_holds_one_mutex_when_two_runs_start(ctx: dict[str, Any]) -> None:
    sync = ctx["spec"]["synchronization"]
    assert list(sync) == ["mutexes"]  # v4 style; `mutex` is gone from the v4 schema
    assert len(sync["mutexes"]) == 1


def test_pipeline_bounds_fan_out_when_many_dates(ctx: dict[str, Any]) -> None:
    assert 1 <= ctx["spec"]["parallelism"] <= 32


def test_failed_runs_stay_retryable_when_retention_applies(ctx: dict[str, Any]) -> None:
    spec = ctx["spec"]
    assert spec["podGC"]["strategy"] == "OnPodSuccess"
    assert spec["ttlStrategy"]["secondsAfterFailure"] >= 7 * DAY
    assert "secondsAfterCompletion" not in spec["ttlStrategy"]
    assert spec["archiveLogs"] is True


def test_pipeline_exports_prometheus_metrics_when_run(ctx: dict[str, Any]) -> None:
    workflow_metrics = {m["name"]: m for m in ctx["spec"]["metrics"]["prometheus"]}
    duration = workflow_metrics["xetra_etl_run_duration_seconds"]
    assert duration["gauge"] == {"value": "{{workflow.duration}}", "realtime": True}
    nested = _templates(ctx)["process-dates"]
    date_metrics = {m["name"]: m for m in nested["metrics"]["prometheus"]}
    assert set(date_metrics) == {"xetra_etl_dates_processed_total", "xetra_etl_dates_failed_total"}
    assert all("counter" in m and "when" in m for m in date_metrics.values())


def test_run_id_is_workflow_name_when_passed_to_steps(rendered: dict[str, str]) -> None:
    text = rendered["workflowtemplate-xetra-etl.yaml"]
    run_ids = re.findall(r"name: run-id\n\s+value: '([^']*)'", text)
    assert run_ids and set(run_ids) == {"{{workflow.name}}"}
