"""The rendered manifests through the Argo double, against what Argo v4.0.10 really does.

Each defect found by reading the controller's source has a pair of tests here: the configuration
as it was (rendered with the old settings, or the cluster without the new objects) shows the
defect, the committed configuration does not. Steps are played by a scripted runner that can
take virtual time and write the Kubernetes termination message, so no test sleeps.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.argo_sim import ERROR, FAILED, SUCCEEDED, ArgoSim, ContainerRun, RunOutcome, pod_name
from tests.argo_sim.cluster import (
    MINIKUBE_DIR,
    MINIKUBE_NAMESPACE,
    artifact_repository,
    manifests_in,
    minikube_artifact_repository,
)
from tests.argo_sim.interpreter import NO_ARTIFACT_REPOSITORY, TERMINATION_LOG
from tests.workflows.test_workflows_retry import EVICTED
from xetra_etl.common.app.notify import failed_dates, parse_failures
from xetra_etl.common.infra.naming import CONFIG_PATH_IN_POD
from xetra_etl.workflows.render import rendered_files
from xetra_etl.workflows.settings import RenderSettings, RetryPolicy

WF = "xetra-etl-defects"
DATES = ["2021-01-04", "2021-01-05", "2021-01-06"]
BAD_LINE = "object xetra/2021-01-05/x.csv, line 201, column StartPrice: not a number: '1O.25'"
MINUTE = 60.0


@dataclass(frozen=True)
class Play:
    """How one attempt of a step ends: exit code, virtual run time, termination message, and
    what Kubernetes reports besides (see `RunOutcome`)."""

    code: int | None = 0
    seconds: float = 1.0
    message: str = ""
    reason: str = "Error"
    pod_message: str = ""
    container: str = "main"


@dataclass
class Steps:
    """Plays every step; `plays[(step, item)]` are consumed one per attempt."""

    plays: dict[tuple[str, str], list[Play]] = field(default_factory=dict)
    notify_flags: dict[str, str] = field(default_factory=dict)
    dates: list[str] = field(default_factory=lambda: list(DATES))

    def __call__(self, run: ContainerRun) -> RunOutcome:
        step = run.argv[0].removeprefix("xetra-")
        flags = dict(zip(run.argv[1::2], run.argv[2::2], strict=False))
        if step == "notify":
            self.notify_flags = flags
        planned = self.plays.get((step, flags.get("--dates", "")), [])
        play = planned.pop(0) if planned else Play()
        if play.message:
            Path(run.localize(TERMINATION_LOG)).write_text(play.message)
        if play.code == 0:
            for flag, value in (("--dates-out", self.dates), ("--summary-out", {}), ("--out", {})):
                if flag in flags:
                    out = Path(run.localize(flags[flag]))
                    out.parent.mkdir(parents=True, exist_ok=True)
                    out.write_text(json.dumps(value))
        return RunOutcome(
            play.code,
            seconds=play.seconds,
            reason=play.reason,
            pod_message=play.pod_message,
            container=play.container,
        )


def _manifests(settings: RenderSettings) -> list[dict[str, Any]]:
    return [yaml.safe_load(text) for text in dict(rendered_files(settings)).values()]


def _sim(
    tmp_path: Path,
    steps: Steps,
    *,
    settings: RenderSettings | None = None,
    repository: dict[str, Any] | None = None,
    manifests: list[dict[str, Any]] | None = None,
) -> ArgoSim:
    config = tmp_path / "config.yaml"
    config.write_text("source: {uri: x}\n")
    return ArgoSim(
        manifests or _manifests(settings or RenderSettings()),
        submit="xetra-etl",
        name=WF,
        work_dir=tmp_path / "work",
        env={"AWS_ACCESS_KEY_ID": "k", "AWS_SECRET_ACCESS_KEY": "s"},
        path_map={CONFIG_PATH_IN_POD: config},
        runner=steps,
        artifact_repository=repository,
    )


# -- 1. archiveLogs needs an artifact repository ---------------------------------------------
def test_every_step_errors_although_it_exited_zero_when_cluster_has_no_artifact_repository(
    tmp_path: Path,
) -> None:
    without = [
        doc
        for doc in manifests_in(MINIKUBE_DIR)
        if doc["metadata"].get("name") != "artifact-repositories"
    ]
    assert artifact_repository(without, MINIKUBE_NAMESPACE) is None  # the cluster as it was
    sim = _sim(tmp_path, Steps(), repository=None)
    assert sim.run() == ERROR
    discover = sim.nodes[f"{WF}.discover(0)"]
    assert discover.exit_codes == [0]
    assert discover.message == f"wait: Error (exit code 64): {NO_ARTIFACT_REPOSITORY}"
    # an Error attempt is retried (a fresh pod may reach the store), here in vain: 4 attempts
    assert sim.nodes[f"{WF}.discover"].message == "No more retries left"
    assert sim.nodes[f"{WF}.discover"].exit_codes == [0, 0, 0, 0]


def test_first_run_ends_succeeded_when_cluster_is_the_minikube_configuration(
    tmp_path: Path,
) -> None:
    repository = minikube_artifact_repository()
    assert repository is not None
    assert repository["s3"]["bucket"] == "xetra-argo-logs"
    sim = _sim(tmp_path, Steps(), repository=repository)
    assert sim.run() == SUCCEEDED
    assert sim.nodes[f"{WF}.merge"].phase == SUCCEEDED


def test_minikube_creates_the_bucket_and_secret_the_artifact_repository_names() -> None:
    repository = minikube_artifact_repository()
    assert repository is not None
    buckets_job = (MINIKUBE_DIR / "buckets-job.yaml").read_text(encoding="utf-8")
    assert f"local/{repository['s3']['bucket']}" in buckets_job
    secret = repository["s3"]["accessKeySecret"]["name"]
    up = (MINIKUBE_DIR / "up.sh").read_text(encoding="utf-8")
    assert f"secret generic {secret}" in up
    assert "artifact-repository.yaml" in up


# -- 2. maxDuration is a deadline from the first attempt; cap bounds one backoff ----------------
OLD_RETRY = RetryPolicy(backoff_cap=None, backoff_max_duration="15m")


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        (RenderSettings(retry=OLD_RETRY), FAILED),  # as it was: the transient failure is final
        (RenderSettings(), SUCCEEDED),
    ],
    ids=["maxDuration-15m", "cap-15m"],
)
def test_transient_failure_after_15_minutes_is_retried_only_when_backoff_is_capped(
    tmp_path: Path, settings: RenderSettings, expected: str
) -> None:
    plays = {("extract", DATES[1]): [Play(75, seconds=20 * MINUTE), Play(0)]}
    sim = _sim(tmp_path, Steps(plays), settings=settings, repository=minikube_artifact_repository())
    assert sim.run() == expected
    retry_node = sim.nodes[f"{WF}.process(1:{DATES[1]}).extract"]
    if expected == FAILED:
        assert retry_node.message == "Max duration limit exceeded"
        assert retry_node.exit_codes == [75]
    else:
        assert retry_node.exit_codes == [75, 0]


@pytest.mark.parametrize(
    ("settings", "expected"),
    [(RenderSettings(retry=OLD_RETRY), FAILED), (RenderSettings(), SUCCEEDED)],
)
def test_retried_attempt_may_run_its_full_deadline_only_without_max_duration(
    tmp_path: Path, settings: RenderSettings, expected: str
) -> None:
    # First attempt fails fast, the retry needs an hour (extract is allowed 7,200 s).
    plays = {("extract", DATES[0]): [Play(75, seconds=MINUTE), Play(0, seconds=60 * MINUTE)]}
    sim = _sim(tmp_path, Steps(plays), settings=settings, repository=minikube_artifact_repository())
    assert sim.run() == expected
    second = sim.nodes[f"{WF}.process(0:{DATES[0]}).extract(1)"]
    assert second.phase == expected
    if expected == FAILED:
        assert second.message == "Step exceeded its deadline"


def test_backoff_waits_grow_by_factor_and_stop_at_the_cap(tmp_path: Path) -> None:
    retry = RetryPolicy(limit=6, backoff_duration="5m", backoff_factor=2, backoff_cap="15m")
    plays = {("extract", DATES[0]): [Play(75, seconds=0)] * 4 + [Play(0, seconds=0)]}
    sim = _sim(
        tmp_path,
        Steps(plays),
        settings=RenderSettings(retry=retry),
        repository=minikube_artifact_repository(),
    )
    assert sim.run() == SUCCEEDED
    starts = [sim.nodes[f"{WF}.process(0:{DATES[0]}).extract({n})"].started_at for n in range(5)]
    waits = [b - a for a, b in itertools.pairwise(starts)]
    assert waits == [5 * MINUTE, 10 * MINUTE, 15 * MINUTE, 15 * MINUTE]


# -- 3 and 4. workflow.failures, failed_dates and the termination message ----------------------
def test_date_failing_with_exit_65_gives_one_failed_dates_entry_carrying_the_error_line(
    tmp_path: Path,
) -> None:
    plays = {("transform", DATES[1]): [Play(65, message=BAD_LINE)]}
    steps = Steps(plays)
    sim = _sim(tmp_path, steps, repository=minikube_artifact_repository())
    assert sim.run() == FAILED
    raw = steps.notify_flags["--failures"]
    assert raw.startswith('"[') and raw.endswith(']"')  # strconv.Quote'd
    failures = parse_failures(raw)
    assert len(failures) == 5  # attempt, Retry node, item DAG, TaskGroup, root
    assert set(failures[0]) == {
        "displayName", "message", "templateName", "phase", "podName", "finishedAt",
    }  # fmt: skip
    (entry,) = failed_dates(failures, WF)
    node = f"{WF}.process(1:{DATES[1]}).transform(0)"
    assert entry == {
        "date": DATES[1],
        "step": "transform",
        "message": f"main: Error (exit code 65): {BAD_LINE}",
        "pod": pod_name(WF, node, "transform"),
        "phase": FAILED,
        "item": DATES[1],
    }
    assert sim.nodes[node].message == f"main: Error (exit code 65): {BAD_LINE}"


def test_failed_dates_names_each_date_of_a_failed_chunk_once(tmp_path: Path) -> None:
    chunk = ",".join(DATES[:2])

    class ChunkSteps(Steps):
        def __call__(self, run: ContainerRun) -> RunOutcome:
            if run.argv[0] == "xetra-discover":
                flags = dict(zip(run.argv[1::2], run.argv[2::2], strict=False))
                out = Path(run.localize(flags["--dates-out"]))
                out.parent.mkdir(parents=True, exist_ok=True)
                out.write_text(json.dumps([chunk, DATES[2]]))
                return RunOutcome(0)
            return super().__call__(run)

    steps = ChunkSteps({("extract", chunk): [Play(75), Play(75), Play(75), Play(75)]})
    sim = _sim(tmp_path, steps, repository=minikube_artifact_repository())
    assert sim.run() == FAILED
    entries = failed_dates(parse_failures(steps.notify_flags["--failures"]), WF)
    assert [e["date"] for e in entries] == DATES[:2]
    last = pod_name(WF, f"{WF}.process(0:{chunk}).extract(3)", "extract")
    assert {e["pod"] for e in entries} == {last}  # the last of four attempts
    assert all(e["step"] == "extract" for e in entries)


def test_failed_dates_is_empty_when_the_run_succeeded(tmp_path: Path) -> None:
    steps = Steps()
    sim = _sim(tmp_path, steps, repository=minikube_artifact_repository())
    assert sim.run() == SUCCEEDED
    assert steps.notify_flags["--failures"] == '"null"'
    assert failed_dates(parse_failures(steps.notify_flags["--failures"]), WF) == []


def test_steps_succeed_without_a_repository_when_rendered_without_archived_logs(
    tmp_path: Path,
) -> None:
    settings = RenderSettings(archive_logs=False)
    assert "archiveLogs" not in dict(rendered_files(settings))["workflowtemplate-xetra-etl.yaml"]
    assert _sim(tmp_path, Steps(), settings=settings, repository=None).run() == SUCCEEDED


def test_default_retry_waits_30_60_120_seconds_when_a_step_exits_75(tmp_path: Path) -> None:
    plays = {("extract", DATES[0]): [Play(75, seconds=0)] * 3 + [Play(0, seconds=0)]}
    sim = _sim(tmp_path, Steps(plays), repository=minikube_artifact_repository())
    assert sim.run() == SUCCEEDED
    starts = [sim.nodes[f"{WF}.process(0:{DATES[0]}).extract({n})"].started_at for n in range(4)]
    assert [b - a for a, b in itertools.pairwise(starts)] == [30, 60, 120]


# -- 5. notify's arguments stay small whatever the number of failed dates ----------------------
MAX_ARG = 131072  # common.MaxEnvVarLen: over it the controller offloads to a ConfigMap
MANY = [f"2019-{month:02d}-{day:02d}" for month in range(1, 13) for day in range(1, 18)]


def _as_it_was(manifests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The pipeline as it was: notify given `{{workflow.failures}}` whatever its size."""
    for doc in manifests:
        for tmpl in doc["spec"].get("templates", []):
            for task in tmpl.get("dag", {}).get("tasks", []):
                for param in task.get("arguments", {}).get("parameters", []):
                    if task["name"] == "notify" and param["name"] == "failures":
                        param["value"] = "{{workflow.failures}}"
    return manifests


@pytest.mark.parametrize("as_it_was", [True, False], ids=["plain-failures", "size-guard"])
def test_notify_arguments_stay_under_the_offload_limit_only_with_the_size_guard(
    tmp_path: Path, as_it_was: bool
) -> None:
    steps = Steps({("extract", day): [Play(65, message=BAD_LINE)] for day in MANY}, dates=MANY)
    manifests = _manifests(RenderSettings())
    sim = _sim(
        tmp_path,
        steps,
        manifests=_as_it_was(manifests) if as_it_was else manifests,
        repository=minikube_artifact_repository(),
    )
    assert sim.run() == FAILED
    args = json.dumps(list(sim.runs[-1].argv))
    if as_it_was:  # the controller would offload them, and needs to create a ConfigMap for that
        assert len(args) > MAX_ARG
        assert len(failed_dates(parse_failures(steps.notify_flags["--failures"]), WF)) == len(MANY)
    else:  # notify names the dates from the failure records (tests/e2e/test_notify_e2e.py)
        assert len(args) < MAX_ARG // 4
        assert steps.notify_flags["--failures"] == "omitted: over 32768 bytes"


def test_notify_is_given_the_failures_when_few_dates_failed(tmp_path: Path) -> None:
    steps = Steps({("extract", DATES[0]): [Play(65, message=BAD_LINE)]})
    assert _sim(tmp_path, steps, repository=minikube_artifact_repository()).run() == FAILED
    (entry,) = failed_dates(parse_failures(steps.notify_flags["--failures"]), WF)
    assert entry["date"] == DATES[0]


# -- 6. the backoff is waited before the retry decision ------------------------------------------
def test_data_error_ends_its_date_only_after_the_first_backoff(tmp_path: Path) -> None:
    plays = {("extract", DATES[0]): [Play(65, seconds=10, message=BAD_LINE)]}
    sim = _sim(tmp_path, Steps(plays), repository=minikube_artifact_repository())
    assert sim.run() == FAILED
    item = f"{WF}.process(0:{DATES[0]})"
    attempt, retry = sim.nodes[f"{item}.extract(0)"], sim.nodes[f"{item}.extract"]
    assert retry.message == "retryStrategy.expression evaluated to false"
    assert retry.finished_at - attempt.finished_at == 30  # backoff.duration, not at once
    assert f"{item}.extract(1)" not in sim.nodes


# -- 7. what is retried: Error attempts, evictions; not an OOM kill, never 65 -------------------
OLD_EXPRESSION = "asInt(lastRetry.exitCode) == 75"


def _with_expression(manifests: list[dict[str, Any]], expression: str) -> list[dict[str, Any]]:
    for doc in manifests:
        for tmpl in doc["spec"].get("templates", []):
            if "retryStrategy" in tmpl:
                tmpl["retryStrategy"]["expression"] = expression
    return manifests


def _retry_sim(tmp_path: Path, steps: Steps, *, as_it_was: bool) -> ArgoSim:
    manifests = _manifests(RenderSettings())
    if as_it_was:
        manifests = _with_expression(manifests, OLD_EXPRESSION)
    return _sim(tmp_path, steps, manifests=manifests, repository=minikube_artifact_repository())


@pytest.mark.parametrize(
    "first",
    [
        Play(137, pod_message=EVICTED),
        Play(1, container="wait", message="failed to put the log: connection refused"),
        Play(None, container="init", message="failed to copy argoexec"),
    ],
    ids=["evicted", "wait-error", "init-error"],
)
@pytest.mark.parametrize("as_it_was", [True, False], ids=["exit-75-only", "now"])
def test_attempt_a_fresh_pod_can_fix_is_retried_and_the_run_succeeds(
    tmp_path: Path, first: Play, as_it_was: bool
) -> None:
    steps = Steps({("extract", DATES[1]): [first, Play(0)]})
    sim = _retry_sim(tmp_path, steps, as_it_was=as_it_was)
    phase = sim.run()
    assert phase in (FAILED, ERROR) if as_it_was else phase == SUCCEEDED
    retry = sim.nodes[f"{WF}.process(1:{DATES[1]}).extract"]
    assert len(retry.children) == (1 if as_it_was else 2)


def test_oom_killed_attempt_is_not_retried_and_notify_says_to_raise_the_limit(
    tmp_path: Path,
) -> None:
    steps = Steps({("extract", DATES[1]): [Play(137, reason="OOMKilled"), Play(0)]})
    sim = _retry_sim(tmp_path, steps, as_it_was=False)
    assert sim.run() == FAILED
    item = f"{WF}.process(1:{DATES[1]})"
    assert sim.nodes[f"{item}.extract(0)"].message == "main: OOMKilled (exit code 137)"
    assert f"{item}.extract(1)" not in sim.nodes
    (entry,) = failed_dates(parse_failures(steps.notify_flags["--failures"]), WF)
    assert entry["message"] == "main: OOMKilled (exit code 137)"


@pytest.mark.parametrize("code", [65, 66, 70, 78])
def test_data_config_and_bug_exits_are_never_retried(tmp_path: Path, code: int) -> None:
    steps = Steps({("extract", DATES[1]): [Play(code, message=BAD_LINE), Play(0)]})
    sim = _retry_sim(tmp_path, steps, as_it_was=False)
    assert sim.run() == FAILED
    assert len(sim.nodes[f"{WF}.process(1:{DATES[1]}).extract"].children) == 1
