"""Fixtures of the image tests: the local base image and every step image, built once a session.

The base (Debian bookworm minbase + python3, `images/base-image.sh`) is cached in
/var/cache/xetra-images, so only the first run on a machine pays for debootstrap; buildah's layer
cache makes rebuilding unchanged images a matter of seconds.
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass

import pytest

from images import build
from tests.images.buildah import BASE_IMAGE, CA_CERTS, ROOT, checked, image_size

REQUIRED_TOOLS = ("buildah", "podman", "debootstrap")


@dataclass(frozen=True)
class BuiltImages:
    base: str
    refs: dict[str, str]  # image name -> reference
    build_seconds: dict[str, float]


@pytest.fixture(scope="session")
def built_images() -> BuiltImages:
    missing = [tool for tool in REQUIRED_TOOLS if shutil.which(tool) is None]
    if missing or os.geteuid() != 0:
        pytest.fail(f"image tests need root and {missing or REQUIRED_TOOLS}: make images-deps")
    checked([str(ROOT / "images" / "base-image.sh")], timeout=1800)
    seconds: dict[str, float] = {}
    for image in build.plan():
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
    return BuiltImages(BASE_IMAGE, {i.name: i.ref for i in build.plan()}, seconds)


@pytest.fixture(scope="session")
def base_size(built_images: BuiltImages) -> int:
    return image_size(built_images.base)
