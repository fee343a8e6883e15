"""Cases taken from Argo's own tests, run through the double; each names its Go test and tag.

A case file (`cases/*.yaml`) holds the workflow (our own YAML written after the Go test's
fixture), how each pod attempt ends (`plays`, by node name: exit code, virtual seconds, the
termination message, files the pod writes), and the outcome the Go test asserts: workflow and
node phases, messages, start times on the virtual clock, what the exit handler received, and,
for `argo retry`, which pods run again. `not_covered.yaml` lists the Argo behaviours next to
these that the double does not model, each with the reason; a case that needs one of them
must raise `UnsupportedFeature` (`expect.unsupported`), never pass by accident.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.argo_sim import ArgoSim, ContainerRun, RunOutcome, UnsupportedFeature, WorkflowError
from tests.argo_sim.interpreter import TERMINATION_LOG

CASES = Path(__file__).parent / "cases"
NAME = "case"
TAGS = {"v4.0.10", "v3.7.18"}


def _load(path: Path) -> dict[str, Any]:
    case: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return case


CASE_FILES = sorted(CASES.glob("*.yaml"))


@dataclass
class Player:
    """Ends each pod attempt as the case says; unknown nodes exit 0."""

    plays: dict[str, list[dict[str, Any]]]
    argv: dict[str, list[str]] = field(default_factory=dict)
    ran: list[str] = field(default_factory=list)

    def __call__(self, run: ContainerRun) -> RunOutcome:
        self.ran.append(run.node)
        self.argv[run.node] = list(run.argv)
        queue = self.plays.get(run.node, [])
        play = queue.pop(0) if queue else {}
        for path, content in play.get("files", {}).items():
            local = run.localize(path)
            assert local != path, f"{path} is not on a pod volume in the case's YAML"
            Path(local).parent.mkdir(parents=True, exist_ok=True)
            Path(local).write_text(content)
        if play.get("message"):
            Path(run.localize(TERMINATION_LOG)).write_text(play["message"])
        code = play.get("code", 0)
        return RunOutcome(
            None if code is None else int(code),
            seconds=float(play.get("seconds", 0)),
            reason=str(play.get("reason", "Error")),
            pod_message=str(play.get("podMessage", "")),
            container=str(play.get("container", "main")),
            deleted=bool(play.get("deleted", False)),
        )


def _sim(case: dict[str, Any], tmp_path: Path, player: Player) -> ArgoSim:
    doc = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "WorkflowTemplate",
        "metadata": {"name": NAME},
        "spec": case["workflow"],
    }
    return ArgoSim(
        [doc],
        submit=NAME,
        name=NAME,
        work_dir=tmp_path,
        parameters=case.get("parameters"),
        runner=player,
        artifact_repository=case.get("artifactRepository"),
    )


def _check(sim: ArgoSim, player: Player, phase: str, expect: dict[str, Any]) -> None:
    assert phase == expect["phase"]
    phases = sim.phases()
    for node, expected in expect.get("nodes", {}).items():
        assert phases.get(node) == expected, (node, phases)
    for node in expect.get("absent", []):
        assert node not in phases, node
    for node, message in expect.get("messages", {}).items():
        assert sim.nodes[node].message == message, node
    for node, start in expect.get("started", {}).items():
        assert sim.nodes[node].started_at == start, node
    for node, finish in expect.get("finished", {}).items():
        assert sim.nodes[node].finished_at == finish, node
    for node, argv in expect.get("argv", {}).items():
        assert player.argv[node] == argv, node
    if "children" in expect:
        for node, children in expect["children"].items():
            assert sim.nodes[node].children == children, node


@pytest.mark.parametrize("path", CASE_FILES, ids=[p.stem for p in CASE_FILES])
def test_double_answers_like_argo_when_given_a_case_from_its_tests(
    path: Path, tmp_path: Path
) -> None:
    case = _load(path)
    source = case["source"]
    assert source["tag"] in TAGS and source["test"].startswith("Test") and source["file"]
    expect = case["expect"]
    player = Player({k: list(v) for k, v in case.get("plays", {}).items()})
    sim = _sim(case, tmp_path / "run", player)
    if "unsupported" in expect:
        with pytest.raises(UnsupportedFeature, match=expect["unsupported"]):
            sim.run()
        return
    if "rejects" in expect:
        with pytest.raises(WorkflowError, match=expect["rejects"]):
            sim.run()
        return
    _check(sim, player, sim.run(), expect)
    if "retry" in case:
        retry = case["retry"]
        player.plays = {k: list(v) for k, v in retry.get("plays", {}).items()}
        before = len(player.ran)
        phase = sim.retry()
        _check(sim, player, phase, retry["expect"])
        assert player.ran[before:] == retry["expect"]["reran"]


def test_every_case_and_every_gap_names_its_argo_source() -> None:
    gaps = yaml.safe_load((Path(__file__).parent / "not_covered.yaml").read_text())
    for gap in gaps:
        assert gap["test"].startswith("Test") and gap["file"] and gap["reason"], gap
        assert gap["tag"] in TAGS
    assert len(CASE_FILES) >= 11
