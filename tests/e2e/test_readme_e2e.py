"""What the README tells a new user to type works as written: `make shell`, the "your own data"
walk-through with its queries, and the shortest config."""

from __future__ import annotations

import importlib.util
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.e2e.conftest import console_script
from xetra_etl.common.infra.config import load_config

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def section(title: str) -> str:
    start = README.index(f"\n{title}\n")
    following = re.search(r"\n#{1,3} ", README[start + len(title) + 2 :])
    return README[
        start : start + len(title) + 2 + (following.start() if following else len(README))
    ]


def blocks(text: str, language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", text, re.DOTALL)


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("XETRA", "AWS_"))}


def test_make_shell_puts_the_venv_command_on_the_path() -> None:
    result = subprocess.run(
        ["make", "-s", "shell"],
        cwd=ROOT,
        input="command -v xetra-etl\n",
        env={**clean_env(), "SHELL": "/bin/sh"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(ROOT / ".venv" / "bin" / "xetra-etl")


def test_the_own_data_walk_through_runs_as_written(tmp_path: Path) -> None:
    """The shell block from the repository root, with `tests/data` as the repository's; the
    command is called by its path (what `make shell` puts on the PATH)."""
    text = section("### Your own data")
    (script,) = blocks(text, "sh")
    (tmp_path / "tests" / "data").mkdir(parents=True)
    (tmp_path / "tests" / "data" / "xetra-sample").symlink_to(ROOT / "tests/data/xetra-sample")
    config = re.search(r"<<'YAML'\n(.*?)YAML\n", script, re.DOTALL)
    assert config and "mkdir -p mine && cd mine" in script
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "xetra-etl.yaml").write_text(config.group(1))
    commands = [line.split("#")[0].split() for line in script.splitlines()]
    commands = [words for words in commands if words and words[0] == "xetra-etl"]
    assert [words[1] for words in commands] == ["check", "run", "status", "show"]
    outputs = {}
    for words in commands:
        result = subprocess.run(
            [console_script("xetra-etl"), *words[1:]],
            cwd=mine,
            env=clean_env(),
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert result.returncode == 0, f"{shlex.join(words)}:\n{result.stdout}{result.stderr}"
        outputs[words[1]] = result.stdout
    assert "0 failed, 0 pending" in outputs["status"]
    assert "partitions: dates 2017-07-27 .. 2018-02-16" in outputs["show"]

    (query,) = blocks(text, "python")
    if importlib.util.find_spec("duckdb") is None:  # a bench extra: query with pandas alone
        query = query[query.index("import pandas") :]
    ran = subprocess.run(
        [sys.executable, "-c", query], cwd=mine, capture_output=True, text=True, check=False
    )
    assert ran.returncode == 0, ran.stderr
    assert "2017-07-27" in ran.stdout and "closing_price_eur" in ran.stdout


def test_the_shortest_config_in_the_readme_is_complete(tmp_path: Path) -> None:
    shortest = next(b for b in blocks(section("## Configuration"), "yaml"))
    assert len(shortest.strip().splitlines()) == 4  # "Four lines are enough"
    path = tmp_path / "xetra-etl.yaml"
    path.write_text(shortest)
    config = load_config(path)
    assert config.target.report_prefix == "reports/daily"
    assert yaml.safe_load(shortest)["pipeline"]["first_date"]
