"""Execution test double for Argo Workflows: runs the rendered templates with local processes.

See `interpreter` for the features it models. Typical use:

    sim = ArgoSim(manifests, submit="xetra-etl", work_dir=tmp_path, env={...},
                  path_map={"/etc/xetra/config.yaml": config_file})
    assert sim.run() == "Failed"
    assert sim.retry() == "Succeeded"
"""

from .interpreter import (
    ARGO_VERSION,
    ERROR,
    FAILED,
    OMITTED,
    SKIPPED,
    SUCCEEDED,
    ArgoSim,
    ContainerRun,
    Node,
    Runner,
    RunOutcome,
    UnsupportedFeature,
    WorkflowError,
    evaluate_depends,
    go_quote,
    host_runner,
    pod_name,
    substitute,
)

__all__ = [
    "ARGO_VERSION",
    "ERROR",
    "FAILED",
    "OMITTED",
    "SKIPPED",
    "SUCCEEDED",
    "ArgoSim",
    "ContainerRun",
    "Node",
    "RunOutcome",
    "Runner",
    "UnsupportedFeature",
    "WorkflowError",
    "evaluate_depends",
    "go_quote",
    "host_runner",
    "pod_name",
    "substitute",
]
