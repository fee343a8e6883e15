"""One name per step, derived in one place.

The step's package module (`steps/<step>.py`), its console script, its Argo template and its image
all come from these constants; `workflows/` and `images/` read them from here.
"""

from __future__ import annotations

from importlib import metadata

PROJECT = "xetra-etl"

STEPS: tuple[str, ...] = ("discover", "extract", "transform", "load", "merge", "notify")

# Image per step: merge and notify are both small control steps and share one image.
STEP_IMAGE: dict[str, str] = {
    "discover": "discover",
    "extract": "extract",
    "transform": "transform",
    "load": "load",
    "merge": "merge",
    "notify": "merge",
}
IMAGES: tuple[str, ...] = tuple(dict.fromkeys(STEP_IMAGE.values()))

DEFAULT_REGISTRY = "localhost/xetra-etl"


def version() -> str:
    try:
        return metadata.version(PROJECT)
    except metadata.PackageNotFoundError:
        return "0.0.0"


def console_script(step: str) -> str:
    return f"xetra-{step}"


def image_ref(step: str, *, registry: str = DEFAULT_REGISTRY, tag: str | None = None) -> str:
    """Full image reference for the step's image, e.g. `localhost/xetra-etl/extract:0.1.0`."""
    name = STEP_IMAGE[step]
    return f"{registry.rstrip('/')}/{name}:{tag or version()}"


# Paths inside step containers.
CONFIG_PATH_IN_POD = "/etc/xetra/config.yaml"
OUTPUTS_DIR_IN_POD = "/tmp/outputs"
# The pod's own name, given to each step container through the downward API (in Argo).
POD_NAME_ENV = "XETRA_POD_NAME"
