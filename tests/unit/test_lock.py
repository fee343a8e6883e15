"""uv.lock, the versions every environment installs: in step with pyproject.toml, and enough on
its own to install the project. Nothing here asks the registry what is newest today."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def uv() -> str:
    found = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
    if found is None:
        pytest.skip("uv not installed (make install)")
    return found


def test_lock_matches_pyproject_when_checked_offline() -> None:
    result = subprocess.run(
        [uv(), "lock", "--check", "--offline"],
        cwd=REPO, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, f"uv.lock is stale: run `make lock`\n{result.stderr}"


def test_lock_check_fails_when_pyproject_asks_for_a_new_requirement(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    for name in ("pyproject.toml", "uv.lock", "README.md"):
        shutil.copy(REPO / name, project / name)
    pyproject = project / "pyproject.toml"
    text = pyproject.read_text(encoding="utf-8")
    pyproject.write_text(text.replace('"PyYAML>=6.0"', '"PyYAML>=6.0.2"'), encoding="utf-8")
    result = subprocess.run(
        [uv(), "lock", "--check", "--offline"],
        cwd=project, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode != 0
    assert "needs to be updated" in result.stderr


def test_makefile_bootstraps_the_uv_version_the_lock_pins_when_installing() -> None:
    locked = re.search(r'^name = "uv"\nversion = "([^"]+)"', (REPO / "uv.lock").read_text(), re.M)
    assert locked is not None, "uv.lock pins no uv: keep uv in the dev extra"
    dry_run = subprocess.run(
        ["make", "-n", "-B", "-C", str(REPO), ".venv/bin/uv"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert f'"uv=={locked.group(1)}"' in dry_run


@pytest.mark.slow
def test_project_installs_and_runs_from_the_lock_alone_when_synced_into_a_fresh_venv(
    tmp_path: Path,
) -> None:
    """`--frozen`: the lock as it is, never re-resolved, so a new upstream release changes
    nothing; the installed set is then consistent (`pip check`) and the command line works."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    env = {**os.environ, "UV_PROJECT_ENVIRONMENT": str(venv), "UV_PYTHON_DOWNLOADS": "never"}
    env.pop("VIRTUAL_ENV", None)
    sync = subprocess.run(
        [uv(), "sync", "--frozen", "--quiet", "--extra", "data", "--no-editable"],
        cwd=REPO, env=env, capture_output=True, text=True, check=False, timeout=600,
    )  # fmt: skip
    assert sync.returncode == 0, sync.stderr
    check = subprocess.run(
        [uv(), "pip", "check", "--python", str(venv / "bin" / "python")],
        env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert check.returncode == 0, check.stdout + check.stderr
    installed = subprocess.run(
        [uv(), "pip", "freeze", "--python", str(venv / "bin" / "python")],
        env=env, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    boto3 = re.search(r'^name = "boto3"\nversion = "([^"]+)"', (REPO / "uv.lock").read_text(), re.M)
    assert boto3 is not None and f"boto3=={boto3.group(1)}" in installed.splitlines()
    version = subprocess.run(
        [str(venv / "bin" / "xetra-etl"), "--version"],
        cwd=tmp_path, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert version.returncode == 0, version.stderr
