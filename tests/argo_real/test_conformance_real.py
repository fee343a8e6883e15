"""The double's conformance cases (tests/argo_sim/conformance/cases) on the real controller.

Each case runs as a Workflow named `case` (cases.py), each pod attempt ended as its `plays` say,
and the outcome is compared with what the case expects of the double: workflow phase, node
phases and messages, nodes that must not exist, children, and for `argo retry` which pods ran
again. A difference fails, unless listed below with its reason. Compared only in the double:
start and finish times (its clock is virtual) and pods' argv (the kubelet replaces a played
container's command).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.argo_real.cases import NAME, retry_case, run_case
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


# A namespace of its own (test_kubelet.py makes cases.py's), without an artifact repository.
CONFORMANCE_NAMESPACE = "conformance"


@pytest.fixture(scope="module")
def cases_namespace(lab: Lab) -> str:
    lab.make_namespace(CONFORMANCE_NAMESPACE)
    return CONFORMANCE_NAMESPACE


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
    lab: Lab, cases_namespace: str, path: Path
) -> None:
    if path.stem in NOT_RUN:
        pytest.skip(NOT_RUN[path.stem])
    case = yaml.safe_load(path.read_text())
    expect = case["expect"]
    if "unsupported" in expect:
        pytest.skip("the double refuses this case (UnsupportedFeature): nothing to compare")
    skipped, _ = LAB_CANNOT.get(path.stem, (set(), ""))
    try:
        workflow = run_case(lab, with_plans(case), cases_namespace)
        shown = lab.argo("get", "-n", cases_namespace, NAME, check=False)
        if "rejects" in expect:
            assert workflow["status"]["phase"] in ("Error", "Failed"), shown
            return
        check(workflow, expect, skipped, shown)
        if "retry" in case:
            before = len(lab.journal())
            workflow = retry_case(
                lab, {**case, "retry": with_plans(case["retry"])}, cases_namespace
            )
            shown = lab.argo("get", "-n", cases_namespace, NAME, check=False)
            check(workflow, case["retry"]["expect"], skipped, shown)
            rerun = [
                r["node_name"]
                for r in lab.journal()[before:]
                if r["namespace"] == cases_namespace and not r["deleted"]
            ]
            assert sorted(rerun) == sorted(case["retry"]["expect"]["reran"]), (rerun, shown)
    finally:
        lab.set_plan({})
