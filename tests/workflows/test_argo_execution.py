"""The rendered pipeline runs the real step console scripts end to end, on SeaweedFS.

The Argo test double (tests/argo_sim) plays the controller: it reads the committed-equal manifests,
runs each container's command as a local process with the pod's environment (S3 secrets and
endpoint injected), the ConfigMap path mapped to a local config file and /tmp to a fresh
directory per pod. A wrapping runner injects pod failures to check the Argo-level behaviour
(merge waits, `argo retry` completes the run) with real steps around it.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.argo_sim import (
    ERROR,
    FAILED,
    OMITTED,
    SUCCEEDED,
    ArgoSim,
    ContainerRun,
    RunOutcome,
    host_runner,
    pod_name,
)
from tests.argo_sim.cluster import minikube_artifact_repository
from tests.argo_sim.interpreter import TERMINATION_LOG
from tests.e2e.conftest import LAST, Place, make_place
from xetra_etl.common.infra.naming import CONFIG_PATH_IN_POD
from xetra_etl.common.infra.termination import TERMINATION_LOG_ENV

pytestmark = pytest.mark.e2e

WF = "xetra-etl-argo-e2e"
SOURCE_DATES = ["2021-03-03", "2021-03-04", "2021-03-05", "2021-03-06", "2021-03-08",
                "2021-03-09", "2021-03-10"]  # fmt: skip


@pytest.fixture
def place(request: pytest.FixtureRequest, tmp_path: Path) -> Place:
    """Demo source data and an empty target on SeaweedFS."""
    return make_place("seaweedfs", request, tmp_path)


def failing_once(node_suffix: str, code: int) -> Callable[[ContainerRun], RunOutcome]:
    """Fail the first attempt of the pod whose node name ends with `node_suffix`."""
    failed: set[str] = set()

    def runner(run: ContainerRun) -> RunOutcome:
        if run.node.endswith(node_suffix) and run.node not in failed:
            failed.add(run.node)
            return RunOutcome(code, stderr="injected failure")
        return host_runner(run)

    return runner


def make_sim(
    manifests: list[dict[str, Any]],
    place: Place,
    runner: Callable[[ContainerRun], RunOutcome] = host_runner,
    **parameters: str,
) -> ArgoSim:
    env = dict(place.env)  # the host runner puts this interpreter's directory first on PATH
    # Kubernetes mounts /dev/termination-log in every container; here it is a file per pod.
    env[TERMINATION_LOG_ENV] = TERMINATION_LOG
    return ArgoSim(
        manifests,
        submit="xetra-etl",
        name=WF,
        work_dir=place.tmp / "argo",
        parameters={"last-date": LAST.isoformat(), **parameters},
        env=env,
        path_map={CONFIG_PATH_IN_POD: place.write_config()},
        artifact_repository=minikube_artifact_repository(),
        runner=runner,
    )


def _stderr_of_failures(sim: ArgoSim) -> str:
    return "\n".join(
        f"{n.name}: {n.stderr[-2000:]}"
        for n in sim.nodes.values()
        if n.phase in (FAILED, ERROR) and n.type == "Pod"
    )


def test_rendered_pipeline_writes_the_reference_report_when_run_through_argo_double(
    manifests: list[dict[str, Any]], place: Place
) -> None:
    sim = make_sim(manifests, place)
    assert sim.run() == SUCCEEDED, _stderr_of_failures(sim)
    for date in SOURCE_DATES:
        index = SOURCE_DATES.index(date)
        assert sim.phases()[f"{WF}.process({index}:{date}).load"] == SUCCEEDED
    assert place.report_rows() == place.expected_rows()
    keys = {info.key for info in place.target.list("")}
    assert f"runs/{WF}/summary.json" in keys
    assert sim.phases()[f"{WF}.onExit.notify"] == SUCCEEDED
    payload = json.loads(sim.nodes[f"{WF}.onExit.notify"].outputs["summary"])
    freshness = payload["source_freshness"]  # from discover's plan, through merge's summary
    assert freshness["newest_date"] == LAST.isoformat() and freshness["state"] == "ok"


def test_argo_retry_completes_the_run_when_one_chunk_failed(
    manifests: list[dict[str, Any]], place: Place
) -> None:
    chunks = ["2021-03-03,2021-03-04,2021-03-05", "2021-03-06,2021-03-08,2021-03-09", "2021-03-10"]
    failing = f"(1:{chunks[1]}).transform(0)"
    sim = make_sim(manifests, place, runner=failing_once(failing, 65), **{"chunk-size": "3"})
    assert sim.run() == FAILED
    assert sim.phases()[f"{WF}.merge"] == OMITTED
    assert sim.phases()[f"{WF}.process(2:{chunks[2]}).load"] == SUCCEEDED
    assert sim.retry() == SUCCEEDED, _stderr_of_failures(sim)
    rerun = [n.name for n in sim.nodes.values() if n.type == "Pod" and not n.reused]
    assert rerun == [
        f"{WF}.process(1:{chunks[1]}).transform(0)",
        f"{WF}.process(1:{chunks[1]}).load(0)",
        f"{WF}.merge(0)",
        f"{WF}.onExit.notify(0)",
    ]
    assert place.report_rows() == place.expected_rows()


def _spoil_one_price(place: Place, date: str) -> str:
    """Replace the StartPrice of the first row of one of the date's objects with '1O.25'."""
    key = next(i.key for i in place.source.list("") if f"{date}/" in i.key and i.size > 136)
    lines = place.source.get(key).data.decode().splitlines()
    header = next(csv.reader([lines[0]]))
    row = next(csv.reader([lines[1]]))
    row[header.index("StartPrice")] = "1O.25"
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(row)
    lines[1] = out.getvalue().rstrip("\n")
    place.source.put(key, ("\n".join(lines) + "\n").encode())
    return key


def test_bad_source_value_reaches_the_node_message_and_notify_names_the_date_once(
    manifests: list[dict[str, Any]], place: Place
) -> None:
    key = _spoil_one_price(place, "2021-03-10")  # the last date: no later date reads it
    sim = make_sim(manifests, place)
    assert sim.run() == FAILED
    failed = [n for n in sim.nodes.values() if n.type == "Pod" and n.phase == FAILED]
    assert [n.display_name for n in failed] == ["extract(0)"], _stderr_of_failures(sim)
    message = failed[0].message
    assert message.startswith("main: Error (exit code 65): 2021-03-10: object ")
    assert key in message and "1O.25" in message
    summary = json.loads(sim.nodes[f"{WF}.onExit.notify"].outputs["summary"])
    (entry,) = summary["failed_dates"]
    assert entry["date"] == "2021-03-10" and entry["step"] == "extract"
    # The date's own error line, from extract's failure record; the node message carries it too.
    assert entry["source"] == "failure-record" and entry["exit_code"] == 65
    assert message.endswith(f"2021-03-10: {entry['message']}")
    assert entry["pod"] == pod_name(WF, failed[0].name, "extract")
