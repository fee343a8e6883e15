"""The distribution installs one top-level package, `xetra_etl`, and nothing named `common`,
`steps` or `workflows` that another package could clash with."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
         "--wheel-dir", str(out), str(REPO)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    (built,) = out.glob("xetra_etl-*.whl")
    return zipfile.ZipFile(built)


def test_wheel_holds_only_the_xetra_etl_package_when_built(wheel: zipfile.ZipFile) -> None:
    tops = {name.split("/")[0] for name in wheel.namelist()}
    assert {t for t in tops if not t.endswith(".dist-info")} == {"xetra_etl"}
    top_level = next(n for n in wheel.namelist() if n.endswith(".dist-info/top_level.txt"))
    assert wheel.read(top_level).decode().split() == ["xetra_etl"]


def test_wheel_holds_real_files_for_every_package_and_the_manifests(
    wheel: zipfile.ZipFile,
) -> None:
    names = set(wheel.namelist())
    for package in ("common", "common/domain", "common/adapters/storage", "steps", "workflows"):
        assert f"xetra_etl/{package}/__init__.py" in names, package
    assert any(n.startswith("xetra_etl/workflows/manifests/") for n in names)


def test_console_scripts_point_into_the_namespace_when_built(wheel: zipfile.ZipFile) -> None:
    entry_points = next(n for n in wheel.namelist() if n.endswith(".dist-info/entry_points.txt"))
    targets = [
        line.split("=", 1)[1].strip()
        for line in wheel.read(entry_points).decode().splitlines()
        if "=" in line
    ]
    assert targets and all(t.startswith("xetra_etl.steps.") for t in targets), targets


def test_installed_package_imports_only_under_the_namespace_when_run_elsewhere(
    tmp_path: Path,
) -> None:
    probe = (
        "import importlib.util as u, json; "
        "print(json.dumps([u.find_spec(n) is not None for n in "
        "('xetra_etl.common', 'xetra_etl.steps', 'common', 'steps', 'workflows')]))"
    )
    found = subprocess.run(
        [sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True, check=True
    ).stdout
    assert found.strip() == "[true, true, false, false, false]"
