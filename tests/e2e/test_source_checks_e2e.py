"""The source as a new user meets it, through the real command line: freshness (check, run,
status, discover), anonymous reads of a public bucket, the column mapping, config paths and the
messages a wrong setup gets."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from tests.e2e.conftest import FIRST, LAST, Place, console_script, write_demo
from tests.s3servers import S3Server, aws_env, closed_port

pytestmark = pytest.mark.e2e

TODAY = dt.datetime.now(dt.UTC).date()
STALE_DAYS = (TODAY - LAST).days  # the demo source's newest date is LAST


def check(place: Place, config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return place.cli("check", "--config", str(config), *args)


def line_of(output: str, name: str) -> str:
    return next(line for line in output.splitlines() if line.split()[1:2] == [name])


# ---- freshness --------------------------------------------------------------------------------


def test_check_prints_the_newest_date_and_its_age_and_exits_66_past_error_after_days(
    local_place: Place,
) -> None:
    config = local_place.write_config(source={"freshness": {"error_after_days": 30}})
    result = check(local_place, config)
    assert result.returncode == 66, result.stdout + result.stderr
    fresh = line_of(result.stdout, "fresh")
    assert fresh.startswith("FAIL")
    assert f"newest source date {LAST}, {STALE_DAYS} days old on {TODAY}" in fresh
    assert "error after 30 days" in fresh and "exit 66" in fresh


def test_check_only_warns_when_the_source_is_past_warn_after_days(local_place: Place) -> None:
    config = local_place.write_config(
        source={"freshness": {"warn_after_days": 30, "error_after_days": None}}
    )
    result = check(local_place, config)
    assert result.returncode == 0, result.stdout + result.stderr
    fresh = line_of(result.stdout, "fresh")
    assert fresh.startswith("WARN") and f"{STALE_DAYS} days old" in fresh


def test_check_counts_the_age_to_the_last_date_of_a_backfill(local_place: Place) -> None:
    config = local_place.write_config(source={"freshness": {"error_after_days": 1}})
    result = check(local_place, config, "--last-date", LAST.isoformat())
    assert result.returncode == 0, result.stdout
    assert line_of(result.stdout, "fresh").startswith(f"ok    fresh    newest source date {LAST}")


def test_run_does_its_work_then_exits_66_when_the_source_is_stale(local_place: Place) -> None:
    config = local_place.write_config(source={"freshness": {"error_after_days": 30}})
    result = local_place.cli("run", "--config", str(config), "--json")
    assert result.returncode == 66, result.stderr[-2000:]
    summary = json.loads(result.stdout)
    assert summary["done"] > 0 and summary["failed"] == 0
    freshness = summary["extra"]["source_freshness"]
    assert freshness["newest_date"] == LAST.isoformat()
    assert freshness["age_days"] == STALE_DAYS and freshness["state"] == "error"
    assert "run failed (exit 66)" in result.stderr

    table = local_place.cli("run", "--config", str(config), "--last-date", LAST.isoformat())
    assert table.returncode == 0, table.stderr[-2000:]
    assert f"  source     ok      newest source date {LAST}, 0 days old" in table.stdout


def test_status_shows_the_newest_source_date_and_its_age(local_place: Place) -> None:
    config = local_place.write_config()
    assert local_place.cli("run", "--config", str(config)).returncode == 66  # default: 14 days
    result = local_place.cli("status", "--config", str(config))
    assert result.returncode == 0, result.stderr
    last_line = result.stdout.splitlines()[-1]
    assert last_line.startswith("source: ")
    assert f"newest source date {LAST}, {STALE_DAYS} days old on {TODAY}" in last_line


def test_status_counts_the_source_age_to_its_last_date_as_run_and_check_do(
    local_place: Place,
) -> None:
    config = local_place.write_config()
    assert local_place.cli("run", "--config", str(config), "--last-date", str(LAST)).returncode == 0
    result = local_place.cli("status", "--config", str(config), "--last-date", str(LAST))
    assert result.returncode == 0, result.stderr
    assert f"newest source date {LAST}, 0 days old on {LAST}" in result.stdout.splitlines()[-1]


def test_discover_summary_carries_the_source_freshness_for_notify(local_place: Place) -> None:
    config = local_place.write_config(source={"freshness": {"warn_after_days": 2}})
    summary_path = local_place.tmp / "out" / "summary.json"
    result = local_place.cli(
        "discover", "--config", str(config), "--run-id", "wf-fresh",
        "--last-date", (LAST + dt.timedelta(days=5)).isoformat(),
        "--dates-out", str(local_place.tmp / "out" / "dates.json"),
        "--summary-out", str(summary_path),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    freshness = json.loads(summary_path.read_text())["source_freshness"]
    assert freshness["newest_date"] == LAST.isoformat()
    assert freshness["age_days"] == 5 and freshness["state"] == "warn"


# ---- anonymous reads --------------------------------------------------------------------------


def test_anonymous_source_is_read_without_any_credentials_in_the_environment(
    moto_server: S3Server, tmp_path: Path
) -> None:
    bucket = moto_server.make_bucket()
    source_uri = f"s3://{bucket}/xetra-pds"
    env_with_keys = {**os.environ, **aws_env(moto_server.endpoint_url)}
    write_demo(_PublicReadStore(source_uri, moto_server))
    config = tmp_path / "public.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "source": {
                    "uri": source_uri,
                    "endpoint_url": moto_server.endpoint_url,
                    "region": "eu-central-1",
                    "anonymous": True,
                },
                "target": {"uri": "target"},
                "pipeline": {"first_date": FIRST.isoformat()},
            }
        )
    )
    env = {k: v for k, v in env_with_keys.items() if not k.startswith("AWS_")}
    env |= {
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
        "XETRA_LOG_FORMAT": "json",
    }

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [console_script("xetra-etl"), *args, "--config", str(config)],
            env=env, capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip

    checked = cli("check", "--last-date", LAST.isoformat())
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "every mapped column is in the header" in checked.stdout
    ran = cli("run", "--last-date", LAST.isoformat(), "--json")
    assert ran.returncode == 0, ran.stderr[-2000:]
    summary = json.loads(ran.stdout)
    assert summary["failed"] == 0 and summary["done"] >= 5, summary
    assert list((tmp_path / "target" / "reports" / "daily").glob("date=*/*.parquet"))

    config.write_text(config.read_text().replace("anonymous: true", "anonymous: false"))
    refused = cli("check", "--last-date", LAST.isoformat())
    assert refused.returncode == 78
    assert "no AWS credentials found" in refused.stdout
    assert "source.anonymous: true" in refused.stdout


class _PublicReadStore:
    """Writes the demo source with credentials, each object public-read (as the public
    bucket's are)."""

    def __init__(self, uri: str, server: S3Server) -> None:
        self._server = server
        self._bucket, _, self._prefix = uri.removeprefix("s3://").partition("/")
        self.uri = uri

    def put(self, key: str, data: bytes, **_: object) -> str:
        answer = self._server.admin.put_object(
            Bucket=self._bucket, Key=f"{self._prefix}/{key}", Body=data, ACL="public-read"
        )
        return str(answer["ETag"])


# ---- column mapping ---------------------------------------------------------------------------


def test_check_exits_78_naming_the_mapped_columns_the_header_lacks(local_place: Place) -> None:
    config = local_place.write_config(
        source={"columns": {"isin": "Isin", "traded_volume": "Volume"}}
    )
    result = check(local_place, config, "--last-date", LAST.isoformat())
    assert result.returncode == 78, result.stdout
    columns = line_of(result.stdout, "columns")
    assert columns.startswith("FAIL")
    assert "lacks the mapped columns isin (Isin), traded_volume (Volume)" in columns
    assert "fix source.columns" in columns


# ---- config paths and leftovers ---------------------------------------------------------------


def test_relative_paths_in_a_config_resolve_against_its_folder_and_check_leaves_nothing(
    local_place: Place, tmp_path: Path
) -> None:
    folder = tmp_path / "config"
    folder.mkdir()
    (folder / "demo.yaml").write_text(
        yaml.safe_dump(
            {
                "source": {"uri": os.path.relpath(local_place.source_uri, folder)},
                "target": {"uri": "../target-rel"},
                "pipeline": {"first_date": FIRST.isoformat()},
            }
        )
    )
    result = subprocess.run(
        [console_script("xetra-etl"), "check", "--config", "demo.yaml",
         "--last-date", LAST.isoformat()],
        cwd=folder, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{tmp_path / 'target-rel'}: writable" in result.stdout
    assert sorted(p.name for p in folder.iterdir()) == ["demo.yaml"]
    assert not (tmp_path / "target-rel").exists()  # nor a lock file in a folder of its own


def test_check_leaves_no_lock_file_in_an_existing_local_target(local_place: Place) -> None:
    target = Path(local_place.target_uri)
    (target / "keep").mkdir(parents=True)
    assert check(local_place, local_place.write_config()).returncode in (0, 66)
    assert sorted(str(p.relative_to(target)) for p in target.rglob("*")) == ["keep"]


# ---- messages ---------------------------------------------------------------------------------


def test_yaml_error_names_the_file_line_and_column(local_place: Place) -> None:
    config = local_place.tmp / "broken.yaml"
    config.write_text("source:\n  uri: x\n target: y\n")
    result = check(local_place, config)
    assert result.returncode == 78
    assert f"invalid configuration in {config}" in result.stdout
    assert "line 3, column 2: not valid YAML" in result.stdout


def test_a_missing_config_file_is_reported_as_not_found_not_as_invalid(
    local_place: Place, tmp_path: Path
) -> None:
    given = local_place.cli("check", "--config", str(tmp_path / "nope.yaml"))
    assert given.returncode == 78
    assert "no config file found" in given.stdout and "nope.yaml does not exist" in given.stdout
    assert "invalid configuration" not in given.stdout

    env = {k: v for k, v in os.environ.items() if k != "XETRA_CONFIG"}
    none = subprocess.run(
        [console_script("xetra-etl"), "status"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert none.returncode == 78
    assert "no config file found" in none.stderr and "invalid configuration" not in none.stderr


def test_check_fails_within_seconds_with_a_plain_message_when_the_endpoint_is_unreachable(
    local_place: Place,
) -> None:
    endpoint = f"http://127.0.0.1:{closed_port()}"
    config = local_place.write_config(source={"uri": "s3://bucket/x", "endpoint_url": endpoint})
    started = time.monotonic()
    result = local_place.cli("check", "--config", str(config), env=aws_env())
    assert time.monotonic() - started < 15
    assert result.returncode == 75, result.stdout
    source = line_of(result.stdout, "source")
    assert f"the S3 endpoint {endpoint} did not answer" in source or "Could not connect" in source
    assert "check endpoint_url" in source


def test_counts_are_singular_for_one_date(local_place: Place) -> None:
    config = local_place.write_config()
    result = local_place.cli(
        "run", "--config", str(config), "--first-date", str(LAST), "--last-date", str(LAST)
    )
    assert "  processed       1 date " in result.stdout, result.stdout
    status = local_place.cli(
        "status", "--config", str(config), "--first-date", str(LAST), "--last-date", str(LAST)
    )
    assert "1 date: 1 done, 0 failed, 0 pending" in status.stdout
    checked = check(local_place, config, "--first-date", str(LAST), "--last-date", str(LAST))
    assert "1 source date in" in checked.stdout
