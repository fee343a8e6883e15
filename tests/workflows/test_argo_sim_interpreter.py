"""The Argo test double itself, on a tiny workflow whose containers are `python -c` one-liners.

The worker reads its exit codes from a control file per item (`/control/<item>`, mapped to a local
directory): "65" fails once for good, "75,75,0" fails twice transiently and then succeeds.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.argo_sim import (
    ERROR,
    FAILED,
    OMITTED,
    SKIPPED,
    SUCCEEDED,
    ArgoSim,
    ContainerRun,
    RunOutcome,
    UnsupportedFeature,
    WorkflowError,
    evaluate_depends,
    pod_name,
)
from tests.argo_sim.interpreter import Node, fnv32a

WRITE_ITEMS = (
    "import json, os, sys; os.makedirs(os.path.dirname(sys.argv[1]), exist_ok=True); "
    "open(sys.argv[1], 'w').write(sys.argv[2])"
)
WORK = (
    "import pathlib, sys; p = pathlib.Path(sys.argv[1]); "
    "codes = p.read_text().split(',') if p.exists() else ['0']; "
    "p.write_text(','.join(codes[1:] or ['0'])) if p.exists() else None; "
    "sys.exit(int(codes[0]))"
)
RECORD = (
    "import json, os, sys; "
    "open(sys.argv[1], 'w').write(json.dumps({'status': sys.argv[2], 'failures': sys.argv[3], "
    "'token': os.environ.get('TOKEN'), 'mode': os.environ.get('MODE')}))"
)


PYTHON = os.path.realpath(sys.executable)


def _container(
    name: str, code: str, args: list[str], inputs: list[str], **extra: Any
) -> dict[str, Any]:
    template = {
        "name": name,
        "inputs": {"parameters": [{"name": n} for n in inputs]},
        "container": {
            "image": f"example/{name}:1",
            # The base interpreter, not the venv's: a checkout under /tmp would put the venv's
            # python inside the pod's /tmp mount, which the double maps to the pod's directory.
            "command": [PYTHON, "-c", code],
            "args": args,
            "env": [{"name": "MODE", "value": "{{workflow.parameters.mode}}"}],
            "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
        },
        "volumes": [{"name": "tmp", "emptyDir": {}}],
        "retryStrategy": {"limit": "3", "expression": "asInt(lastRetry.exitCode) == 75"},
    }
    template.update(extra)
    return template


def _ref(template: str) -> dict[str, str]:
    return {"name": "lib", "template": template}


def _params(**values: str) -> dict[str, list[dict[str, str]]]:
    return {"parameters": [{"name": k, "value": v} for k, v in values.items()]}


def fake_documents(fail_fast: bool | None = False) -> list[dict[str, Any]]:
    """A library of three containers and a pipeline shaped like ours: gen, fan-out, collect."""
    library = {
        "kind": "WorkflowTemplate",
        "metadata": {"name": "lib"},
        "spec": {
            "templates": [
                _container(
                    "gen",
                    WRITE_ITEMS,
                    ["/tmp/outputs/items.json", "{{inputs.parameters.items}}"],
                    ["items"],
                    outputs={
                        "parameters": [
                            {"name": "items", "valueFrom": {"path": "/tmp/outputs/items.json"}}
                        ]
                    },
                ),
                _container("work", WORK, ["/control/{{inputs.parameters.item}}"], ["item"]),
                _container(
                    "record",
                    RECORD,
                    [
                        "/control/{{inputs.parameters.name}}.json",
                        "{{inputs.parameters.status}}",
                        "{{inputs.parameters.failures}}",
                    ],
                    ["name", "status", "failures"],
                    outputs={
                        "parameters": [
                            {
                                "name": "summary",
                                "valueFrom": {"path": "/tmp/outputs/none.json", "default": "{}"},
                            }
                        ]
                    },
                ),
            ]
        },
    }
    main_dag: dict[str, Any] = {
        "tasks": [
            {
                "name": "gen",
                "templateRef": _ref("gen"),
                "arguments": _params(items="{{workflow.parameters.items}}"),
            },
            {
                "name": "fan",
                "template": "per-item",
                "depends": "gen",
                "withParam": "{{tasks.gen.outputs.parameters.items}}",
                "arguments": _params(item="{{item}}"),
            },
            {
                "name": "collect",
                "templateRef": _ref("record"),
                "depends": "fan",
                "arguments": _params(name="collect", status="{{workflow.name}}", failures="-"),
            },
        ]
    }
    if fail_fast is not None:
        main_dag["failFast"] = fail_fast
    ctx = {
        "kind": "WorkflowTemplate",
        "metadata": {"name": "pipe"},
        "spec": {
            "entrypoint": "main",
            "onExit": "exit",
            "arguments": {
                "parameters": [
                    {"name": "items", "value": '["a", "b", "c"]'},
                    {"name": "mode", "value": "test"},
                ]
            },
            "templates": [
                {"name": "main", "dag": main_dag},
                {
                    "name": "per-item",
                    "inputs": {"parameters": [{"name": "item"}]},
                    "dag": {
                        "tasks": [
                            {
                                "name": "first",
                                "templateRef": _ref("work"),
                                "arguments": _params(item="{{inputs.parameters.item}}"),
                            },
                            {
                                "name": "second",
                                "templateRef": _ref("work"),
                                "depends": "first",
                                "arguments": _params(item="{{inputs.parameters.item}}-second"),
                            },
                        ]
                    },
                },
                {
                    "name": "exit",
                    "dag": {
                        "tasks": [
                            {
                                "name": "notify",
                                "templateRef": _ref("record"),
                                "arguments": _params(
                                    name="notify",
                                    status="{{workflow.status}}",
                                    failures="{{workflow.failures}}",
                                ),
                            }
                        ]
                    },
                },
            ],
        },
    }
    return [library, ctx]


@pytest.fixture
def control(tmp_path: Path) -> Path:
    path = tmp_path / "control"
    path.mkdir()
    return path


def make_sim(
    tmp_path: Path, control: Path, docs: list[dict[str, Any]] | None = None, **kw: Any
) -> ArgoSim:
    return ArgoSim(
        docs or fake_documents(),
        submit="pipe",
        work_dir=tmp_path / "work",
        path_map={"/control": control},
        env={"TOKEN": "from-secret"},
        **kw,
    )


def _notified(control: Path) -> dict[str, Any]:
    result: dict[str, Any] = json.loads((control / "notify.json").read_text())
    return result


def _ran(sim: ArgoSim) -> list[str]:
    return [run.node for run in sim.runs]


def test_sim_succeeds_and_names_nodes_like_argo_when_every_step_exits_zero(
    tmp_path: Path, control: Path
) -> None:
    sim = make_sim(tmp_path, control)
    assert sim.run() == SUCCEEDED
    phases = sim.phases()
    assert phases["sim-run.fan(1:b).first"] == SUCCEEDED
    assert phases["sim-run.fan(2:c).second"] == SUCCEEDED
    assert phases["sim-run.fan"] == SUCCEEDED
    assert phases["sim-run.collect"] == SUCCEEDED
    notified = _notified(control)
    expected = {
        "status": SUCCEEDED,
        "failures": '"null"',  # strconv.Quote of json null
        "token": "from-secret",
        "mode": "test",
    }
    assert notified == expected
    assert json.loads((control / "collect.json").read_text())["status"] == "sim-run"


def test_sim_fails_workflow_and_omits_merge_when_one_item_fails(
    tmp_path: Path, control: Path
) -> None:
    (control / "b").write_text("65")
    sim = make_sim(tmp_path, control)
    assert sim.run() == FAILED
    phases = sim.phases()
    assert phases["sim-run.fan(1:b).first"] == FAILED  # the Retry node
    assert phases["sim-run.fan(1:b).first(0)"] == FAILED  # its one attempt
    assert phases["sim-run.fan(1:b).second"] == OMITTED
    assert phases["sim-run.fan(2:c).second"] == SUCCEEDED  # failFast: false keeps the others
    assert phases["sim-run.collect"] == OMITTED
    assert sim.nodes["sim-run.fan(1:b).first"].exit_codes == [65]  # 65 is not retried
    notified = _notified(control)
    assert notified["status"] == FAILED
    failures = json.loads(json.loads(notified["failures"]))  # strconv.Quote'd JSON
    names = sorted(f["displayName"] for f in failures)
    assert names == ["fan", "fan(1:b)", "first", "first(0)", "sim-run"]
    (attempt,) = [f for f in failures if f["displayName"] == "first(0)"]
    assert attempt["podName"] == pod_name("sim-run", "sim-run.fan(1:b).first(0)", "work")


def test_sim_retries_pod_when_exit_code_is_transient(tmp_path: Path, control: Path) -> None:
    (control / "a").write_text("75,75,0")
    sim = make_sim(tmp_path, control)
    assert sim.run() == SUCCEEDED
    assert sim.nodes["sim-run.fan(0:a).first"].exit_codes == [75, 75, 0]


def test_sim_gives_up_when_transient_failures_exceed_retry_limit(
    tmp_path: Path, control: Path
) -> None:
    (control / "a").write_text("75,75,75,75,0")
    sim = make_sim(tmp_path, control)
    assert sim.run() == FAILED
    assert sim.nodes["sim-run.fan(0:a).first"].exit_codes == [75, 75, 75, 75]


def test_sim_retry_reruns_only_failed_nodes_and_dependents_when_argo_retry(
    tmp_path: Path, control: Path
) -> None:
    (control / "b").write_text("65")
    sim = make_sim(tmp_path, control)
    assert sim.run() == FAILED
    (control / "b").unlink()  # the bad data is fixed
    first_run = len(sim.runs)
    assert sim.retry() == SUCCEEDED
    assert _ran(sim)[first_run:] == [
        "sim-run.fan(1:b).first(0)",
        "sim-run.fan(1:b).second(0)",
        "sim-run.collect(0)",
        "sim-run.onExit.notify(0)",
    ]
    assert sim.nodes["sim-run.fan(0:a).first"].reused
    assert _notified(control)["status"] == SUCCEEDED


def test_sim_retry_reruns_everything_when_not_failed_only(tmp_path: Path, control: Path) -> None:
    (control / "b").write_text("65")
    sim = make_sim(tmp_path, control)
    sim.run()
    first_run = len(sim.runs)
    assert sim.retry(failed_only=False) == SUCCEEDED
    assert len(sim.runs) - first_run == 1 + 6 + 1 + 1


def test_sim_skips_fan_out_and_still_merges_when_list_is_empty(
    tmp_path: Path, control: Path
) -> None:
    sim = make_sim(tmp_path, control, parameters={"items": "[]"})
    assert sim.run() == SUCCEEDED
    assert sim.phases()["sim-run.fan"] == SKIPPED
    assert sim.phases()["sim-run.collect"] == SUCCEEDED


def test_sim_runs_every_item_of_a_fan_out_when_dag_fails_fast(
    tmp_path: Path, control: Path
) -> None:
    # expandTask (dag.go) creates all items in one pass; failFast stops none of them.
    (control / "a").write_text("65")
    sim = make_sim(tmp_path, control, docs=fake_documents(fail_fast=None))
    assert sim.run() == FAILED
    assert sim.nodes["sim-run.fan(0:a)"].phase == FAILED
    assert sim.nodes["sim-run.fan(1:b)"].phase == SUCCEEDED


def test_sim_fails_pod_when_output_file_is_missing(tmp_path: Path, control: Path) -> None:
    docs = fake_documents()
    gen = docs[0]["spec"]["templates"][0]
    gen["container"]["args"][0] = "/tmp/elsewhere.json"
    sim = make_sim(tmp_path, control, docs=docs)
    assert sim.run() == ERROR  # the wait container cannot save the parameter
    assert "no such file" in sim.nodes["sim-run.gen(0)"].message
    assert sim.phases()["sim-run.fan"] == OMITTED


def test_sim_fails_pod_when_required_secret_is_not_injected(tmp_path: Path, control: Path) -> None:
    docs = fake_documents()
    secret = {"secretKeyRef": {"name": "s", "key": "k"}}
    docs[0]["spec"]["templates"][0]["container"]["env"].append({"name": "KEY", "valueFrom": secret})
    sim = make_sim(tmp_path, control, docs=docs)
    assert sim.run() == FAILED
    assert "CreateContainerConfigError" in sim.nodes["sim-run.gen(0)"].message


def test_sim_raises_when_a_variable_cannot_be_resolved(tmp_path: Path, control: Path) -> None:
    docs = fake_documents()
    docs[0]["spec"]["templates"][1]["container"]["args"] = ["{{inputs.parameters.nope}}"]
    with pytest.raises(WorkflowError, match="nope"):
        make_sim(tmp_path, control, docs=docs).run()


def test_sim_raises_when_a_feature_is_not_modelled(tmp_path: Path, control: Path) -> None:
    docs = fake_documents()
    docs[1]["spec"]["templates"][0]["dag"]["tasks"][2]["when"] = "{{workflow.status}} == x"
    with pytest.raises(UnsupportedFeature, match="when"):
        make_sim(tmp_path, control, docs=docs).run()


def test_sim_hands_pod_view_and_mounts_to_runner_when_runner_is_plugged(
    tmp_path: Path, control: Path
) -> None:
    seen: list[ContainerRun] = []

    def runner(run: ContainerRun) -> RunOutcome:
        seen.append(run)
        if run.image == "example/gen:1":
            out = Path(run.localize("/tmp/outputs/items.json"))
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text('["x"]')
        return RunOutcome(0)

    sim = make_sim(tmp_path, control, runner=runner)
    assert sim.run() == SUCCEEDED
    gen = seen[0]
    assert gen.argv[3] == "/tmp/outputs/items.json"  # the pod's own path
    assert gen.mounts["/tmp"].is_dir() and gen.mounts["/control"] == control
    assert [run.node for run in seen][1:3] == [
        "sim-run.fan(0:x).first(0)",
        "sim-run.fan(0:x).second(0)",
    ]


def _node(phase: str, children: list[str] | None = None) -> Node:
    kind = "TaskGroup" if children else "Pod"
    return Node("n", "n", kind, "t", phase, children=children or [])


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("a", True),
        ("a && b", False),
        ("a || b", True),
        ("b.Failed", True),
        ("!b.Succeeded && (a.Succeeded || b.Omitted)", True),
        ("s", True),  # bare name: Succeeded or Skipped
        ("g.AnySucceeded", True),
        ("g.AllFailed", False),
    ],
)
def test_evaluate_depends_follows_argo_semantics_when_given_expression(
    expr: str, expected: bool
) -> None:
    nodes = {"c1": _node(SUCCEEDED), "c2": _node(FAILED)}
    results = {
        "a": _node(SUCCEEDED),
        "b": _node(FAILED),
        "s": _node(SKIPPED),
        "g": _node(FAILED, ["c1", "c2"]),
    }
    assert evaluate_depends(expr, results, nodes) is expected


def test_pod_names_hash_the_node_name_with_fnv1a_when_named_like_argo_v2() -> None:
    # FNV-1a 32-bit reference vectors; GeneratePodName (pod_name.go, TestPodNameV2, v4.0.10).
    assert fnv32a("a") == 0xE40C292C and fnv32a("foobar") == 0xBF9CF968
    assert pod_name("wfname", "nodename", "templatename") == (
        f"wfname-templatename-{fnv32a('nodename')}"
    )
    assert pod_name("wf", "wf", "main") == "wf"  # the root node
