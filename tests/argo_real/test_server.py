"""`xetra-etl argo lint` and `argo apply` against the real argo-server (`argo server`, v4.0.5)
over the lab: what our Hera client sends is what the real server answers, in a namespace where
nothing is installed yet."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.argo_real.lab import Lab, Process
from tests.s3servers import free_ports

pytestmark = pytest.mark.argo

FRESH = "lint-fresh"
DOCUMENTS = [
    "WorkflowTemplate/xetra-etl-steps",
    "WorkflowTemplate/xetra-etl",
    "CronWorkflow/xetra-etl-weekly",
]


@pytest.fixture(scope="module")
def argo_server(lab: Lab) -> Iterator[str]:
    """A plain-HTTP argo-server in the controller's namespace (its ConfigMap is there), acting
    with the lab admin's kubeconfig (`--auth-mode=server`)."""
    (port,) = free_ports(1)
    argv = [
        str(lab.bin / "argo"),
        "server",
        "--namespace=argo",
        "--auth-mode=server",
        "--secure=false",
    ]
    process = Process("argo-server", [*argv, f"--port={port}"], lab.dir / "logs", lab.env())
    address = f"localhost:{port}"
    deadline = time.monotonic() + 120
    while True:
        process.check()
        try:
            with urllib.request.urlopen(f"http://{address}/api/v1/version", timeout=5):
                break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
    lab.kubectl("create", "namespace", FRESH)
    yield address
    process.stop()


def xetra_etl_argo(address: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ARGO_SERVER": f"http://{address}", "ARGO_SECURE": "false"}
    env.pop("ARGO_TOKEN", None)
    return subprocess.run(
        [str(Path(sys.executable).with_name("xetra-etl")), "argo", *args, "--namespace", FRESH],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_lint_rejects_what_refers_to_templates_not_installed_and_apply_then_installs_them(
    lab: Lab, argo_server: str
) -> None:
    before = xetra_etl_argo(argo_server, "lint")
    assert before.returncode == 1, before.stdout + before.stderr
    assert before.stdout.split("\n")[0] == f"valid {DOCUMENTS[0]}", before.stdout
    assert "xetra-etl-steps" in before.stderr and "not found" in before.stderr, before.stderr

    applied = xetra_etl_argo(argo_server, "apply")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert applied.stdout.count("created") == 3, applied.stdout

    after = xetra_etl_argo(argo_server, "lint")
    assert after.returncode == 0, after.stdout + after.stderr
    assert after.stdout.split() == [w for d in DOCUMENTS for w in ("valid", d)]

    again = xetra_etl_argo(argo_server, "apply")
    assert again.returncode == 0, again.stdout + again.stderr
    assert again.stdout.count("updated") == 3, again.stdout

    installed = yaml.safe_load(
        lab.kubectl("-n", FRESH, "get", "workflowtemplates,cronworkflows", "-o", "yaml")
    )
    kinds = sorted(f"{i['kind']}/{i['metadata']['name']}" for i in installed["items"])
    assert kinds == sorted(DOCUMENTS)
