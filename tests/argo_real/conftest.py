"""Fixtures of the real-Argo tier (`make test-argo`, marker `argo`).

- `argo_bin`: the folder of the built binaries (argo, workflow-controller, argoexec,
  kube-apiserver, kubectl, etcd); builds them the first time on a machine (see go/build.sh).
- `lab`: one Argo lab for the session (lab.py): API server, controller, process kubelet and
  SeaweedFS, with `minikube/`'s objects applied and the rendered templates of
  `workflows/manifests/` installed in namespace `xetra`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.argo_real.lab import NAMESPACE, REPO, Lab, build_binaries


@pytest.fixture(scope="session")
def argo_bin() -> Path:
    return build_binaries()


@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    with Lab(tmp_path_factory.mktemp("argo-lab")) as lab:
        print(f"\nargo lab: {lab.versions()}")
        lab.kubectl("apply", "-n", NAMESPACE, "-f", str(REPO / "workflows" / "manifests"))
        yield lab
