"""The optional extras: help works without them, and a command that needs a missing one is a
usage error (exit 2) naming the extra to install. The extras are hidden from the real console
script by a `sitecustomize` module on PYTHONPATH, as in a venv that never installed them."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.e2e.conftest import LAST, Place
from xetra_etl.steps.cli import COMMANDS

pytestmark = pytest.mark.e2e

HIDER = """
import importlib.abc, os, sys

HIDDEN = set(os.environ["HIDDEN_PACKAGES"].split(","))

class HidePackages(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in HIDDEN:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)

sys.meta_path.insert(0, HidePackages())
"""

UP_TO_LAST = ("--last-date", LAST.isoformat())  # the demo source's age is judged from its end
DATA = "pyarrow,pandas,numpy,obstore"
ARGO = "hera"
# What `make demo` installs (the data extra, no hera), and the bare `pip install .`.
DEMO_INSTALL = ARGO
BARE_INSTALL = f"{DATA},{ARGO}"


def without(place: Place, hidden: str, *args: str) -> subprocess.CompletedProcess[str]:
    folder = place.tmp / "hider"
    folder.mkdir(exist_ok=True)
    (folder / "sitecustomize.py").write_text(HIDER)
    return place.cli(*args, env={"PYTHONPATH": str(folder), "HIDDEN_PACKAGES": hidden})


def test_the_hider_hides_what_it_is_told_to(local_place: Place) -> None:
    result = without(local_place, DATA, "run", "--config", str(local_place.write_config()))
    assert result.returncode == 2, result.stderr
    shown = local_place.cli("run", "--config", str(local_place.write_config()), *UP_TO_LAST)
    assert shown.returncode == 0, shown.stderr


@pytest.mark.parametrize("command", list(COMMANDS))
def test_help_works_without_any_extra(local_place: Place, command: str) -> None:
    result = without(local_place, BARE_INSTALL, command, "--help")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"usage: xetra-etl {command}")


@pytest.mark.parametrize(
    "args",
    [["workflows", "render", "--out", "manifests"], ["argo", "submit"]],
    ids=["render", "submit"],
)
def test_argo_commands_without_the_argo_extra_say_to_install_it(
    local_place: Place, args: list[str]
) -> None:
    result = without(local_place, DEMO_INSTALL, *args)
    assert result.returncode == 2, result.stderr
    assert "pip install 'xetra-etl[argo]'" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (local_place.tmp / "manifests").exists()


@pytest.mark.parametrize("command", ["run", "show"])
def test_data_commands_without_the_data_extra_say_to_install_it(
    local_place: Place, command: str
) -> None:
    config = local_place.write_config()
    result = without(local_place, BARE_INSTALL, command, "--config", str(config))
    assert result.returncode == 2, result.stderr
    assert "pip install 'xetra-etl[data]'" in result.stderr
    assert "bug" not in result.stderr and "Traceback" not in result.stderr
    assert not Path(local_place.target_uri).exists()  # refused before any work


def test_control_commands_work_on_the_bare_install(local_place: Place) -> None:
    config = str(local_place.write_config())
    assert local_place.cli("run", "--config", config, *UP_TO_LAST).returncode == 0
    for args in (["check", *UP_TO_LAST], ["status"]):
        result = without(local_place, BARE_INSTALL, *args, "--config", config)
        assert result.returncode == 0, result.stdout + result.stderr
