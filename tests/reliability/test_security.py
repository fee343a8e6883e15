"""No credentials in the repository, the manifests or the logs; parameters are validated before
they reach any object key."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.e2e.conftest import Place
from tests.sample_data import REPO

SECRET_PATTERNS = {
    "AWS access key id": re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b"),
    "AWS secret in config": re.compile(
        r"aws_secret_access_key\s*[:=]\s*['\"]?[A-Za-z0-9/+]{40}", re.IGNORECASE
    ),
    "private key": re.compile(r"-----BEGIN (RSA |EC |OPENSSH |DSA )?PRIVATE KEY-----"),
    "GitHub token": re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36}\b"),
    "Slack token": re.compile(r"\bxox[abpr]-[A-Za-z0-9-]{10,}"),
}


def tracked_files() -> list[Path]:
    listed = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return [REPO / name for name in listed if (REPO / name).is_file()]


def test_repository_holds_no_credentials() -> None:
    hits = []
    for path in tracked_files():
        text = path.read_bytes().decode("utf-8", errors="replace")
        hits += [
            f"{path.relative_to(REPO)}: {what}"
            for what, pattern in SECRET_PATTERNS.items()
            if pattern.search(text)
        ]
    assert hits == []


def env_entries(node: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    if isinstance(node, dict):
        if isinstance(node.get("env"), list):
            found += node["env"]
        for value in node.values():
            found += env_entries(value)
    elif isinstance(node, list):
        for value in node:
            found += env_entries(value)
    return found


def test_manifests_take_every_secret_from_a_kubernetes_secret() -> None:
    manifests = sorted((REPO / "workflows" / "manifests").glob("*.yaml"))
    assert manifests
    for path in manifests:
        for document in yaml.safe_load_all(path.read_text()):
            for entry in env_entries(document):
                name = entry["name"]
                if re.search(r"SECRET|TOKEN|PASSWORD|ACCESS_KEY|WEBHOOK", name):
                    assert "value" not in entry, f"{path.name}: {name} has a literal value"
                    assert "secretKeyRef" in entry.get("valueFrom", {}), f"{path.name}: {name}"


def test_logs_never_contain_the_secret_key(s3_place: Place) -> None:
    key = "2021-03-10/2021-03-10_BINS_XETR1000.csv"
    source = s3_place.source
    source.put(key, source.get(key).data.replace(b",", b";", 3))  # fails that date
    secret = s3_place.env["AWS_SECRET_ACCESS_KEY"]
    report = s3_place.run(s3_place.write_config(logging={"level": "debug"}))
    assert report["exit_code"] == 65
    saved = s3_place.target.get(f"runs/{report['run_id']}/log.jsonl").data.decode()
    assert saved.strip()
    assert secret not in report["stderr"]
    assert secret not in saved


@pytest.mark.parametrize(
    "args",
    [
        ["extract", "--dates", "../../etc/passwd", "--run-id", "r"],
        ["load", "--dates", "2021-03-01/../../x", "--run-id", "r"],
        ["transform", "--dates", '["2021-03-01", "../x"]', "--run-id", "r"],
        ["run", "--first-date", "2021-03-01T00:00"],
        ["run", "--last-date", "../2021-03-01"],
    ],
)
def test_dates_are_validated_before_they_reach_an_object_key(
    local_place: Place, args: list[str]
) -> None:
    result = local_place.cli(args[0], "--config", str(local_place.write_config()), *args[1:])
    assert result.returncode == 2, result.stderr  # a usage error, before anything else runs
    assert f"usage: xetra-etl {args[0]}" in result.stderr
    assert not Path(local_place.target_uri).exists()  # nothing was written anywhere
