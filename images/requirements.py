"""Print the runtime requirements of one image: the core dependencies, extras, minus exclusions.

Runs inside the image build with the base image's Python (3.11+, standard library only), so the
dependency list stays in pyproject.toml alone; the versions come from images/constraints.txt
(PIP_CONSTRAINT).

    python images/requirements.py pyproject.toml                          # discover, merge
    python images/requirements.py pyproject.toml data --without pandas    # extract, transform, load

`--without` drops a requirement the image's steps never import (pandas serves only
`xetra-etl show`, a laptop command), keeping the data images inside their size budget.
"""

from __future__ import annotations

import argparse
import re
import tomllib


def requirement_name(requirement: str) -> str:
    """The normalized project name at the start of a PEP 508 requirement."""
    match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
    if not match:
        raise ValueError(f"not a requirement: {requirement!r}")
    return re.sub(r"[-_.]+", "-", match.group(1)).lower()


def requirements(pyproject: str, extras: list[str], without: list[str]) -> list[str]:
    with open(pyproject, "rb") as handle:
        project = tomllib.load(handle)["project"]
    found = list(project["dependencies"])
    for extra in extras:
        found += project["optional-dependencies"][extra]
    excluded = {requirement_name(name) for name in without}
    unknown = excluded - {requirement_name(req) for req in found}
    if unknown:
        raise SystemExit(f"--without names no requirement: {sorted(unknown)}")
    return [req for req in found if requirement_name(req) not in excluded]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Print an image's runtime requirements.")
    parser.add_argument("pyproject")
    parser.add_argument("extras", nargs="*")
    parser.add_argument("--without", action="append", default=[], help="drop this requirement")
    args = parser.parse_args(argv)
    print("\n".join(requirements(args.pyproject, args.extras, args.without)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
