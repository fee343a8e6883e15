"""The committed YAML under workflows/manifests/ is exactly what the Hera code renders.

Regenerate with `make render` (or XETRA_REGENERATE_MANIFESTS=1 pytest ...); CI never rewrites.
"""

from __future__ import annotations

import os

from xetra_etl.workflows.render import MANIFESTS_DIR, rendered_files, write_manifests
from xetra_etl.workflows.settings import RenderSettings

REGENERATE = os.environ.get("XETRA_REGENERATE_MANIFESTS") == "1" and not os.environ.get("CI")


def test_committed_manifests_equal_fresh_render_when_compared(rendered: dict[str, str]) -> None:
    if REGENERATE:
        for stale in set(p.name for p in MANIFESTS_DIR.glob("*.yaml")) - set(rendered):
            (MANIFESTS_DIR / stale).unlink()
        write_manifests(MANIFESTS_DIR, RenderSettings())
    committed = {p.name: p.read_text(encoding="utf-8") for p in MANIFESTS_DIR.glob("*.yaml")}
    assert sorted(committed) == sorted(rendered), "run `make render` to update the manifests"
    for name, text in rendered.items():
        assert committed[name] == text, f"{name} is stale: run `make render`"


def test_render_output_is_identical_when_rendered_twice(rendered: dict[str, str]) -> None:
    assert dict(rendered_files(RenderSettings())) == rendered
