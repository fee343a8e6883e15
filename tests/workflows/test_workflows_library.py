"""The library template: each step container is complete, locked down and retried only on 75."""

from __future__ import annotations

import re
from typing import Any

import pytest

from xetra_etl.common.infra.naming import (
    CONFIG_PATH_IN_POD,
    OUTPUTS_DIR_IN_POD,
    STEPS,
    console_script,
    image_ref,
)
from xetra_etl.workflows.retry import retry_expression

INPUT_VAR = re.compile(r"\{\{inputs\.parameters\.([a-z-]+)\}\}")


def _env(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["name"]: e for e in template["container"]["env"]}


@pytest.fixture(scope="module")
def steps(library: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {t["name"]: t for t in library["spec"]["templates"]}


def test_library_has_one_container_template_per_step_when_rendered(
    steps: dict[str, dict[str, Any]],
) -> None:
    assert list(steps) == list(STEPS)
    assert all("container" in t for t in steps.values())


@pytest.mark.parametrize("step", STEPS)
def test_step_runs_console_script_in_its_image_when_rendered(
    steps: dict[str, dict[str, Any]], step: str
) -> None:
    container = steps[step]["container"]
    assert container["image"] == image_ref(step)
    assert container["command"] == [console_script(step)]
    args = container["args"]
    assert args[args.index("--config") + 1] == CONFIG_PATH_IN_POD


@pytest.mark.parametrize("step", STEPS)
def test_step_declares_exactly_the_inputs_its_args_use_when_rendered(
    steps: dict[str, dict[str, Any]], step: str
) -> None:
    template = steps[step]
    used = set(INPUT_VAR.findall(" ".join(template["container"]["args"])))
    declared = {p["name"] for p in template["inputs"]["parameters"]}
    assert used == declared
    assert "run-id" in declared


@pytest.mark.parametrize("step", STEPS)
def test_step_writes_outputs_to_files_read_by_path_when_rendered(
    steps: dict[str, dict[str, Any]], step: str
) -> None:
    template = steps[step]
    outputs = template["outputs"]["parameters"]
    assert outputs, "every step reports something for Argo"
    for out in outputs:
        path = out["valueFrom"]["path"]
        assert path.startswith(OUTPUTS_DIR_IN_POD + "/")
        assert path in template["container"]["args"], f"{step} is never told to write {path}"


def test_discover_date_list_has_no_default_when_file_is_missing(
    steps: dict[str, dict[str, Any]],
) -> None:
    (dates,) = [p for p in steps["discover"]["outputs"]["parameters"] if p["name"] == "dates"]
    assert "default" not in dates["valueFrom"]


@pytest.mark.parametrize("step", STEPS)
def test_step_mounts_config_and_writable_tmp_when_rendered(
    steps: dict[str, dict[str, Any]], step: str
) -> None:
    template = steps[step]
    volumes = {v["name"]: v for v in template["volumes"]}
    mounts = {m["mountPath"]: m for m in template["container"]["volumeMounts"]}
    config_dir = CONFIG_PATH_IN_POD.rsplit("/", 1)[0]
    config_volume = volumes[mounts[config_dir]["name"]]
    assert config_volume["configMap"]["items"] == [{"key": "config.yaml", "path": "config.yaml"}]
    assert mounts[config_dir]["readOnly"] is True
    assert "emptyDir" in volumes[mounts["/tmp"]["name"]]


@pytest.mark.parametrize("step", STEPS)
def test_step_takes_s3_settings_from_secret_and_config_when_rendered(
    steps: dict[str, dict[str, Any]], step: str
) -> None:
    env = _env(steps[step])
    assert env["XETRA_LOG_FORMAT"]["value"] == "json"
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        assert "secretKeyRef" in env[name]["valueFrom"]
    assert env["AWS_ENDPOINT_URL"]["valueFrom"]["configMapKeyRef"]["optional"] is True


def test_notify_reads_webhook_from_optional_secret_when_rendered(
    steps: dict[str, dict[str, Any]],
) -> None:
    ref = _env(steps["notify"])["XETRA_WEBHOOK_URL"]["valueFrom"]["secretKeyRef"]
    assert ref["optional"] is True
    assert all("XETRA_WEBHOOK_URL" not in _env(steps[s]) for s in STEPS if s != "notify")


@pytest.mark.parametrize("step", STEPS)
def test_step_runs_non_root_read_only_when_rendered(
    steps: dict[str, dict[str, Any]], step: str
) -> None:
    ctx = steps[step]["container"]["securityContext"]
    assert ctx["runAsNonRoot"] is True
    assert ctx["runAsUser"] > 0
    assert ctx["readOnlyRootFilesystem"] is True
    assert ctx["allowPrivilegeEscalation"] is False
    assert ctx["capabilities"] == {"drop": ["ALL"]}


@pytest.mark.parametrize("step", STEPS)
def test_step_sets_requests_and_limits_when_rendered(
    steps: dict[str, dict[str, Any]], step: str
) -> None:
    resources = steps[step]["container"]["resources"]
    for kind in ("requests", "limits"):
        assert set(resources[kind]) == {"cpu", "memory"}


@pytest.mark.parametrize("step", STEPS)
def test_step_carries_the_one_retry_expression_when_it_fails(
    steps: dict[str, dict[str, Any]], step: str
) -> None:
    strategy = steps[step]["retryStrategy"]
    assert strategy["expression"] == retry_expression()
    assert isinstance(strategy["limit"], str)
    assert isinstance(strategy["backoff"]["factor"], str)
    assert strategy["backoff"]["duration"]
