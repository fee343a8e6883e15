"""Running a conformance case (`tests/argo_sim/conformance/cases/*.yaml`) on the real controller.

The case's workflow is submitted as a Workflow named `case` (so node names are the ones its
`plays` and `expect` use) in a namespace of its own; its `plays` become that namespace's plan, and
its containers' `command: [play]` runs play.py. `seconds` in a play are real seconds here.

    lab.make_namespace(CASE_NAMESPACE)          # once
    workflow = run_case(lab, yaml.safe_load(path.read_text()))
    workflow = retry_case(lab, case)            # when the case has `retry`
"""

from __future__ import annotations

from typing import Any

import yaml

from tests.argo_real.lab import Lab

CASE_NAMESPACE = "argo-cases"
NAME = "case"


def run_case(
    lab: Lab, case: dict[str, Any], namespace: str = CASE_NAMESPACE, timeout: float = 900.0
) -> dict[str, Any]:
    lab.delete_workflow(NAME, namespace)
    lab.set_plan(
        {node: list(plays) for node, plays in (case.get("plays") or {}).items()}, namespace
    )
    spec = dict(case["workflow"])
    if case.get("parameters"):
        spec["arguments"] = {
            "parameters": [{"name": k, "value": str(v)} for k, v in case["parameters"].items()]
        }
    workflow = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Workflow",
        "metadata": {"name": NAME, "namespace": namespace},
        "spec": spec,
    }
    lab.kubectl("create", "-f", "-", input=yaml.safe_dump(workflow))
    return lab.wait_workflow(NAME, timeout, namespace)


def retry_case(
    lab: Lab, case: dict[str, Any], namespace: str = CASE_NAMESPACE, timeout: float = 900.0
) -> dict[str, Any]:
    retry = case["retry"]
    lab.set_plan(
        {node: list(plays) for node, plays in (retry.get("plays") or {}).items()}, namespace
    )
    lab.argo("retry", "-n", namespace, NAME)
    return lab.wait_workflow(NAME, timeout, namespace)
