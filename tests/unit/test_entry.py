"""The entry-point plumbing: help texts, config discovery, exit codes, windows, process tuning."""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from xetra_etl.common.domain.dates import lookback_window
from xetra_etl.common.entrypoints.entry import find_config
from xetra_etl.common.infra.errors import ConfigError, ExitCode
from xetra_etl.steps.cli import COMMANDS


def all_parsers() -> dict[str, argparse.ArgumentParser]:
    """Every parser of `xetra-etl`, subcommands of subcommands included."""
    found: dict[str, argparse.ArgumentParser] = {}
    for command, (module_name, _) in COMMANDS.items():
        parser = importlib.import_module(module_name).build_parser()
        found[command] = parser
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    found[f"{command} {name}"] = sub
    return found


def test_every_option_of_every_command_has_help() -> None:
    missing = [
        f"{command}: {'/'.join(action.option_strings) or action.dest}"
        for command, parser in all_parsers().items()
        for action in parser._actions
        if not isinstance(action, argparse._HelpAction | argparse._SubParsersAction)
        and not (action.help or "").strip()
    ]
    assert missing == []


def test_every_date_option_shows_the_date_format() -> None:
    wrong = [
        f"{command}: {action.option_strings[0]} shows {action.metavar!r}"
        for command, parser in all_parsers().items()
        for action in parser._actions
        if action.option_strings
        and action.option_strings[0] in ("--first-date", "--last-date", "--date")
        and command.split()[0] not in ("workflows", "argo")  # validated there, shown as text
        and action.metavar != "YYYY-MM-DD"
    ]
    assert wrong == []


def test_step_parsers_are_named_as_subcommands_of_xetra_etl() -> None:
    for command, (module_name, _) in COMMANDS.items():
        if module_name.startswith("steps."):
            prog = importlib.import_module(module_name).build_parser().prog
            assert prog == f"xetra-etl {command}"


def test_config_flag_wins_then_environment_then_current_directory(tmp_path: Path) -> None:
    (tmp_path / "xetra-etl.yaml").write_text("x")
    env = {"XETRA_CONFIG": "/from/env.yaml"}
    assert find_config("given.yaml", env, tmp_path) == Path("given.yaml")
    assert find_config(None, env, tmp_path) == Path("/from/env.yaml")
    assert find_config(None, {}, tmp_path) == tmp_path / "xetra-etl.yaml"
    with pytest.raises(ConfigError) as caught:
        find_config(None, {}, tmp_path / "elsewhere")
    assert "XETRA_CONFIG" in str(caught.value) and "--config" in str(caught.value)


@pytest.mark.parametrize(
    ("codes", "combined"),
    [
        ([], ExitCode.OK),
        ([0, 0], ExitCode.OK),
        ([65, 66], ExitCode.DATA),
        ([66, 75, 65], ExitCode.TEMPORARY),
        ([0, 70], ExitCode.SOFTWARE),
    ],
)
def test_combined_exit_code_is_transient_when_any_failure_is_else_the_first(
    codes: list[int], combined: ExitCode
) -> None:
    assert ExitCode.combine(codes) == combined


def test_lookback_window_holds_the_dates_before_the_day_within_the_lookback() -> None:
    dates = [dt.date(2021, 3, d) for d in (1, 2, 3, 4, 5, 8, 9)]
    assert lookback_window(dt.date(2021, 3, 8), dates, 3) == [dt.date(2021, 3, 5)]
    assert lookback_window(dt.date(2021, 3, 9), dates, 4) == [
        dt.date(2021, 3, 5),
        dt.date(2021, 3, 8),
    ]
    assert lookback_window(dt.date(2021, 3, 1), dates, 10) == []
    assert lookback_window(dt.date(2021, 3, 6), dates, 5) == dates[:5]


def test_importing_steps_and_common_changes_nothing_in_the_process() -> None:
    probe = """
import gc, json, os, sys
before = dict(os.environ)
import xetra_etl.common, xetra_etl.steps, xetra_etl.steps.cli
import xetra_etl.common.entrypoints.entry, xetra_etl.common.entrypoints.localrun
import xetra_etl.common.infra.tuning
import xetra_etl.steps.run, xetra_etl.steps.extract, xetra_etl.steps.transform
import xetra_etl.steps.load, xetra_etl.steps.status, xetra_etl.steps.show
print(json.dumps({
    "env_changed": sorted(set(os.environ.items()) ^ set(before.items())),
    "frozen": gc.get_freeze_count(),
    "finders": [type(f).__name__ for f in sys.meta_path],
}))
"""
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, env={}
    )
    state = json.loads(out.stdout)
    assert state["env_changed"] == []
    assert state["frozen"] == 0
    assert "_HidePandas" not in state["finders"]


def test_tuning_the_data_process_sets_what_it_says() -> None:
    probe = """
import gc, json, os, sys
from xetra_etl.common.infra.tuning import tune_data_process
tune_data_process()
print(json.dumps({
    "openblas": os.environ.get("OPENBLAS_NUM_THREADS"),
    "pool": os.environ.get("ARROW_DEFAULT_MEMORY_POOL"),
    "frozen": gc.get_freeze_count() > 0,
    "pandas": "pandas" in sys.modules,
    "numpy": "numpy" in sys.modules,
}))
"""
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, env={}
    )
    assert json.loads(out.stdout) == {
        "openblas": "1",
        "pool": "jemalloc",
        "frozen": True,
        "pandas": False,
        "numpy": True,
    }
