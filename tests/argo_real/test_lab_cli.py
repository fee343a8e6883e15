"""`make argo-lab` starts the lab in the background and says how to reach it; `make argo-lab-down`
stops every process it recorded. The lab is started in image mode (ARGO_LAB_IMAGES=1): the step
images are mounted while it runs and unmounted when it stops."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.argo_real.lab import REPO, process_alive

pytestmark = pytest.mark.argo


def make(target: str, lab_dir: Path, *variables: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "-s", "-C", str(REPO), target, f"ARGO_LAB_DIR={lab_dir}", *variables],
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )


def test_make_argo_lab_prints_a_kubeconfig_that_reaches_it_and_down_stops_every_process(
    tmp_path: Path,
) -> None:
    lab_dir = tmp_path / "lab"
    up = make("argo-lab", lab_dir, "ARGO_LAB_IMAGES=1")
    pids = [int(p) for p in (lab_dir / "pids").read_text().split()]
    rootfs: list[str] = []
    try:
        assert up.returncode == 0, up.stdout + up.stderr
        rootfs = list(json.loads((lab_dir / "ready").read_text())["images"].values())
        assert "image mode" in up.stdout and rootfs, up.stdout
        assert all(os.path.ismount(path) for path in rootfs), rootfs
        assert "Server Version: v1.36.3" in up.stdout and "v4.0.5" in up.stdout
        exports = re.search(r"export KUBECONFIG=(\S+) PATH=(\S+):\$PATH", up.stdout)
        assert exports, up.stdout
        kubeconfig, bin_dir = exports[1], exports[2]
        nodes = subprocess.run(
            [f"{bin_dir}/kubectl", "get", "nodes", "-o", "name"],
            env={**os.environ, "KUBECONFIG": kubeconfig},
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        assert nodes.stdout.split() == ["node/argo-lab"]
        again = make("argo-lab", lab_dir)
        assert again.returncode != 0 and "already running" in again.stdout
    finally:
        down = make("argo-lab-down", lab_dir)
    assert down.returncode == 0, down.stdout + down.stderr
    assert "stopped" in down.stdout
    assert [p for p in pids if process_alive(p)] == []
    assert not (lab_dir / "pids").exists()
    assert [path for path in rootfs if os.path.ismount(path)] == []
