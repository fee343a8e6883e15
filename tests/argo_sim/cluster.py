"""What the controller reads from the cluster besides the workflow: the artifact repository.

`artifactRepositories.Resolve` (workflow/artifactrepositories/artifactrepositories.go, v4.0.10):
without an `artifactRepositoryRef` on the workflow, the controller first looks for the ConfigMap
`artifact-repositories` in the workflow's namespace (key: the one named by the annotation
`workflows.argoproj.io/default-artifact-repository`), then falls back to `artifactRepository` in
the controller's ConfigMap `workflow-controller-configmap`. None of them: no repository.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

NAMESPACE_CONFIG_MAP = "artifact-repositories"
DEFAULT_KEY_ANNOTATION = "workflows.argoproj.io/default-artifact-repository"
CONTROLLER_CONFIG_MAP = "workflow-controller-configmap"


def _config_maps(documents: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return [d for d in documents if d and d.get("kind") == "ConfigMap"]


def artifact_repository(
    documents: Iterable[Mapping[str, Any]], namespace: str
) -> dict[str, Any] | None:
    """The artifact repository a workflow in `namespace` gets, from the cluster's manifests."""
    maps = _config_maps(documents)
    for cm in maps:
        meta = cm.get("metadata", {})
        if meta.get("name") == NAMESPACE_CONFIG_MAP and meta.get("namespace") == namespace:
            key = meta.get("annotations", {}).get(DEFAULT_KEY_ANNOTATION, "")
            data = cm.get("data", {})
            if key not in data:
                raise ValueError(f'config map missing key "{key}" for artifact repository ref')
            return dict(yaml.safe_load(data[key]))
    for cm in maps:
        if cm.get("metadata", {}).get("name") == CONTROLLER_CONFIG_MAP:
            text = cm.get("data", {}).get("artifactRepository")
            if text:
                return dict(yaml.safe_load(text))
    return None


def manifests_in(directory: Path) -> list[dict[str, Any]]:
    """Every Kubernetes document in the directory's YAML files."""
    docs: list[dict[str, Any]] = []
    for path in sorted(directory.glob("*.yaml")):
        docs += [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d]
    return docs


MINIKUBE_DIR = Path(__file__).resolve().parents[2] / "minikube"
MINIKUBE_NAMESPACE = "xetra"


def minikube_artifact_repository() -> dict[str, Any] | None:
    """The repository a pipeline run gets on the cluster `minikube/up.sh` builds."""
    return artifact_repository(manifests_in(MINIKUBE_DIR), MINIKUBE_NAMESPACE)
