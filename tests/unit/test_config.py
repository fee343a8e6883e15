"""Configuration: defaults, one error listing every problem, environment overrides."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from xetra_etl.common.infra.config import load_config, parse_config
from xetra_etl.common.infra.errors import ConfigError, ExitCode

FIVE_LINES = """\
source:
  uri: s3://deutsche-boerse-xetra-pds
target:
  uri: s3://reports
pipeline: {first_date: 2021-01-04}
"""


def test_five_line_config_works_with_every_default(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(FIVE_LINES)
    config = load_config(path, env={})
    assert config.pipeline.first_date == dt.date(2021, 1, 4)
    assert config.target.report_prefix == "reports/daily"
    assert config.pipeline.prev_close_lookback_days == 10
    assert config.pipeline.include_zero_volume_rows is False
    assert config.source.columns["end_price"] == "EndPrice"


def test_every_problem_is_reported_at_once_with_exit_code_78() -> None:
    raw = {
        "source": {"columns": {"isin": "Id", "colour": "x"}},
        "target": {"uri": "s3://t", "report_prefix": ""},
        "pipeline": {"first_date": "21-01-04", "prev_close_lookback_days": -1, "bogus": 1},
        "extra": {},
    }
    with pytest.raises(ConfigError) as info:
        parse_config(raw, env={})
    text = str(info.value)
    assert info.value.exit_code == ExitCode.CONFIG
    for expected in (
        "source.uri",
        "colour",
        "target.report_prefix",
        "pipeline.first_date",
        "prev_close_lookback_days",
        "pipeline.bogus",
        "unknown section 'extra'",
    ):
        assert expected in text
    assert len(info.value.problems) >= 7


def test_environment_overrides_a_deployment_value() -> None:
    raw = {"source": {"uri": "a"}, "target": {"uri": "b"}, "pipeline": {"first_date": "2021-01-04"}}
    config = parse_config(
        raw, env={"XETRA__TARGET__URI": "s3://prod", "XETRA__PIPELINE__WORKERS": "4"}
    )
    assert config.target.uri == "s3://prod"
    assert config.pipeline.workers == 4


def test_column_mapping_overrides_only_the_named_columns() -> None:
    raw = {
        "source": {"uri": "a", "columns": {"isin": "Security", "end_price": "Close"}},
        "target": {"uri": "b"},
        "pipeline": {"first_date": "2021-01-04"},
    }
    columns = parse_config(raw, env={}).source.columns
    assert columns["isin"] == "Security"
    assert columns["end_price"] == "Close"
    assert columns["start_price"] == "StartPrice"


def test_report_columns_may_be_renamed_but_not_the_partition_column() -> None:
    base = {
        "source": {"uri": "a"},
        "target": {"uri": "b"},
        "pipeline": {"first_date": "2021-01-04"},
    }
    renamed = parse_config({**base, "report": {"columns": {"opening_price_eur": "open"}}}, env={})
    assert renamed.report.columns["opening_price_eur"] == "open"
    with pytest.raises(ConfigError, match="partition"):
        parse_config({**base, "report": {"columns": {"date": "day"}}}, env={})


def test_unreadable_yaml_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("source: [unclosed\n")
    with pytest.raises(ConfigError, match=r"broken\.yaml"):
        load_config(path, env={})


def test_target_prefixes_may_not_nest() -> None:
    raw = {
        "source": {"uri": "a"},
        "target": {"uri": "b", "report_prefix": "out", "staging_prefix": "out/staging"},
        "pipeline": {"first_date": "2021-01-04"},
    }
    with pytest.raises(ConfigError, match="overlap"):
        parse_config(raw, env={})
