"""Daemonless image plumbing for the image tests: build, inspect and run with buildah.

`buildah run --isolation chroot` shares the host's network, so a step inside its image reaches
the SeaweedFS server the tests start on 127.0.0.1. A `StepContainers` is also a runner for the
Argo test double: each pod runs its command inside the pod's image with the pod's environment
and volumes, as the image's non-root user.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from images import build
from tests.argo_sim import ContainerRun, RunOutcome
from xetra_etl.common.infra.naming import DEFAULT_REGISTRY

ROOT = Path(__file__).resolve().parents[2]
BASE_IMAGE = os.environ.get("XETRA_BASE_IMAGE", "localhost/xetra-base:bookworm")
CA_CERTS = "/etc/ssl/certs"
RUN_TIMEOUT = 600.0
REQUIRED_TOOLS = ("buildah", "podman", "debootstrap")


@dataclass(frozen=True)
class BuiltImages:
    base: str
    refs: dict[str, str]  # image name -> reference
    build_seconds: dict[str, float]


def build_images(
    registry: str = DEFAULT_REGISTRY, tag: str | None = None, names: Sequence[str] = ()
) -> BuiltImages:
    """The local base image (cached) and the step images (`names`, or all) on it, as the image
    tier builds them; buildah's layer cache makes an unchanged image a matter of seconds."""
    missing = [tool for tool in REQUIRED_TOOLS if shutil.which(tool) is None]
    if missing or os.geteuid() != 0:
        raise RuntimeError(
            f"image builds need root and {missing or REQUIRED_TOOLS}: make images-deps"
        )
    checked([str(ROOT / "images" / "base-image.sh")], timeout=1800)
    images = [i for i in build.plan(registry, tag) if not names or i.name in names]
    seconds: dict[str, float] = {}
    for image in images:
        started = time.monotonic()
        argv = build.build_argv(
            "buildah",
            image,
            base_image=BASE_IMAGE,
            isolation="chroot",
            pull="never",
            volumes=[f"{CA_CERTS}:{CA_CERTS}:ro"],
        )
        checked(argv, timeout=1800)
        seconds[image.name] = time.monotonic() - started
    return BuiltImages(BASE_IMAGE, {i.name: i.ref for i in images}, seconds)


def run(argv: Sequence[str], *, timeout: float = RUN_TIMEOUT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        list(argv), cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False
    )


def checked(argv: Sequence[str], *, timeout: float = RUN_TIMEOUT) -> str:
    result = run(argv, timeout=timeout)
    if result.returncode != 0:
        raise AssertionError(
            f"{' '.join(argv)} exited {result.returncode}:\n{result.stderr[-4000:]}"
        )
    return result.stdout


def image_config(ref: str) -> dict[str, Any]:
    """The OCI config of a local image (`Entrypoint`, `User`, `Env`, ...)."""
    doc = json.loads(checked(["buildah", "inspect", "--type", "image", ref]))
    config: dict[str, Any] = doc["OCIv1"]["config"]
    return config


def image_size(ref: str) -> int:
    """Uncompressed size in bytes of all the image's layers."""
    return int(checked(["podman", "image", "inspect", "--format", "{{.Size}}", ref]).strip())


def exec_argv(
    container: str,
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    mounts: Mapping[str, Path] | None = None,
) -> list[str]:
    """`buildah run` of `argv` in `container`: chroot isolation (host network), the image's user."""
    cmd = ["buildah", "run", "--isolation", "chroot"]
    for name, value in (env or {}).items():
        cmd += ["--env", f"{name}={value}"]
    for pod_path, local in sorted((mounts or {}).items()):
        cmd += ["--volume", f"{local}:{pod_path}"]
    return [*cmd, container, "--", *argv]


@contextmanager
def container_of(ref: str) -> Iterator[str]:
    name = checked(["buildah", "from", "--pull=never", ref]).strip().splitlines()[-1]
    try:
        yield name
    finally:
        run(["buildah", "rm", name])


@dataclass
class StepContainers:
    """One working container per image, created on first use; a runner for `ArgoSim`."""

    timeout: float = RUN_TIMEOUT
    containers: dict[str, str] = field(default_factory=dict)
    started: float = field(default_factory=time.time)

    def container(self, ref: str) -> str:
        if ref not in self.containers:
            out = checked(["buildah", "from", "--pull=never", ref])
            self.containers[ref] = out.strip().splitlines()[-1]
        return self.containers[ref]

    def __call__(self, pod: ContainerRun) -> RunOutcome:
        for local in pod.mounts.values():
            if local.is_dir():
                local.chmod(0o777)  # an emptyDir is world-writable; the step runs as uid 10001
        argv = exec_argv(self.container(pod.image), pod.argv, env=pod.env, mounts=pod.mounts)
        result = run(argv, timeout=self.timeout)
        return RunOutcome(result.returncode, result.stdout, result.stderr)

    def changed_outside(self, allowed: Sequence[str]) -> dict[str, list[str]]:
        """Per image: paths in its container's root newer than `started`, outside `allowed`."""
        found: dict[str, list[str]] = {}
        for ref, name in self.containers.items():
            root = Path(checked(["buildah", "mount", name]).strip())
            try:
                found[ref] = sorted(_newer_files(root, self.started, allowed))
            finally:
                run(["buildah", "umount", name])
        return found

    def close(self) -> None:
        for name in self.containers.values():
            run(["buildah", "rm", name])
        self.containers.clear()


def _newer_files(root: Path, since: float, allowed: Sequence[str]) -> Iterator[str]:
    for directory, dirs, files in os.walk(root):
        rel_dir = "/" + os.path.relpath(directory, root).removeprefix(".").lstrip("/")
        dirs[:] = [d for d in dirs if not _under(f"{rel_dir.rstrip('/')}/{d}", allowed)]
        for name in files:
            rel = f"{rel_dir.rstrip('/')}/{name}"
            path = Path(directory) / name
            if not _under(rel, allowed) and path.lstat().st_mtime > since:
                yield rel


def _under(path: str, prefixes: Sequence[str]) -> bool:
    return any(path == p or path.startswith(p.rstrip("/") + "/") for p in prefixes)
