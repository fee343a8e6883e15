"""The rendered pipeline runs the real step console scripts end to end, on SeaweedFS.

The Argo test double (tests/argo_sim) plays the controller: it reads the committed-equal manifests,
runs each container's command as a local process with the pod's environment (S3 secrets and
endpoint injected), the ConfigMap path mapped to a local config file and /tmp to a fresh
directory per pod. A wrapping runner injects pod failures to check the Argo-level behaviour
(merge waits, `argo retry` completes the run) with real steps around it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from common.naming import CONFIG_PATH_IN_POD
from tests.argo_sim import (
    FAILED,
    OMITTED,
    SUCCEEDED,
    ArgoSim,
    ContainerRun,
    RunOutcome,
    host_runner,
)
from tests.argo_sim.cluster import minikube_artifact_repository
from tests.e2e.conftest import LAST, Place, make_place

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
        f"{n.name}: {n.stderr[-2000:]}" for n in sim.nodes.values() if n.phase == FAILED
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
    assert f"runs/{WF}/report.json" in keys
    assert sim.phases()[f"{WF}.onExit.notify"] == SUCCEEDED


def test_argo_retry_completes_the_run_when_one_chunk_failed(
    manifests: list[dict[str, Any]], place: Place
) -> None:
    chunks = ["2021-03-03,2021-03-04,2021-03-05", "2021-03-06,2021-03-08,2021-03-09", "2021-03-10"]
    failing = f"(1:{chunks[1]}).transform"
    sim = make_sim(manifests, place, runner=failing_once(failing, 65), **{"chunk-size": "3"})
    assert sim.run() == FAILED
    assert sim.phases()[f"{WF}.merge"] == OMITTED
    assert sim.phases()[f"{WF}.process(2:{chunks[2]}).load"] == SUCCEEDED
    assert sim.retry() == SUCCEEDED, _stderr_of_failures(sim)
    rerun = [n.name for n in sim.nodes.values() if n.type == "Pod" and not n.reused]
    assert rerun == [
        f"{WF}.process(1:{chunks[1]}).transform",
        f"{WF}.process(1:{chunks[1]}).load",
        f"{WF}.merge",
        f"{WF}.onExit.notify",
    ]
    assert place.report_rows() == place.expected_rows()
