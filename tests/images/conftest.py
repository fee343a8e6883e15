"""Fixtures of the image tests: the local base image and every step image, built once a session.

The base (Debian bookworm minbase + python3, `images/base-image.sh`) is cached in
/var/cache/xetra-images, so only the first run on a machine pays for debootstrap; buildah's layer
cache makes rebuilding unchanged images a matter of seconds.
"""

from __future__ import annotations

import pytest

from tests.images.buildah import BuiltImages, build_images, image_size


@pytest.fixture(scope="session")
def built_images() -> BuiltImages:
    try:
        return build_images()
    except RuntimeError as exc:
        pytest.fail(str(exc))


@pytest.fixture(scope="session")
def base_size(built_images: BuiltImages) -> int:
    return image_size(built_images.base)
