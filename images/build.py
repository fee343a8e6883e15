"""Build and push the step images, named from `common.infra.naming` (as the Argo templates are).

With a working Docker engine it uses `docker build`/`docker push`; otherwise buildah (daemonless:
`buildah bud`, `buildah push`). The repository root is always the build context.

    python images/build.py build [--registry R] [--tag T] [--base-image B] [--tool buildah]
    python images/build.py push  [--registry R] [--tag T]
    python images/build.py list  [--registry R] [--tag T]      # image, Dockerfile, reference

Buildah options for sandboxes (e.g. CI containers): `--isolation chroot`, `--pull never`,
`--volume /etc/ssl/certs:/etc/ssl/certs:ro` (a proxy's CA bundle for pip inside the build).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from anywhere: import the project's naming
    sys.path.insert(0, str(ROOT))

from xetra_etl.common.infra.naming import DEFAULT_REGISTRY, IMAGES, STEP_IMAGE, image_ref  # noqa: E402

IMAGES_DIR = ROOT / "images"
TOOLS = ("docker", "buildah")


@dataclass(frozen=True)
class Image:
    name: str
    dockerfile: Path
    ref: str


def plan(registry: str = DEFAULT_REGISTRY, tag: str | None = None) -> list[Image]:
    """Every image, in `IMAGES` order, with its Dockerfile and full reference."""
    first_step = {image: step for step, image in reversed(STEP_IMAGE.items())}
    return [
        Image(
            name,
            IMAGES_DIR / name / "Dockerfile",
            image_ref(first_step[name], registry=registry, tag=tag),
        )
        for name in IMAGES
    ]


def docker_works() -> bool:
    """A docker client alone is not enough: the engine must answer."""
    if shutil.which("docker") is None:
        return False
    probe = subprocess.run(
        ["docker", "info", "--format", "{{.ServerVersion}}"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    return probe.returncode == 0 and bool(probe.stdout.strip())


def detect_tool() -> str:
    if docker_works():
        return "docker"
    if shutil.which("buildah"):
        return "buildah"
    raise SystemExit("no working docker engine and no buildah: run `make images-deps`")


def build_argv(
    tool: str,
    image: Image,
    *,
    base_image: str | None = None,
    isolation: str | None = None,
    pull: str | None = None,
    volumes: Sequence[str] = (),
) -> list[str]:
    argv = [tool, "build"] if tool == "docker" else ["buildah", "bud", "--layers"]
    if tool == "buildah" and isolation:
        argv.append(f"--isolation={isolation}")
    if pull:
        argv.append(f"--pull={pull}")
    for volume in volumes:
        argv += ["--volume", volume]
    if base_image:
        argv += ["--build-arg", f"BASE_IMAGE={base_image}"]
    argv += ["--file", str(image.dockerfile.relative_to(ROOT)), "--tag", image.ref, "."]
    return argv


def push_argv(tool: str, image: Image) -> list[str]:
    if tool == "docker":
        return ["docker", "push", image.ref]
    return ["buildah", "push", image.ref, f"docker://{image.ref}"]


def _run(argv: list[str]) -> None:
    print("+ " + " ".join(argv), file=sys.stderr, flush=True)
    subprocess.run(argv, cwd=ROOT, check=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build or push the step images.")
    parser.add_argument("command", choices=("build", "push", "list"))
    parser.add_argument("--registry", default=None, help=f"default {DEFAULT_REGISTRY}")
    parser.add_argument("--tag", default=None, help="default: the package version")
    parser.add_argument("--tool", choices=TOOLS, default=None, help="default: docker if it works")
    parser.add_argument("--base-image", default=None, help="BASE_IMAGE build argument")
    parser.add_argument("--isolation", default=None, help="buildah isolation (e.g. chroot)")
    parser.add_argument("--pull", default=None, help="pull policy (e.g. never)")
    parser.add_argument("--volume", action="append", default=[], help="build-time mount")
    parser.add_argument("--image", action="append", choices=IMAGES, help="only these images")
    args = parser.parse_args(argv)

    images = plan(args.registry or DEFAULT_REGISTRY, args.tag or None)
    if args.image:
        images = [image for image in images if image.name in args.image]
    if args.command == "list":
        for image in images:
            print(f"{image.name}\t{image.dockerfile.relative_to(ROOT)}\t{image.ref}")
        return 0
    tool = args.tool or detect_tool()
    for image in images:
        started = time.monotonic()
        if args.command == "build":
            _run(
                build_argv(
                    tool,
                    image,
                    base_image=args.base_image,
                    isolation=args.isolation,
                    pull=args.pull,
                    volumes=args.volume,
                )
            )
        else:
            _run(push_argv(tool, image))
        print(f"{args.command} {image.ref}: {time.monotonic() - started:.1f}s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
