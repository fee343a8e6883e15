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


REPO = Path(__file__).resolve().parents[2]


def test_public_bucket_example_reads_anonymously_in_its_region() -> None:
    config = load_config(REPO / "config" / "xetra-pds-public.yaml", env={})
    assert config.source.uri == "s3://deutsche-boerse-xetra-pds"
    assert config.source.anonymous is True
    assert config.source.region == "eu-central-1"
    assert config.target.uri == str(REPO / "xetra-pds-report")


def test_freshness_defaults_fit_a_weekly_job_and_null_switches_a_threshold_off() -> None:
    base = {
        "source": {"uri": "s"},
        "target": {"uri": "t"},
        "pipeline": {"first_date": "2021-01-04"},
    }
    default = parse_config(base, env={}).source.freshness
    assert (default.warn_after_days, default.error_after_days) == (7, 14)
    base["source"]["freshness"] = {"warn_after_days": 3, "error_after_days": None}
    off = parse_config(base, env={}).source.freshness
    assert (off.warn_after_days, off.error_after_days) == (3, None)
    base["source"]["freshness"] = {"error_after_days": 2}
    assert parse_config(base, env={}).source.freshness.warn_after_days is None


def test_freshness_problems_are_config_errors_when_inverted_or_unknown() -> None:
    raw = {
        "source": {"uri": "s", "freshness": {"warn_after_days": 9, "error_after_days": 3, "x": 1}},
        "target": {"uri": "t"},
        "pipeline": {"first_date": "2021-01-04"},
    }
    with pytest.raises(ConfigError) as caught:
        parse_config(raw, env={})
    assert "unknown key x" in str(caught.value)
    raw["source"]["freshness"].pop("x")
    with pytest.raises(ConfigError, match="warn_after_days \\(9\\) is more than"):
        parse_config(raw, env={})


def test_relative_local_uris_resolve_against_the_config_folder_but_env_ones_do_not(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "config"
    folder.mkdir()
    path = folder / "c.yaml"
    path.write_text(
        "source: {uri: ../src}\ntarget: {uri: s3://b/t}\npipeline: {first_date: 2021-01-04}\n"
    )
    config = load_config(path, env={})
    assert config.source.uri == str(tmp_path / "src")
    assert config.target.uri == "s3://b/t"
    overridden = load_config(path, env={"XETRA__SOURCE__URI": "rel/src"})
    assert overridden.source.uri == "rel/src"
