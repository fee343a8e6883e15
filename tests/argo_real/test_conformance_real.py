"""The double's conformance cases (tests/argo_sim/conformance/cases) on the real controller.

Each case runs as a Workflow named `case` (cases.py) in a namespace of its own, several at once,
each pod attempt ended as its `plays` say,
and the outcome is compared with what the case expects of the double: workflow phase, node
phases and messages, nodes that must not exist, children, and for `argo retry` which pods ran
again. A difference fails, unless listed below with its reason. Compared only in the double:
start and finish times (its clock is virtual) and pods' argv (the kubelet replaces a played
container's command).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.argo_real.cases import NAME, retry_case, run_case
from tests.argo_real.kubelet import now
from tests.argo_real.lab import REPO, Lab, iter_nodes

pytestmark = pytest.mark.argo

CASES = sorted((REPO / "tests" / "argo_sim" / "conformance" / "cases").glob("*.yaml"))

# Cases not run here, with the reason.
NOT_RUN = {
    "backoff-exponential-with-cap": "its backoffs are 5, 10 and 11 minutes of real time",
}
# Nodes whose outcome the lab cannot produce, with the reason.
LAB_CANNOT = {
    "pod-failed-without-own-exit": (
        {"case.deleted", "case.deleted(0)", "case.deleted(1)"},
        "the process kubelet has no way to make a pod vanish other than its deletion by the API",
    ),
}


# Differences found between the double and the real controller (v4.0.5), with the reason; each
# must keep failing (strict), so a difference that goes away is noticed.
DIFFERENT: dict[str, str] = {
    "any-all-only-for-taskgroups": (
        "v4.0.5 validation rejects .AnySucceeded/.AllFailed on a task without items (the "
        "workflow Fails at once); the double runs it as evaluateDependsLogic does"
    ),
    "backoff-exceeds-max-duration": (
        "timing: a lab pod takes about 11 s where the case plays 8 s, so maxDuration (15 s) has "
        "passed at the decision: 'Max duration limit exceeded'"
    ),
    "max-duration-kills-retried-attempt": (
        "the retried attempt is stopped by SIGTERM at the deadline: 'main: Error (exit code "
        "143)'; the double says 'Step exceeded its deadline'"
    ),
    "null-item-rejected": "v4.0.5 ran a workflow with a null item (Succeeded); the double refuses",
    "pod-failed-without-own-exit": (
        "the evicted pod was deleted during the backoff and the attempt became Error 'pod "
        "deleted' (still retried); the double keeps it Failed with the kubelet's message"
    ),
    "retry-expression-no-exit-code": (
        "the lab's process kubelet does not enforce activeDeadlineSeconds: the 300 s attempt "
        "Succeeded"
    ),
}


def _param(path: Path) -> Any:
    if path.stem in DIFFERENT:
        mark = pytest.mark.xfail(reason=DIFFERENT[path.stem], strict=True)
        return pytest.param(path, id=path.stem, marks=mark)
    return pytest.param(path, id=path.stem)


# Cases at once, each in a namespace of its own with its own plan: the lab's pods mostly wait
# (on start-up, plays and backoffs), so side by side the set takes a fraction of the time. The
# cases that play longest start first.
PARALLEL = 8


@dataclass
class Outcome:
    """What the real controller made of a case: the workflow, `argo get`'s view of it, and for
    a case with `retry`, the same after `argo retry` with the nodes whose pods ran again."""

    workflow: dict[str, Any]
    shown: str
    retried: dict[str, Any] | None = None
    retried_shown: str = ""
    reran: list[str] = field(default_factory=list)


def namespace_of(path: Path) -> str:
    return f"case-{CASES.index(path):02d}"


def runnable(path: Path) -> bool:
    return (
        path.stem not in NOT_RUN and "unsupported" not in yaml.safe_load(path.read_text())["expect"]
    )


def played_seconds(path: Path) -> float:
    plays = yaml.safe_load(path.read_text()).get("plays") or {}
    return sum(float(play.get("seconds", 0)) for queue in plays.values() for play in queue)


def run(lab: Lab, path: Path) -> Outcome:
    case, namespace = yaml.safe_load(path.read_text()), namespace_of(path)
    lab.make_namespace(namespace)
    workflow = run_case(lab, with_plans(case), namespace)
    outcome = Outcome(workflow, lab.argo("get", "-n", namespace, NAME, check=False))
    if "retry" in case and "rejects" not in case["expect"]:
        retried_at = now()
        outcome.retried = retry_case(lab, {**case, "retry": with_plans(case["retry"])}, namespace)
        outcome.retried_shown = lab.argo("get", "-n", namespace, NAME, check=False)
        outcome.reran = reran(lab, namespace, retried_at, case["retry"]["expect"]["reran"])
    return outcome


def reran(lab: Lab, namespace: str, since: str, expected: list[str]) -> list[str]:
    """The nodes whose pods ran since `since`, once the kubelet's journal has them all (it
    writes a pod's line just after reporting the pod's end)."""
    deadline = time.monotonic() + 15
    while True:
        found = sorted(
            r["node_name"]
            for r in lab.journal()
            if r["namespace"] == namespace and r["started"] >= since and not r["deleted"]
        )
        if found == sorted(expected) or time.monotonic() > deadline:
            return found
        time.sleep(0.5)


@pytest.fixture(scope="module")
def outcomes(lab: Lab) -> Iterator[dict[str, Future[Outcome]]]:
    with ThreadPoolExecutor(PARALLEL) as pool:
        longest_first = sorted(filter(runnable, CASES), key=played_seconds, reverse=True)
        yield {path.stem: pool.submit(run, lab, path) for path in longest_first}
        pool.shutdown(cancel_futures=True)


def plan_of(play: dict[str, Any]) -> dict[str, Any]:
    """A case's play as a kubelet plan (kubelet.py): evictions, OOM kills and failed init or
    wait containers become the kubelet's injected outcomes."""
    after = float(play.get("seconds", 0)) or 1.0
    if play.get("podMessage"):
        return {"kill": "evict", "after": after, "message": play["podMessage"]}
    if play.get("reason") == "OOMKilled":
        return {"kill": "oom", "after": after}
    if play.get("container") in ("init", "wait"):
        plan = {"fail": play["container"], "code": play.get("code", 1)}
        return {**plan, "message": play.get("message", "")}
    if play.get("deleted"):
        return {}
    return {k: play[k] for k in ("code", "message", "seconds", "files") if k in play}


def with_plans(case: dict[str, Any]) -> dict[str, Any]:
    plays = case.get("plays") or {}
    return {**case, "plays": {n: [plan_of(p) for p in ps] for n, ps in plays.items()}}


def check(workflow: dict[str, Any], expect: dict[str, Any], skipped: set[str], shown: str) -> None:
    nodes = {n["name"]: n for n in iter_nodes(workflow)}
    assert workflow["status"]["phase"] == expect["phase"], shown
    for node, phase in expect.get("nodes", {}).items():
        if node not in skipped:
            assert nodes.get(node, {}).get("phase") == phase, (node, shown)
    for node in expect.get("absent", []):
        assert node not in nodes, (node, shown)
    for node, message in expect.get("messages", {}).items():
        if node not in skipped:
            got = nodes[node].get("message", "")
            assert got.rstrip() == str(message).rstrip(), (node, got, shown)
    ids = {n["id"]: name for name, n in nodes.items()}
    for node, children in expect.get("children", {}).items():
        assert [ids[c] for c in nodes[node].get("children", [])] == children, (node, shown)


@pytest.mark.parametrize("path", [_param(p) for p in CASES])
def test_real_controller_answers_as_the_double_does_when_given_a_conformance_case(
    outcomes: dict[str, Future[Outcome]], path: Path
) -> None:
    if path.stem in NOT_RUN:
        pytest.skip(NOT_RUN[path.stem])
    case = yaml.safe_load(path.read_text())
    expect = case["expect"]
    if "unsupported" in expect:
        pytest.skip("the double refuses this case (UnsupportedFeature): nothing to compare")
    skipped, _ = LAB_CANNOT.get(path.stem, (set(), ""))
    outcome = outcomes[path.stem].result()
    if "rejects" in expect:
        assert outcome.workflow["status"]["phase"] in ("Error", "Failed"), outcome.shown
        return
    check(outcome.workflow, expect, skipped, outcome.shown)
    if "retry" in case:
        assert outcome.retried is not None
        check(outcome.retried, case["retry"]["expect"], skipped, outcome.retried_shown)
        reran = sorted(case["retry"]["expect"]["reran"])
        assert outcome.reran == reran, (outcome.reran, outcome.retried_shown)
