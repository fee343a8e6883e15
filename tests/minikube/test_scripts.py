"""minikube/up.sh and down.sh run top to bottom against stubbed `minikube` and `kubectl`.

The stubs log every call and keep a little state (running profile, built images, Job
conditions, Secrets) in a directory, so the tests see what the scripts would ask of a cluster:
a failed image build that `minikube image build` hides, a rerun after a failed Job, the field
manager of the controller config, the memory cap, the version floor. The real project
interpreter renders the templates and lists the images; nothing touches the network.
"""

from __future__ import annotations

import re
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
UP = ROOT / "minikube" / "up.sh"
DOWN = ROOT / "minikube" / "down.sh"

KUBECTL = r"""#!/usr/bin/env bash
state="$STUB_STATE"
printf 'kubectl %s\n' "$*" >>"$STUB_LOG"
[[ "$1" == --context ]] && shift 2
ns=""
if [[ "$1" == -n ]]; then ns="$2"; shift 2; fi
case "$1 $2" in
    "create namespace") printf 'apiVersion: v1\nkind: Namespace\nmetadata: {name: %s}\n' "$3" ;;
    "kustomize "*) cat "$2/kustomization.yaml" ;;
    "rollout "*) ;;
    "get secret")
        [[ -f "$state/secret-$3" ]]; exit $? ;;
    "create secret")
        stdin=""
        if [[ "$*" == */dev/stdin* ]]; then stdin="$(cat)"; fi
        printf '%s' "$stdin" >"$state/secret-$4"
        [[ "$*" == *--dry-run* ]] && printf 'kind: Secret\n'
        exit 0 ;;
    "get job")
        [[ -f "$state/job-$3" ]] || exit 1
        cat "$state/job-$3" ;;
    "delete job")
        rm -f "$state/job-$3" ;;
    "get workflows") ;;
    "apply "* | "create -f")
        if [[ "$*" == *"-f -"* ]]; then
            body="$(cat)"
            printf '%s\n---\n' "$body" >>"$state/applied"
            if [[ "$body" == *"kind: Job"* ]]; then
                name="$(printf '%s\n' "$body" | sed -n 's/^  name: //p' | head -1)"
                cat "$state/next-job-$name" 2>/dev/null >"$state/job-$name" ||
                    printf 'Complete ' >"$state/job-$name"
            fi
        fi ;;
    *) ;;
esac
exit 0
"""

MINIKUBE = r"""#!/usr/bin/env bash
state="$STUB_STATE"
printf 'minikube %s\n' "$*" >>"$STUB_LOG"
case "$1" in
    status) [[ -f "$state/running" ]] ;;
    start) touch "$state/running" "$state/exists" ;;
    config) [[ -n "${STUB_DRIVER:-}" ]] && echo "$STUB_DRIVER" || exit 1 ;;
    delete) rm -f "$state/running" "$state/exists" ;;
    profile) [[ -f "$state/exists" ]] && echo '[{"Name":"xetra"}]' || echo '[]' ;;
    --profile)
        case "$3" in
            image)
                ref="$6"
                if [[ -n "${STUB_FAIL_IMAGE:-}" && "$ref" == *"$STUB_FAIL_IMAGE"* ]]; then
                    echo "ERROR: failed to build image $ref" >&2   # and exit 0, like minikube
                else
                    touch "$state/image-${ref//\//_}"
                fi ;;
            ssh) ref="${!#}"; [[ -f "$state/image-${ref//\//_}" ]] ;;
        esac ;;
esac
"""

PODMAN = r"""#!/usr/bin/env bash
echo "$STUB_PODMAN_BYTES"
"""


@dataclass
class Result:
    code: int
    stderr: str
    calls: list[str]
    state: Path


@pytest.fixture
def stubs(tmp_path: Path) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, body in (("kubectl", KUBECTL), ("minikube", MINIKUBE), ("podman", PODMAN)):
        path = bin_dir / name
        path.write_text(body)
        path.chmod(path.stat().st_mode | stat.S_IEXEC)
    (tmp_path / "state").mkdir()
    return tmp_path


def run(script: Path, stubs: Path, **env: str) -> Result:
    log = stubs / "calls.log"
    log.touch()
    full_env = {
        "PATH": f"{stubs / 'bin'}:/usr/bin:/bin",
        "HOME": str(stubs),
        "STUB_STATE": str(stubs / "state"),
        "STUB_LOG": str(log),
        "POLL_SECONDS": "0",
        "WAIT_TIMEOUT": "5s",
        **env,
    }
    proc = subprocess.run(
        ["bash", str(script)], env=full_env, capture_output=True, text=True, timeout=120,
        check=False,
    )  # fmt: skip
    return Result(proc.returncode, proc.stderr, log.read_text().splitlines(), stubs / "state")


@pytest.mark.skipif(not (ROOT / ".venv/bin/xetra-etl").exists(), reason="needs make install")
def test_up_runs_to_the_first_run_when_every_stub_succeeds(stubs: Path) -> None:
    result = run(UP, stubs)
    assert result.code == 0, result.stderr
    calls = "\n".join(result.calls)
    assert "--field-manager=xetra-etl -f " + str(ROOT / "minikube/argo-controller-config.yaml") in (
        calls
    )
    assert "rollout restart" not in calls  # the controller reloads its ConfigMap by itself
    assert "artifact-repository.yaml" in calls
    assert "--auth-mode=server" in (result.state / "applied").read_text()
    assert "create -f " + str(ROOT / "minikube/first-run.yaml") in calls
    # The MinIO password went through stdin: 64 hex characters, in no command line.
    password = (result.state / "secret-xetra-etl-s3").read_text()
    assert re.fullmatch(r"[0-9a-f]{64}", password)
    assert password not in calls


@pytest.mark.skipif(not (ROOT / ".venv/bin/xetra-etl").exists(), reason="needs make install")
def test_up_stops_with_a_clear_message_when_an_image_build_fails_silently(stubs: Path) -> None:
    result = run(UP, stubs, STUB_FAIL_IMAGE="/transform:")
    assert result.code == 1
    assert re.search(r"image \S+/transform:\S+ was not built", result.stderr)
    assert not any("first-run.yaml" in c for c in result.calls)
    assert not any("xetra-demo-data" in c for c in result.calls)


@pytest.mark.skipif(not (ROOT / ".venv/bin/xetra-etl").exists(), reason="needs make install")
def test_up_recreates_the_demo_job_when_it_failed_before(stubs: Path) -> None:
    (stubs / "state" / "job-xetra-demo-data").write_text("Failed ")
    result = run(UP, stubs)
    assert result.code == 0, result.stderr
    deleted = [i for i, c in enumerate(result.calls) if "delete job xetra-demo-data" in c]
    assert deleted, result.calls
    assert "failed before: creating it again" in result.stderr
    assert (result.state / "job-xetra-demo-data").read_text() == "Complete "


@pytest.mark.skipif(not (ROOT / ".venv/bin/xetra-etl").exists(), reason="needs make install")
def test_up_stops_instead_of_waiting_when_a_job_fails(stubs: Path) -> None:
    (stubs / "state" / "next-job-xetra-demo-data").write_text("Failed ")
    result = run(UP, stubs, WAIT_TIMEOUT="600s")
    assert result.code == 1
    assert "job xetra-demo-data Failed" in result.stderr
    assert "logs job/xetra-demo-data" in result.stderr


@pytest.mark.parametrize("version", ["v4.0.7", "v3.7.16", "v3.6.10", "v4.0.x"])
def test_up_refuses_an_argo_version_without_the_retry_and_mutex_fixes(
    stubs: Path, version: str
) -> None:
    result = run(UP, stubs, ARGO_VERSION=version)
    assert result.code == 1
    assert f"ARGO_VERSION={version} is not supported: use v4.0.8+ or v3.7.17+" in result.stderr
    assert not any(c.startswith("minikube start") for c in result.calls)


@pytest.mark.skipif(not (ROOT / ".venv/bin/xetra-etl").exists(), reason="needs make install")
@pytest.mark.parametrize("version", ["v4.0.8", "v3.7.17", "v4.1.0"])
def test_up_accepts_the_supported_argo_versions(stubs: Path, version: str) -> None:
    result = run(UP, stubs, ARGO_VERSION=version)
    assert result.code == 0, result.stderr
    assert f"download/{version}/install.yaml" in (result.state / "applied").read_text()


@pytest.mark.skipif(not (ROOT / ".venv/bin/xetra-etl").exists(), reason="needs make install")
def test_up_asks_for_only_the_memory_the_podman_machine_has(stubs: Path) -> None:
    result = run(UP, stubs, MINIKUBE_DRIVER="podman", STUB_PODMAN_BYTES=str(6 * 1024**3))
    assert result.code == 0, result.stderr
    (start,) = [c for c in result.calls if c.startswith("minikube start")]
    assert "--memory 6144m" in start and "--driver podman" in start


def test_up_fails_with_advice_when_the_podman_machine_is_too_small(stubs: Path) -> None:
    result = run(UP, stubs, MINIKUBE_DRIVER="podman", STUB_PODMAN_BYTES=str(2 * 1024**3))
    assert result.code == 1
    assert "podman machine set --memory" in result.stderr
    assert not any(c.startswith("minikube start") for c in result.calls)


def test_up_checks_the_venv_before_using_it(stubs: Path) -> None:
    result = run(UP, stubs, PYTHON=str(stubs / "missing-python"))
    assert result.code == 1
    assert "run 'make install'" in result.stderr


def test_up_expands_possibly_empty_arrays_safely_for_bash_before_4_4() -> None:
    # bash 3.2 (macOS) stops on "${a[@]}" of an empty array under `set -u`; shellcheck does not
    # flag it and this machine's bash is newer, so the script's expansions are checked here.
    text = UP.read_text(encoding="utf-8")
    expansions = re.findall(r'(\S*"\$\{(\w+)\[@\]\}"\S*)', text)
    assert expansions
    for whole, name in expansions:
        assert whole.startswith(f"${{{name}[@]+"), whole


def test_down_says_what_it_removed_when_the_profile_is_stopped(stubs: Path) -> None:
    (stubs / "state" / "exists").touch()
    result = run(DOWN, stubs)
    assert result.code == 0
    assert "deleted the stopped minikube profile xetra" in result.stderr
    assert "nothing" not in result.stderr
    result = run(DOWN, stubs)
    assert "there is no minikube profile xetra; nothing to remove" in result.stderr
