"""Every rendered document is valid Argo, in v4.0 and v3.7, also with unknown fields rejected."""

from __future__ import annotations

import copy
import hashlib
from typing import Any

import pytest
import yaml

from tests.workflows.argo_schema_check import SCHEMAS_DIR, errors, strict_definitions
from xetra_etl.workflows.render import rendered_files
from xetra_etl.workflows.settings import RenderSettings

VERSIONS = ("v4.0.10", "v3.7.18")
PROVENANCE_SHA256 = {
    "v3.7.18": "7121a93025875991aa5372aa0c3f922797ba9af4899d9ed33c5b99d85aa6eb37",
    "v4.0.10": "929ea7d48bfc494d9e7c869d102fd43a23e3e953407e1890da9d6b902ea39f54",
}
FILES = [name for name, _ in rendered_files(RenderSettings())]


@pytest.mark.parametrize("strict", [False, True], ids=["lenient", "strict"])
@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("file_name", FILES)
def test_manifest_matches_argo_schema_when_validated_per_kind(
    rendered: dict[str, str], file_name: str, version: str, strict: bool
) -> None:
    doc = yaml.safe_load(rendered[file_name])
    assert errors(doc, version, strict=strict) == []


@pytest.mark.parametrize("version", VERSIONS)
def test_strict_schema_rejects_field_when_misspelled(ctx: dict[str, Any], version: str) -> None:
    doc = copy.deepcopy(ctx)
    doc["spec"]["templates"][0]["retryStategy"] = {"limit": "3"}
    assert errors(doc, version, strict=False) == []
    assert any("retryStategy" in line for line in errors(doc, version, strict=True))


@pytest.mark.parametrize("version", VERSIONS)
def test_schema_rejects_retry_limit_when_written_as_integer(
    library: dict[str, Any], version: str
) -> None:
    doc = copy.deepcopy(library)
    doc["spec"]["templates"][0]["retryStrategy"]["limit"] = 3
    assert errors(doc, version, strict=False) != []


@pytest.mark.parametrize("version", VERSIONS)
def test_strict_definitions_close_every_object_when_it_lists_properties(version: str) -> None:
    definitions, closed = strict_definitions(version)
    assert closed > 300
    open_with_properties = [
        name
        for name, schema in definitions.items()
        if "properties" in schema and schema.get("additionalProperties") is not False
    ]
    assert open_with_properties == []


@pytest.mark.parametrize("version", VERSIONS)
def test_vendored_schema_matches_provenance_when_hashed(version: str) -> None:
    data = (SCHEMAS_DIR / f"schema-{version}.json").read_bytes()
    assert hashlib.sha256(data).hexdigest() == PROVENANCE_SHA256[version]


def test_manifests_use_no_memoize_when_rendered(rendered: dict[str, str]) -> None:
    # Hera 7 writes memoize.cache.configMap without `key`, which the v3.7 schema requires.
    assert all("memoize" not in text for text in rendered.values())
