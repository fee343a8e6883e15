"""The pipeline's flows on the real Argo controller (v4.0.5), with real Xetra sample dates.

Every test starts from the source uploaded again and an empty target, submits through the real
`argo` CLI, and reads the workflow from the API server. One runs the submit flow in the
kubelet's image mode: every step from its image's root filesystem (buildah mount). One run at a
time (the templates' mutex); timeouts are generous for a loaded two-core machine.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import subprocess
import threading
import time
from collections.abc import Iterator, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
import yaml

from tests.argo_real.kubelet import ImageRoot
from tests.argo_real.lab import NAMESPACE, REPO, Lab, iter_nodes
from tests.argo_real.step_images import (
    build_for,
    images_by_template,
    mounted_images,
    template_images,
)
from tests.e2e.conftest import console_script
from tests.s3servers import free_ports
from tests.sample_data import sample_dir
from xetra_etl.common.adapters.storage.factory import open_store

pytestmark = pytest.mark.argo

FIRST, LAST = "2017-07-27", "2017-07-28"
SOURCE_PREFIX = "xetra-pds"  # minikube/pipeline-config.yaml: s3://xetra-source/xetra-pds
REPORTS = "reports/daily"
RUN_TIMEOUT = 900.0


class Webhook:
    """A local HTTP server standing in for the notify webhook; keeps every JSON body posted."""

    def __init__(self) -> None:
        self.posts: list[dict[str, Any]] = []
        posts = self.posts

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                posts.append(json.loads(body))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        (port,) = free_ports(1)
        self.url = f"http://127.0.0.1:{port}/hook"
        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def for_run(self, name: str) -> list[dict[str, Any]]:
        return [p for p in self.posts if p.get("run_id") == name]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def webhook(lab: Lab) -> Iterator[Webhook]:
    hook = Webhook()
    secret = lab.kubectl(
        "-n", NAMESPACE, "create", "secret", "generic", "xetra-etl-webhook",
        f"--from-literal=url={hook.url}", "--dry-run=client", "-o", "yaml",
    )  # fmt: skip
    lab.kubectl("apply", "-f", "-", input=secret)
    yield hook
    hook.close()


@pytest.fixture
def fresh(lab: Lab, aws_test_env: dict[str, str]) -> Lab:
    """The sample dates uploaded again as published, the report target empty, no plan."""
    assert lab.s3 is not None
    admin = lab.s3.admin
    for bucket in ("xetra-source", "xetra-reports"):
        for key in lab.s3.keys(bucket):
            admin.delete_object(Bucket=bucket, Key=key)
    for day in sorted(p.name for p in sample_dir().iterdir() if p.is_dir()):
        for path in sorted((sample_dir() / day).iterdir()):
            admin.put_object(
                Bucket="xetra-source",
                Key=f"{SOURCE_PREFIX}/{day}/{path.name}",
                Body=path.read_bytes(),
            )
    lab.set_plan({})
    return lab


def submit(lab: Lab, *extra: str) -> str:
    out = lab.argo(
        "submit", "-n", NAMESPACE, "--from", "workflowtemplate/xetra-etl",
        "-p", f"first-date={FIRST}", "-p", f"last-date={LAST}", "-o", "name", *extra,
    )  # fmt: skip
    return out.strip().split("/")[-1]


def step_of(node: dict[str, Any]) -> str:
    """The template a node runs, named directly or through a templateRef."""
    return str(node.get("templateName") or node.get("templateRef", {}).get("template", ""))


def pods_run(workflow: dict[str, Any]) -> set[str]:
    return {step_of(n) for n in iter_nodes(workflow) if n["type"] == "Pod"}


def nodes_by_display(workflow: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {n["name"].split(".", 1)[-1]: n for n in iter_nodes(workflow) if "." in n["name"]}


def describe(lab: Lab, name: str) -> str:
    """What to read when a flow fails: argo get, the kubelet's journal, the controller log tail."""
    journal = [
        f"{r['name']} {r['node_name']} {r['phase']} {r['exit_codes']} {r['reason']} {r['plan']}"
        for r in lab.journal()
        if r["workflow"] == name
    ]
    controller = lab.controller.log_path.read_text(errors="replace").splitlines()[-40:]
    return "\n".join([lab.argo("get", "-n", NAMESPACE, name, check=False), *journal, *controller])


def report_rows(uri: str, endpoint: str) -> list[dict[str, Any]]:
    target = open_store(uri, endpoint_url=endpoint)
    rows: list[dict[str, Any]] = []
    for info in target.list(f"{REPORTS}/"):
        day = dt.date.fromisoformat(info.key.split("date=")[1][:10])
        table = pq.read_table(io.BytesIO(target.get(info.key).data))
        rows += [{"date": day, **row} for row in table.to_pylist()]
    return sorted(rows, key=lambda r: (r["date"], r["isin"]))


def local_report(lab: Lab, tmp_path: Path) -> list[dict[str, Any]]:
    """`xetra-etl run` over the same source, with the cluster's pipeline settings."""
    assert lab.s3 is not None
    bucket = lab.s3.make_bucket()
    cluster = yaml.safe_load(
        yaml.safe_load((REPO / "minikube" / "pipeline-config.yaml").read_text())["data"][
            "config.yaml"
        ]
    )
    cluster["target"]["uri"] = f"s3://{bucket}"
    cluster["pipeline"]["first_date"] = FIRST
    config = tmp_path / "local.yaml"
    config.write_text(yaml.safe_dump(cluster))
    result = subprocess.run(
        [console_script("xetra-etl"), "run", "--config", str(config), "--last-date", LAST],
        env={**os.environ, **lab.s3.env()},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return report_rows(f"s3://{bucket}", lab.s3.endpoint_url)


def cluster_report(lab: Lab) -> list[dict[str, Any]]:
    assert lab.s3 is not None
    return report_rows("s3://xetra-reports", lab.s3.endpoint_url)


def submit_succeeds_as_a_local_run(
    lab: Lab, webhook: Webhook, tmp_path: Path
) -> tuple[str, dict[str, Any]]:
    """Submit from the template: Succeeded, the report a local run writes, one webhook post."""
    name = submit(lab)
    workflow = lab.wait_workflow(name, RUN_TIMEOUT)
    assert workflow["status"]["phase"] == "Succeeded", describe(lab, name)
    rows = cluster_report(lab)
    assert {r["date"] for r in rows} == {dt.date(2017, 7, 27), dt.date(2017, 7, 28)}
    assert rows == local_report(lab, tmp_path)
    posts = webhook.for_run(name)
    assert [p["status"] for p in posts] == ["Succeeded"] and posts[0]["failed_dates"] == []
    return name, workflow


def test_submit_from_the_template_succeeds_and_reports_what_a_local_run_reports(
    fresh: Lab, webhook: Webhook, tmp_path: Path
) -> None:
    name, workflow = submit_succeeds_as_a_local_run(fresh, webhook, tmp_path)
    # archiveLogs: the wait container reads main's log from /var/run/argo (emissary's
    # GetOutputStream, v4.0.5: no pods/log needed) and puts it in the artifact repository.
    pods = [n for n in iter_nodes(workflow) if n["type"] == "Pod"]
    logs = {
        n["name"]: a["s3"]["key"]
        for n in pods
        for a in n.get("outputs", {}).get("artifacts", [])
        if a["name"] == "main-logs"
    }
    assert sorted(logs) == sorted(n["name"] for n in pods), (logs, describe(fresh, name))
    assert fresh.s3 is not None
    assert set(logs.values()) <= set(fresh.s3.keys("xetra-argo-logs")), logs
    (discover,) = [key for node, key in logs.items() if node.startswith(f"{name}.discover(")]
    discover_log = fresh.s3.admin.get_object(Bucket="xetra-argo-logs", Key=discover)
    assert b"need work" in discover_log["Body"].read()


def test_cron_workflow_fires_each_minute_and_its_second_run_is_a_no_op(
    fresh: Lab, webhook: Webhook
) -> None:
    cron = yaml.safe_load(
        (REPO / "workflows" / "manifests" / "cronworkflow-xetra-etl-weekly.yaml").read_text()
    )
    cron["metadata"]["name"] = "xetra-etl-every-minute"
    cron["spec"]["schedules"] = ["* * * * *"]
    cron["spec"]["workflowSpec"]["arguments"] = {
        "parameters": [{"name": "first-date", "value": FIRST}, {"name": "last-date", "value": LAST}]
    }
    fresh.kubectl("apply", "-f", "-", input=yaml.safe_dump(cron))
    try:
        runs = wait_cron_runs(fresh, "xetra-etl-every-minute", 2)
    finally:
        fresh.kubectl("-n", NAMESPACE, "delete", "cronworkflow", "xetra-etl-every-minute")
        # A third firing may have started before the delete: let it end before the next test.
        for name in wait_cron_runs(fresh, "xetra-etl-every-minute", 0):
            fresh.wait_workflow(name, RUN_TIMEOUT)
    first, second = (fresh.wait_workflow(n, RUN_TIMEOUT) for n in runs)
    assert first["status"]["phase"] == "Succeeded", describe(fresh, runs[0])
    assert second["status"]["phase"] == "Succeeded", describe(fresh, runs[1])
    assert {"extract", "transform", "load", "merge"} <= pods_run(first)
    again = nodes_by_display(second)
    assert again["process"]["phase"] == "Skipped", describe(fresh, runs[1])
    assert pods_run(second) == {"discover", "merge", "notify"}
    assert {r["date"] for r in cluster_report(fresh)} == {
        dt.date(2017, 7, 27),
        dt.date(2017, 7, 28),
    }


def wait_cron_runs(lab: Lab, cron: str, count: int) -> list[str]:
    """The first `count` workflows the CronWorkflow created, oldest first (0: all so far)."""
    deadline = time.monotonic() + count * 60 + RUN_TIMEOUT
    while time.monotonic() < deadline:
        listed = json.loads(
            lab.kubectl(
                *("-n", NAMESPACE, "get", "workflows", "-o", "json"),
                *("-l", f"workflows.argoproj.io/cron-workflow={cron}"),
            )
        )["items"]
        names = [
            w["metadata"]["name"]
            for w in sorted(listed, key=lambda w: w["metadata"]["creationTimestamp"])
        ]
        if len(names) >= count:
            return names[:count] if count else names
        time.sleep(5)
    raise TimeoutError(f"{cron} did not fire {count} times")


BAD_DAY = "2017-07-28"
BAD_PRICE = "1O.25"  # a letter O where a zero belongs


def break_a_price(lab: Lab) -> str:
    """Write one row of BAD_DAY with an unreadable StartPrice; returns the key changed."""
    assert lab.s3 is not None
    path = next(
        p for p in sorted((sample_dir() / BAD_DAY).iterdir()) if len(p.read_text().splitlines()) > 2
    )
    lines = path.read_text().splitlines(keepends=True)
    header = lines[0].rstrip("\n").split(",")
    column = header.index("StartPrice")
    cells = lines[1].split(",")
    cells[column] = BAD_PRICE
    lines[1] = ",".join(cells)
    key = f"{SOURCE_PREFIX}/{BAD_DAY}/{path.name}"
    lab.s3.admin.put_object(Bucket="xetra-source", Key=key, Body="".join(lines).encode())
    return key


def test_bad_price_fails_its_date_notifies_once_and_argo_retry_reruns_only_that_date(
    fresh: Lab, webhook: Webhook, tmp_path: Path
) -> None:
    """Argo v4.0.5 lacks the fix of argoproj/argo-workflows#16450 (PRs #16465, #16467, in v4.0.8):
    a retried fan-out can be left Running or reset in another order. On failure this test prints
    the pods the retry reran, the workflow and the controller log, to tell that from ours; on
    v4.0.8 or later it would not flake for that reason."""
    key = break_a_price(fresh)
    name = submit(fresh)
    workflow = fresh.wait_workflow(name, RUN_TIMEOUT)
    assert workflow["status"]["phase"] == "Failed", describe(fresh, name)
    failed_pods = [n for n in iter_nodes(workflow) if n["type"] == "Pod" and n["phase"] == "Failed"]
    assert len(failed_pods) == 1, describe(fresh, name)
    red = failed_pods[0]
    assert BAD_DAY in red["name"]
    record = next(
        r
        for r in fresh.journal()
        if r["name"] == red.get("podName", "") or (r["node_name"] == red["name"])
    )
    line = record["messages"]["main"]
    assert BAD_PRICE in line and "StartPrice" in line
    assert red["message"] == f"main: Error (exit code 65): {line}", describe(fresh, name)
    assert "merge" not in pods_run(workflow)
    posts = webhook.for_run(name)
    assert len(posts) == 1, posts
    assert [d["date"] for d in posts[0]["failed_dates"]] == [BAD_DAY]

    # Fix the source, then retry: only the failed date's steps, merge and notify run again.
    day_file = sample_dir() / BAD_DAY / key.rsplit("/", 1)[1]
    assert fresh.s3 is not None
    fresh.s3.admin.put_object(Bucket="xetra-source", Key=key, Body=day_file.read_bytes())
    before = len(fresh.journal())
    fresh.argo("retry", "-n", NAMESPACE, name)
    workflow = fresh.wait_workflow(name, RUN_TIMEOUT)
    rerun = [r for r in fresh.journal()[before:] if r["workflow"] == name]
    rerun_nodes = sorted(r["node_name"].split(".", 1)[1] for r in rerun)
    assert workflow["status"]["phase"] == "Succeeded", describe(fresh, name)
    other_day = [n for n in rerun_nodes if FIRST in n]
    assert other_day == [], f"reran {rerun_nodes}\n{describe(fresh, name)}"
    assert any(n.startswith("merge") for n in rerun_nodes), rerun_nodes
    assert cluster_report(fresh) == local_report(fresh, tmp_path)


def test_step_process_killed_by_sigkill_fails_its_attempt_with_exit_137_and_is_not_retried(
    fresh: Lab, webhook: Webhook
) -> None:
    # The step templates retry only exit 75 (asInt(lastRetry.exitCode) == 75): the emissary
    # reports a SIGKILLed step as exit 137, so Argo records a Failed attempt and stops there.
    fresh.set_plan({f"*.process(*{LAST}*).transform(0)": [{"kill": "sigkill", "after": 0}]})
    name = submit(fresh)
    workflow = fresh.wait_workflow(name, RUN_TIMEOUT)
    nodes = nodes_by_display(workflow)
    attempts = {k: n for k, n in nodes.items() if LAST in k and ".transform(" in k}
    assert list(attempts) == [k for k in attempts if k.endswith("transform(0)")], describe(
        fresh, name
    )
    (attempt,) = attempts.values()
    assert attempt["phase"] == "Failed", describe(fresh, name)
    assert attempt["message"].startswith("main: Error (exit code 137)"), attempt["message"]
    assert workflow["status"]["phase"] == "Failed"
    killed = [r for r in fresh.journal() if r["workflow"] == name and r["plan"]]
    assert [(r["reason"], r["exit_codes"].get("main")) for r in killed] == [
        ("SIGKILL to the step", 137)
    ]


@pytest.fixture(scope="module")
def step_images(lab: Lab) -> Iterator[dict[str, ImageRoot]]:
    """The images the installed templates name, built (or found in buildah's storage) and mounted
    for the module; unmounted and their working containers removed after it."""
    refs = template_images(REPO / "workflows" / "manifests")
    started = time.monotonic()
    seconds = build_for(refs)
    print(f"\nstep images built or reused in {time.monotonic() - started:.1f} s: {seconds}")
    with mounted_images(refs, lab.bin / "argoexec") as roots:
        yield roots


@pytest.fixture
def image_lab(fresh: Lab, step_images: Mapping[str, ImageRoot]) -> Iterator[Lab]:
    """The session's lab with its kubelet in image mode for one test."""
    with fresh.image_mode(step_images):
        yield fresh


def test_pipeline_run_from_the_step_images_root_filesystems_reports_what_a_local_run_reports(
    image_lab: Lab, step_images: Mapping[str, ImageRoot], webhook: Webhook, tmp_path: Path
) -> None:
    name, workflow = submit_succeeds_as_a_local_run(image_lab, webhook, tmp_path)
    # Every step's main ran from its own image; Argo's init and wait containers from the host.
    pods = {r["node_name"]: r for r in image_lab.journal() if r["workflow"] == name}
    image_of = images_by_template(REPO / "workflows" / "manifests")
    steps = [(step_of(n), pods.get(n["name"])) for n in iter_nodes(workflow) if n["type"] == "Pod"]
    assert steps and all(record for _, record in steps), describe(image_lab, name)
    assert {step for step, _ in steps} == set(image_of), describe(image_lab, name)
    for step, record in steps:
        assert record is not None
        roots = record["roots"]
        assert roots["main"] == str(step_images[image_of[step]].rootfs), (step, roots)
        assert roots["init"] == roots["wait"] == "/", (step, roots)
