"""workflows/ renders manifests only: it imports no step code (images and Hera stay apart)."""

from __future__ import annotations

import ast
from pathlib import Path

import workflows

PACKAGE_DIR = Path(workflows.__file__).parent
FORBIDDEN = ("steps",)


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def test_workflows_imports_nothing_from_steps_when_scanned() -> None:
    offenders = {
        f"{path.relative_to(PACKAGE_DIR)}: {name}"
        for path in PACKAGE_DIR.rglob("*.py")
        for name in _imported_modules(path)
        if name.split(".")[0] in FORBIDDEN
    }
    assert offenders == set()


def test_layering_scan_finds_imports_when_a_module_imports_steps(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("import steps.cli\nfrom steps import discover\n", encoding="utf-8")
    assert {"steps.cli", "steps"} <= _imported_modules(bad)
