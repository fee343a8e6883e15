"""Write every step image's Dockerfile from the one template, `images/Dockerfile.in`.

The images differ only in what they say of themselves, their extras and their entrypoint; the
template holds everything else once. A Dockerfile per image (not one with a build argument)
because an exec-form ENTRYPOINT takes no build argument, and each image keeps exactly its bytes.

    python images/dockerfiles.py            # rewrite images/<image>/Dockerfile
    python images/dockerfiles.py --check    # exit 1 when one differs from the template
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from anywhere: import the project's naming
    sys.path.insert(0, str(ROOT))

from xetra_etl.common.infra.naming import IMAGES, STEP_IMAGE, console_script  # noqa: E402

IMAGES_DIR = ROOT / "images"
TEMPLATE = IMAGES_DIR / "Dockerfile.in"

_BARE = "The bare install: boto3 and PyYAML only, no pandas, no pyarrow."
_DATA = "Core plus the data extra without pandas (only `xetra-etl show` uses it)."

# image: (the comment lines that say what it is, extras, extras' packages left out)
ABOUT: dict[str, tuple[tuple[str, ...], str, str]] = {
    "discover": (
        (
            "Image of the `discover` step: lists the source, decides which dates need work.",
            _BARE,
        ),
        "",
        "",
    ),
    "extract": (
        (
            "Image of the `extract` step: reads a date's CSV files into per-ISIN aggregates.",
            _DATA,
        ),
        "data",
        "pandas",
    ),
    "transform": (
        ("Image of the `transform` step: turns aggregates into a date's report rows.", _DATA),
        "data",
        "pandas",
    ),
    "load": (
        ("Image of the `load` step: writes a date's report partition, marks it done.", _DATA),
        "data",
        "pandas",
    ),
    "merge": (
        (
            "Image of the control steps `merge` (fan-in: run report, meta file) and",
            "`notify` (exit hook; its template's command selects `xetra-notify`).",
            _BARE,
        ),
        "",
        "",
    ),
}


def dockerfile_path(image: str) -> Path:
    return IMAGES_DIR / image / "Dockerfile"


def render(image: str) -> str:
    """The Dockerfile of `image`, from the template."""
    about, extras, without = ABOUT[image]
    first_step = next(step for step, name in STEP_IMAGE.items() if name == image)
    return (
        TEMPLATE.read_text(encoding="utf-8")
        .replace("@ABOUT@", "\n".join(f"# {line}" for line in about))
        .replace("@IMAGE@", image)
        .replace("@EXTRAS@", extras)
        .replace("@WITHOUT@", without)
        .replace("@ENTRYPOINT@", console_script(first_step))
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write the step images' Dockerfiles.")
    parser.add_argument("--check", action="store_true", help="only say which are stale")
    args = parser.parse_args(argv)
    stale = []
    for image in IMAGES:
        path, text = dockerfile_path(image), render(image)
        if path.exists() and path.read_text(encoding="utf-8") == text:
            continue
        stale.append(path.relative_to(ROOT))
        if not args.check:
            path.parent.mkdir(exist_ok=True)
            path.write_text(text, encoding="utf-8")
    for path in stale:
        print(f"{path}: {'stale' if args.check else 'written'}", file=sys.stderr)
    if args.check and stale:
        print("run `make images-dockerfiles`", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
