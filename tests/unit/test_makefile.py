"""The Makefile explains itself: a bare `make` lists the targets and installs nothing."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def make(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "--no-print-directory", "-C", str(REPO), *args],
        capture_output=True, text=True, check=False,
    )  # fmt: skip


def test_bare_make_prints_help_and_runs_nothing_when_called_without_a_target() -> None:
    bare, dry = make(), make("-n")
    assert bare.returncode == 0, bare.stderr
    assert bare.stdout == make("help").stdout
    assert "pip install" not in dry.stdout and "uv sync" not in dry.stdout


def test_help_lists_every_documented_target_with_its_text_when_asked() -> None:
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    documented = dict(re.findall(r"^## ([\w-]+): (.+)$", makefile, re.MULTILINE))
    assert {"demo", "test", "install", "lock", "lock-upgrade", "help"} <= set(documented)
    shown = make("help").stdout
    for target, text in documented.items():
        assert re.search(rf"^  {re.escape(target)}\s+{re.escape(text)}$", shown, re.MULTILINE)
