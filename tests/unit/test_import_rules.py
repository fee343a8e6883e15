"""Layers point inward, checked on the source: a table of who may not import what.

A rule names a package folder (or module) of the repository and the modules it must not import
(a name forbids the module and everything under it). Moving modules means updating this table.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

_NO_IO = (
    "os",
    "pathlib",
    "shutil",
    "tempfile",
    "socket",
    "subprocess",
    "fcntl",
    "urllib",
    "http",
    "requests",
    "boto3",
    "botocore",
    "obstore",
    "yaml",
    "pyarrow.csv",
    "pyarrow.parquet",
    "pyarrow.dataset",
    "pyarrow.fs",
)
_OUTER_LAYERS = (
    "xetra_etl.common.app",
    "xetra_etl.common.adapters",
    "xetra_etl.common.entrypoints",
    "xetra_etl.steps",
    "xetra_etl.workflows",
)
_CONCRETE_ADAPTERS = (
    "xetra_etl.common.adapters.storage.s3",
    "xetra_etl.common.adapters.storage.local",
    "xetra_etl.common.adapters.storage.factory",
    "xetra_etl.common.adapters.source_csv",
    "xetra_etl.common.adapters.source_reader",
    "xetra_etl.common.adapters.reader_factory",
    "boto3",
    "botocore",
    "obstore",
)


# In the repository `common`, `steps` and `workflows` are also importable under their bare names
# (the repository root is on sys.path); an installed wheel has only `xetra_etl.*`.
_BARE_PACKAGES = ("common", "steps", "workflows")


@dataclass(frozen=True)
class ImportRule:
    where: str  # a folder or a .py file, relative to the repository
    forbidden: tuple[str, ...]
    why: str


RULES = (
    ImportRule(
        "common/domain",
        (
            *_NO_IO,
            *_OUTER_LAYERS,
            "xetra_etl.common.ports",
            "xetra_etl.common.infra",
            "xetra_etl.common.kernels",
        ),
        "the domain is pure: no I/O, no YAML, nothing of the layers around it",
    ),
    ImportRule(
        "common/ports.py",
        (*_NO_IO, *_OUTER_LAYERS, "xetra_etl.common.infra", "xetra_etl.common.kernels"),
        "the ports say what the application needs of the world, in the domain's terms alone",
    ),
    ImportRule(
        "common/kernels.py",
        (*_NO_IO, *_OUTER_LAYERS, "xetra_etl.common.infra"),
        "kernels compute, they read nothing",
    ),
    ImportRule(
        "common/infra",
        (*_OUTER_LAYERS, "xetra_etl.common.ports"),
        "infrastructure serves every layer, so it depends on none of them",
    ),
    ImportRule(
        "common/app",
        (
            *_CONCRETE_ADAPTERS,
            "xetra_etl.common.entrypoints",
            "xetra_etl.steps",
            "xetra_etl.workflows",
        ),
        "the application sees only interfaces",
    ),
    ImportRule(
        "common/adapters",
        (
            "xetra_etl.common.app",
            "xetra_etl.common.entrypoints",
            "xetra_etl.steps",
            "xetra_etl.workflows",
        ),
        "adapters implement the ports; the application uses them, never the other way round",
    ),
    ImportRule(
        "common/entrypoints",
        ("xetra_etl.steps", "xetra_etl.workflows"),
        "the entry points wire the layers for the step commands, which call them",
    ),
    ImportRule(
        ".",
        _BARE_PACKAGES,
        "the project's packages are imported through the xetra_etl namespace, as installed",
    ),
    ImportRule(
        "workflows",
        (
            "xetra_etl.steps",
            "xetra_etl.common.app",
            "xetra_etl.common.adapters",
            "xetra_etl.common.entrypoints",
        ),
        "manifests are rendered from shared names only, without step code",
    ),
)


def imported_modules(path: Path) -> set[str]:
    """Every module `path` imports, at the top or inside functions."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def python_files(folder: Path) -> list[Path]:
    """The folder's Python files, without virtual environments, caches and linked folders."""
    skip = {".venv", "node_modules", "xetra_etl", ".git", "build"}
    found = []
    for path in folder.rglob("*.py"):
        parts = path.relative_to(folder).parts
        if not skip.intersection(parts) and not any(p.startswith(".") for p in parts[:-1]):
            found.append(path)
    return found


def rule_for(where: str) -> ImportRule:
    return next(rule for rule in RULES if rule.where == where)


def breaches(rule: ImportRule, root: Path = REPO) -> set[str]:
    place = root / rule.where
    files = sorted(python_files(place)) if place.is_dir() else [place]
    return {
        f"{path.relative_to(root)} imports {name}: {rule.why}"
        for path in files
        for name in imported_modules(path)
        if any(name == bad or name.startswith(bad + ".") for bad in rule.forbidden)
    }


def test_every_import_rule_holds() -> None:
    for rule in RULES:
        assert (REPO / rule.where).exists(), f"{rule.where} moved: update the rule table"
    assert set().union(*(breaches(rule) for rule in RULES)) == set()


def test_a_breach_is_found_when_a_module_imports_what_its_rule_forbids(tmp_path: Path) -> None:
    (tmp_path / "common" / "domain").mkdir(parents=True)
    (tmp_path / "common" / "domain" / "bad.py").write_text(
        "import os.path\n"
        "from xetra_etl.common.adapters.storage.s3 import S3Store\n"
        "\ndef f():\n    import yaml\n",
        encoding="utf-8",
    )
    (tmp_path / "common" / "domain" / "good.py").write_text(
        "import io\nimport osmosis\nfrom xetra_etl.common.domain import report\n", encoding="utf-8"
    )
    found = breaches(rule_for("common/domain"), tmp_path)
    assert {line.split(":")[0] for line in found} == {
        "common/domain/bad.py imports os.path",
        "common/domain/bad.py imports xetra_etl.common.adapters.storage.s3",
        "common/domain/bad.py imports xetra_etl.common.adapters.storage.s3.S3Store",
        "common/domain/bad.py imports yaml",
    }


def test_the_application_may_not_import_a_concrete_adapter(tmp_path: Path) -> None:
    (tmp_path / "common" / "app").mkdir(parents=True)
    (tmp_path / "common" / "app" / "x.py").write_text(
        "from xetra_etl.common.adapters import source_csv\n"
        "from xetra_etl.common.adapters.storage.base import ObjectStore\n",
        encoding="utf-8",
    )
    assert breaches(rule_for("common/app"), tmp_path) == {
        "common/app/x.py imports xetra_etl.common.adapters.source_csv:"
        " the application sees only interfaces"
    }
