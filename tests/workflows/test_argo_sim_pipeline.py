"""The real rendered manifests, run through the Argo test double with scripted step outcomes.

No step code runs here: a fake runner plays each step from its command line (writes the output
files Argo reads, exits with a scripted code), so these tests pin the wiring of the templates:
node names, parameters, the fan-out, merge after the fan-out, the exit hook, retry.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.argo_sim import (
    FAILED,
    OMITTED,
    SUCCEEDED,
    ArgoSim,
    ContainerRun,
    RunOutcome,
    pod_name,
)
from tests.argo_sim.cluster import minikube_artifact_repository
from xetra_etl.common.infra.naming import CONFIG_PATH_IN_POD

DATES = ["2017-07-03", "2017-07-04", "2017-07-05"]
WF = "xetra-etl-sim"
SECRETS = {"AWS_ACCESS_KEY_ID": "k", "AWS_SECRET_ACCESS_KEY": "s"}


class ScriptedSteps:
    """Plays every step: discover lists DATES; `codes[(step, item)]` are exit codes in order."""

    def __init__(self, codes: dict[tuple[str, str], list[int]] | None = None) -> None:
        self.codes = codes or {}
        self.calls: list[tuple[str, dict[str, str]]] = []

    def __call__(self, run: ContainerRun) -> RunOutcome:
        step = run.argv[0].removeprefix("xetra-")
        flags = dict(zip(run.argv[1::2], run.argv[2::2], strict=False))
        self.calls.append((step, flags))
        planned = self.codes.get((step, flags.get("--dates", "")), [])
        code = planned.pop(0) if planned else 0
        if code == 0:
            for flag, value in (("--dates-out", DATES), ("--summary-out", {}), ("--out", {})):
                if flag in flags:
                    out = Path(run.localize(flags[flag]))
                    out.parent.mkdir(parents=True, exist_ok=True)
                    out.write_text(json.dumps(value))
        return RunOutcome(code)

    def steps(self) -> list[str]:
        return [f"{step}:{flags.get('--dates', '')}" for step, flags in self.calls]


@pytest.fixture
def run_sim(
    manifests: list[dict[str, Any]], tmp_path: Path
) -> Callable[..., tuple[ArgoSim, ScriptedSteps]]:
    config = tmp_path / "config.yaml"
    config.write_text("source: {uri: x}\n")

    def make(
        steps: ScriptedSteps | None = None, **parameters: str
    ) -> tuple[ArgoSim, ScriptedSteps]:
        steps = steps or ScriptedSteps()
        sim = ArgoSim(
            manifests,
            submit="xetra-etl",
            name=WF,
            work_dir=tmp_path / "work",
            parameters=parameters,
            env=SECRETS,
            path_map={CONFIG_PATH_IN_POD: config},
            artifact_repository=minikube_artifact_repository(),
            runner=steps,
        )
        return sim, steps

    return make


def test_pipeline_runs_each_date_as_nested_dag_then_merge_when_all_succeed(
    run_sim: Callable[..., tuple[ArgoSim, ScriptedSteps]],
) -> None:
    sim, steps = run_sim()
    assert sim.run() == SUCCEEDED
    assert steps.steps() == [
        "discover:",
        *[f"{step}:{d}" for d in DATES for step in ("extract", "transform", "load")],
        "merge:",
        "notify:",
    ]
    assert sim.phases()[f"{WF}.process(1:2017-07-04).transform"] == SUCCEEDED
    assert sim.phases()[f"{WF}.merge"] == SUCCEEDED


def test_pipeline_passes_run_id_and_defaults_when_submitted_without_parameters(
    run_sim: Callable[..., tuple[ArgoSim, ScriptedSteps]],
) -> None:
    sim, steps = run_sim()
    sim.run()
    discover = steps.calls[0][1]
    assert discover["--first-date"] == "" and discover["--last-date"] == ""
    assert discover["--chunk-size"] == ""  # the config's pipeline.chunk_size applies
    assert {flags["--run-id"] for _, flags in steps.calls} == {WF}
    assert all(flags["--config"] == CONFIG_PATH_IN_POD for _, flags in steps.calls)


def test_pipeline_forwards_submit_parameters_when_given(
    run_sim: Callable[..., tuple[ArgoSim, ScriptedSteps]],
) -> None:
    sim, steps = run_sim(**{"first-date": "2017-07-01", "last-date": "2017-07-31"})
    sim.run()
    assert steps.calls[0][1]["--first-date"] == "2017-07-01"
    assert steps.calls[0][1]["--last-date"] == "2017-07-31"


def test_pipeline_fails_and_skips_merge_when_one_date_has_bad_data(
    run_sim: Callable[..., tuple[ArgoSim, ScriptedSteps]],
) -> None:
    sim, steps = run_sim(ScriptedSteps({("transform", "2017-07-04"): [65]}))
    assert sim.run() == FAILED
    phases = sim.phases()
    assert phases[f"{WF}.process(1:2017-07-04).transform"] == FAILED
    assert phases[f"{WF}.process(1:2017-07-04).load"] == OMITTED
    assert phases[f"{WF}.process(2:2017-07-05).load"] == SUCCEEDED
    assert phases[f"{WF}.merge"] == OMITTED
    notify = steps.calls[-1][1]
    assert notify["--status"] == FAILED
    failures = json.loads(json.loads(notify["--failures"]))  # strconv.Quote'd JSON
    assert {f["displayName"] for f in failures} == {
        "transform(0)",  # the pod attempt
        "transform",  # its Retry node
        "process(1:2017-07-04)",  # the item DAG
        "process",  # the TaskGroup
        WF,  # the root DAG
    }
    (attempt,) = [f for f in failures if f["displayName"] == "transform(0)"]
    assert attempt["podName"] == pod_name(
        WF, f"{WF}.process(1:2017-07-04).transform(0)", "transform"
    )
    assert attempt["message"] == "main: Error (exit code 65)"


def test_pipeline_retry_reruns_failed_date_then_merge_when_argo_retry(
    run_sim: Callable[..., tuple[ArgoSim, ScriptedSteps]],
) -> None:
    sim, steps = run_sim(ScriptedSteps({("transform", "2017-07-04"): [65]}))
    sim.run()
    before = len(steps.calls)
    assert sim.retry() == SUCCEEDED
    assert steps.steps()[before:] == [
        "transform:2017-07-04",
        "load:2017-07-04",
        "merge:",
        "notify:",
    ]


def test_pipeline_retries_step_pod_when_exit_code_is_transient(
    run_sim: Callable[..., tuple[ArgoSim, ScriptedSteps]],
) -> None:
    sim, _ = run_sim(ScriptedSteps({("extract", "2017-07-05"): [75, 0]}))
    assert sim.run() == SUCCEEDED
    assert sim.nodes[f"{WF}.process(2:2017-07-05).extract"].exit_codes == [75, 0]


def test_pipeline_does_not_retry_pod_when_config_is_bad(
    run_sim: Callable[..., tuple[ArgoSim, ScriptedSteps]],
) -> None:
    sim, _ = run_sim(ScriptedSteps({("extract", "2017-07-05"): [78, 0]}))
    assert sim.run() == FAILED
    assert sim.nodes[f"{WF}.process(2:2017-07-05).extract"].exit_codes == [78]


def test_pipeline_gives_steps_json_logs_and_no_webhook_when_secret_is_absent(
    run_sim: Callable[..., tuple[ArgoSim, ScriptedSteps]],
) -> None:
    sim, _ = run_sim()
    sim.run()
    assert all(run.env["XETRA_LOG_FORMAT"] == "json" for run in sim.runs)
    notify = sim.runs[-1]
    assert notify.argv[0] == "xetra-notify"
    assert "XETRA_WEBHOOK_URL" not in notify.env
    assert notify.env["AWS_ACCESS_KEY_ID"] == "k"
