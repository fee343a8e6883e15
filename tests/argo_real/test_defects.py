"""The four defects a source reading found, and what is retried, on the real Argo controller.

Each test would fail with the pipeline as it was: notify given `{{workflow.failures}}` of any
size (the controller, under the release's RBAC, cannot create the ConfigMap it offloads large
arguments to, so the exit handler's pod fails); the retry expression `asInt(lastRetry.exitCode)
== 75` (an evicted or Error attempt not retried); discover without a bound on work items. The
backoff waited before the retry decision is the controller's behaviour: the test pins it and
the double's model of it (tests/argo_sim) to the same number.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from typing import Any

import pytest
import yaml

from tests.argo_real import test_flows
from tests.argo_real.lab import NAMESPACE, REPO, Lab, iter_nodes
from tests.argo_real.test_flows import (
    BAD_DAY,
    FIRST,
    LAST,
    RUN_TIMEOUT,
    SOURCE_PREFIX,
    Webhook,
    break_a_price,
    cluster_report,
    describe,
    local_report,
    nodes_by_display,
    submit,
)
from xetra_etl.common.adapters.storage.factory import open_store
from xetra_etl.common.app.demo_data import generate
from xetra_etl.workflows.settings import RetryPolicy

pytestmark = pytest.mark.argo

BACKOFF = RetryPolicy().backoff_duration  # "30s"
EVICTED = (
    "The node was low on resource: memory. Threshold quantity: 100Mi, available: 84Mi. "
    "Container main was using 1210Mi, request is 128Mi, has larger consumption of memory. "
)


# The flows' fixtures: the sample dates as published, an empty target, no plan; the webhook.
fresh = test_flows.fresh
webhook = test_flows.webhook


def _attempts(workflow: dict[str, Any], day: str, step: str) -> list[dict[str, Any]]:
    found = [
        n
        for n in iter_nodes(workflow)
        if n["type"] == "Pod" and day in n["name"] and f".{step}(" in n["name"]
    ]
    return sorted(found, key=lambda n: n["name"])


def _retry_node(workflow: dict[str, Any], day: str, step: str) -> dict[str, Any]:
    return next(
        n
        for n in iter_nodes(workflow)
        if n["type"] == "Retry" and day in n["name"] and n["name"].endswith(f".{step}")
    )


def _seconds(stamp: str) -> float:
    return dt.datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


# -- 1. notify does not depend on the size of {{workflow.failures}} ---------------------------
MANY_FIRST, MANY_DAYS = dt.date(2019, 1, 1), 63  # about 45 trading dates
LONG_VALUE = "X" * 3000  # each failed date's error line then is ~3.1 KiB: over 128 KiB in all


def _spoil_every_date(source: Any) -> list[str]:
    """Give every date of the source one unreadable StartPrice; returns the dates."""
    spoiled: dict[str, str] = {}
    for info in source.list(""):
        day = info.key.split("/")[0]
        if info.size <= 136 or day in spoiled:
            continue
        lines = source.get(info.key).data.decode().splitlines()
        header = next(csv.reader([lines[0]]))
        row = next(csv.reader([lines[1]]))
        row[header.index("StartPrice")] = LONG_VALUE
        out = io.StringIO()
        csv.writer(out, lineterminator="\n").writerow(row)
        lines[1] = out.getvalue().rstrip("\n")
        source.put(info.key, ("\n".join(lines) + "\n").encode())
        spoiled[day] = info.key
    return sorted(spoiled)


def _many_failed_dates(lab: Lab) -> list[str]:
    """A source of only MANY_DAYS of generated dates, each with one unreadable price."""
    assert lab.s3 is not None
    admin = lab.s3.admin
    for key in lab.s3.keys("xetra-source"):
        admin.delete_object(Bucket="xetra-source", Key=key)
    source = open_store(f"s3://xetra-source/{SOURCE_PREFIX}", endpoint_url=lab.s3.endpoint_url)
    generate(source, first_date=MANY_FIRST, days=MANY_DAYS, securities_count=2, seed=3)
    days = _spoil_every_date(source)
    assert len(days) >= 40
    return days


def _submit_range(lab: Lab, template: str, days: list[str]) -> str:
    return lab.argo(
        "submit", "-n", NAMESPACE, "--from", f"workflowtemplate/{template}",
        "-p", f"first-date={days[0]}", "-p", f"last-date={days[-1]}", "-o", "name",
    ).strip().split("/")[-1]  # fmt: skip


AS_IT_WAS = "xetra-etl-as-it-was"


def test_exit_handler_errors_and_no_one_is_told_when_notify_gets_the_whole_failures_list(
    fresh: Lab, webhook: Webhook
) -> None:
    """The pipeline as it was (`failures: {{workflow.failures}}`), under the release's RBAC."""
    template = yaml.safe_load(
        (REPO / "workflows" / "manifests" / "workflowtemplate-xetra-etl.yaml").read_text()
    )
    template["metadata"]["name"] = AS_IT_WAS
    for tmpl in template["spec"]["templates"]:
        for task in tmpl.get("dag", {}).get("tasks", []):
            for param in task.get("arguments", {}).get("parameters", []):
                if task["name"] == "notify" and param["name"] == "failures":
                    param["value"] = "{{workflow.failures}}"
    fresh.kubectl("apply", "-n", NAMESPACE, "-f", "-", input=yaml.safe_dump(template))
    try:
        name = _submit_range(fresh, AS_IT_WAS, _many_failed_dates(fresh))
        workflow = fresh.wait_workflow(name, 3 * RUN_TIMEOUT)
    finally:
        fresh.kubectl("-n", NAMESPACE, "delete", "workflowtemplate", AS_IT_WAS)
    assert workflow["status"]["phase"] == "Failed", describe(fresh, name)
    log = fresh.controller.log_path.read_text(errors="replace")
    assert 'cannot create resource \\"configmaps\\"' in log or "configmaps is forbidden" in log
    assert webhook.for_run(name) == []


def test_notify_names_every_failed_date_when_the_failures_list_is_over_the_offload_limit(
    fresh: Lab, webhook: Webhook
) -> None:
    days = _many_failed_dates(fresh)
    name = _submit_range(fresh, "xetra-etl", days)
    workflow = fresh.wait_workflow(name, 3 * RUN_TIMEOUT)
    failed = [n for n in iter_nodes(workflow) if n["type"] == "Pod" and n["phase"] == "Failed"]
    assert sum(len(n.get("message", "")) for n in failed) > 131072  # common.MaxEnvVarLen
    # As it was, the notify pod needed a ConfigMap the controller may not create: Error.
    assert workflow["status"]["phase"] == "Failed", describe(fresh, name)
    notify = next(n for n in iter_nodes(workflow) if n["name"].endswith(".onExit.notify"))
    assert notify["phase"] == "Succeeded", describe(fresh, name)
    (post,) = webhook.for_run(name)
    assert sorted(e["date"] for e in post["failed_dates"]) == days
    assert {e["source"] for e in post["failed_dates"]} == {"failure-record"}
    pods = {r["name"] for r in fresh.journal() if r["workflow"] == name}
    assert all(e["step"] == "extract" and e["pod"] in pods for e in post["failed_dates"])
    assert post["failures"] == []  # omitted: over 32768 bytes


# -- 2. the backoff is waited before the retry decision -------------------------------------------
def test_data_error_is_final_one_backoff_after_its_pod_as_the_double_models_it(
    fresh: Lab, webhook: Webhook
) -> None:
    break_a_price(fresh)
    name = submit(fresh)
    workflow = fresh.wait_workflow(name, RUN_TIMEOUT)
    assert workflow["status"]["phase"] == "Failed", describe(fresh, name)
    (attempt,) = [a for a in _attempts(workflow, BAD_DAY, "extract") if a["phase"] == "Failed"]
    retry = _retry_node(workflow, BAD_DAY, "extract")
    assert retry["message"] == "retryStrategy.expression evaluated to false"
    waited = _seconds(retry["finishedAt"]) - _seconds(attempt["finishedAt"])
    assert 30 <= waited < 60, (waited, describe(fresh, name))  # double: exactly 30 (BACKOFF)
    assert BACKOFF == "30s"


# -- 3. and issue's four cases: what is retried ---------------------------------------------------
@pytest.mark.parametrize(
    "first",
    [{"fail": "wait", "code": 1, "message": "failed to save the log"}, {"fail": "init"}],
    ids=["wait-error", "init-error"],
)
def test_error_attempt_is_retried_and_the_run_succeeds(
    fresh: Lab, webhook: Webhook, first: dict[str, Any]
) -> None:
    fresh.set_plan({f"*.process(*{LAST}*).extract(0)": [first]})
    name = submit(fresh)
    workflow = fresh.wait_workflow(name, RUN_TIMEOUT)
    assert workflow["status"]["phase"] == "Succeeded", describe(fresh, name)
    attempts = _attempts(workflow, LAST, "extract")
    assert [a["phase"] for a in attempts] == ["Error", "Succeeded"], describe(fresh, name)


def test_evicted_extract_attempt_is_retried_and_the_report_is_exact(
    fresh: Lab, webhook: Webhook, tmp_path: Any
) -> None:
    # At the containers' start (`after` counts from there): a short step can be over within a
    # second, and an eviction after main's exit 0 is not the evicted attempt this test means.
    fresh.set_plan({f"*.process(*{LAST}*).extract(0)": [{"kill": "evict", "after": 0}]})
    name = submit(fresh)
    workflow = fresh.wait_workflow(name, RUN_TIMEOUT)
    assert workflow["status"]["phase"] == "Succeeded", describe(fresh, name)
    evicted, second = _attempts(workflow, LAST, "extract")
    # The controller first makes the attempt Failed with the kubelet's message (retried by
    # its prefix). Here the evicted pod was also deleted while the Retry node waited out its
    # backoff, and podReconciliation then turned the node into Error "pod deleted" (retried as
    # an Error attempt). Either way `asInt(lastRetry.exitCode) == 75` retried neither.
    assert (evicted["phase"], evicted["message"][:29]) in {
        ("Failed", "The node was low on resource:"),
        ("Error", "pod deleted"),
    }, describe(fresh, name)
    log = fresh.controller.log_path.read_text(errors="replace")
    assert "The node was low on resource: memory." in log
    assert second["phase"] == "Succeeded"
    assert cluster_report(fresh) == local_report(fresh, tmp_path)
    (post,) = webhook.for_run(name)
    assert post["failed_dates"] == []


def test_oom_killed_attempt_is_not_retried_and_the_webhook_says_to_raise_the_limit(
    fresh: Lab, webhook: Webhook
) -> None:
    fresh.set_plan({f"*.process(*{LAST}*).transform(0)": [{"kill": "oom", "after": 0}]})
    name = submit(fresh)
    workflow = fresh.wait_workflow(name, RUN_TIMEOUT)
    assert workflow["status"]["phase"] == "Failed", describe(fresh, name)
    (attempt,) = _attempts(workflow, LAST, "transform")
    assert attempt["message"].startswith("main: OOMKilled (exit code 137)"), attempt
    retry = _retry_node(workflow, LAST, "transform")
    assert retry["message"] == "retryStrategy.expression evaluated to false"
    (post,) = webhook.for_run(name)
    (entry,) = post["failed_dates"]
    assert entry["date"] == LAST and entry["source"] == "workflow.failures"
    assert "raise its memory limit" in entry["hint"]


def test_data_error_65_is_not_retried(fresh: Lab, webhook: Webhook) -> None:
    fresh.set_plan({f"*.process(*{LAST}*).load(0)": [{"code": 65, "message": "bad row"}]})
    name = submit(fresh)
    workflow = fresh.wait_workflow(name, RUN_TIMEOUT)
    assert workflow["status"]["phase"] == "Failed", describe(fresh, name)
    assert [a["phase"] for a in _attempts(workflow, LAST, "load")] == ["Failed"]
    (post,) = webhook.for_run(name)
    assert [(e["date"], e["step"]) for e in post["failed_dates"]] == [(LAST, "load")]


# -- 4. discover bounds the work items per run ----------------------------------------------------
def _config_with(lab: Lab, **pipeline: Any) -> str:
    """Change `pipeline` keys of the live pipeline ConfigMap (the lab's, with its S3 endpoint);
    returns the ConfigMap as it was, to apply again."""
    live = json.loads(
        lab.kubectl("-n", NAMESPACE, "get", "configmap", "xetra-etl-config", "-o", "json")
    )
    original = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "xetra-etl-config", "namespace": NAMESPACE},
        "data": dict(live["data"]),
    }
    config = yaml.safe_load(live["data"]["config.yaml"])
    config["pipeline"].update(pipeline)
    changed = {**original, "data": {**original["data"], "config.yaml": yaml.safe_dump(config)}}
    lab.kubectl("apply", "-f", "-", input=yaml.safe_dump(changed))
    return yaml.safe_dump(original)


def test_discover_defers_dates_beyond_the_item_bound_to_the_next_run(
    fresh: Lab, webhook: Webhook
) -> None:
    original = _config_with(fresh, max_items_per_run=1)
    try:
        first = submit(fresh)
        workflow = fresh.wait_workflow(first, RUN_TIMEOUT)
        assert workflow["status"]["phase"] == "Succeeded", describe(fresh, first)
        items = [n for n in iter_nodes(workflow) if n["type"] == "DAG" and "process(" in n["name"]]
        assert len(items) == 1 and FIRST in items[0]["name"], describe(fresh, first)
        outputs = nodes_by_display(workflow)["discover"]["outputs"]["parameters"]
        summary = json.loads(next(p["value"] for p in outputs if p["name"] == "summary"))
        assert summary["deferred_dates"] == 1 and summary["deferred_from"] == LAST
        second = submit(fresh)
        workflow = fresh.wait_workflow(second, RUN_TIMEOUT)
        assert workflow["status"]["phase"] == "Succeeded", describe(fresh, second)
        assert {r["date"].isoformat() for r in cluster_report(fresh)} == {FIRST, LAST}
    finally:
        fresh.kubectl("apply", "-f", "-", input=original)
