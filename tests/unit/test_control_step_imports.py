"""The control images (discover, merge, notify) hold boto3 and PyYAML only: their steps must run
without numpy, pyarrow or pandas. The image tests prove it on built images; this proves it in
seconds, by hiding the data packages from a fresh interpreter."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from xetra_etl.common.infra.naming import STEP_IMAGE

CONTROL_STEPS = [step for step, image in STEP_IMAGE.items() if image in {"discover", "merge"}]

PROBE = """
import importlib, importlib.abc, json, sys

class HideDataPackages(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {"numpy", "pyarrow", "pandas", "obstore"}:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)

sys.meta_path.insert(0, HideDataPackages())
from xetra_etl.steps import cli
try:
    code = cli.main([sys.argv[1], "--help"])
except SystemExit as exc:
    code = exc.code
print(json.dumps(code))
"""


def test_control_steps_are_the_ones_the_small_images_run() -> None:
    assert set(CONTROL_STEPS) == {"discover", "merge", "notify"}


@pytest.mark.parametrize("step", CONTROL_STEPS)
def test_control_step_runs_without_data_packages_when_they_are_missing(step: str) -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE, step], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.splitlines()[-1]) == 0
