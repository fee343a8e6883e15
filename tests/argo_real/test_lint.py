"""`argo lint --offline` (Argo's own validator, built from the v4.0.5 module) over every manifest
we render or ship: the templates and CronWorkflow in workflows/manifests/ and minikube's
first run, which refers to them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.argo_real.lab import REPO

pytestmark = pytest.mark.argo

RENDERED = sorted((REPO / "workflows" / "manifests").glob("*.yaml"))
ARGO_KINDS = {"Workflow", "WorkflowTemplate", "CronWorkflow", "ClusterWorkflowTemplate"}
MINIKUBE_WORKFLOWS = [
    path
    for path in sorted((REPO / "minikube").glob("*.yaml"))
    if any((doc or {}).get("kind") in ARGO_KINDS for doc in yaml.safe_load_all(path.read_text()))
]


def lint(argo_bin: Path, *paths: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(argo_bin / "argo"), "lint", "--offline", "--output", "simple", *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_minikube_ships_the_first_run_as_its_only_argo_manifest() -> None:
    assert [p.name for p in MINIKUBE_WORKFLOWS] == ["first-run.yaml"]
    assert {p.name for p in RENDERED} >= {
        "workflowtemplate-xetra-etl.yaml",
        "workflowtemplate-xetra-etl-steps.yaml",
        "cronworkflow-xetra-etl-weekly.yaml",
    }


def test_argo_lint_offline_accepts_every_rendered_and_shipped_manifest(argo_bin: Path) -> None:
    result = lint(argo_bin, *RENDERED, *MINIKUBE_WORKFLOWS)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no linting errors found" in (result.stdout + result.stderr).lower()


def test_argo_lint_offline_rejects_a_template_reference_to_a_missing_template(
    argo_bin: Path, tmp_path: Path
) -> None:
    pipeline = REPO / "workflows" / "manifests" / "workflowtemplate-xetra-etl.yaml"
    broken = tmp_path / "broken.yaml"
    broken.write_text(pipeline.read_text().replace("template: merge", "template: merge-typo"))
    result = lint(argo_bin, broken, *[p for p in RENDERED if p != pipeline])
    assert result.returncode != 0
    assert "merge-typo" in result.stdout + result.stderr


def test_our_go_source_is_gofmt_and_vet_clean() -> None:
    go = REPO / "tests" / "argo_real" / "go"
    formatted = subprocess.run(
        ["gofmt", "-l", "argo", "kube", "etcd"], cwd=go, capture_output=True, text=True, check=True
    )
    assert formatted.stdout == ""
    subprocess.run([str(go / "build.sh"), "--prepare"], check=True, timeout=600)
    vet = subprocess.run(
        ["go", "vet", "./..."],
        cwd=go / "argo",
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert vet.returncode == 0, vet.stderr


def test_build_script_passes_shellcheck() -> None:
    shellcheck = Path(sys.executable).parent / "shellcheck"
    script = REPO / "tests" / "argo_real" / "go" / "build.sh"
    result = subprocess.run(
        [str(shellcheck), str(script)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout
