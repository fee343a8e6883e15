"""Validate manifests against Argo's JSON schema, per kind, optionally rejecting unknown fields.

Argo's schema sets no `additionalProperties: false`, so a misspelled field (`retryStategy`)
passes and is silently ignored by the controller. The strict variant closes every object
definition that lists its `properties`; definitions without `properties` (free-form maps such as
labels or resource quantities) stay open. No exceptions are needed: no definition combines
schemas with allOf/anyOf/oneOf, so closing an object can only reject a field it does not declare
(a test checks that every definition with `properties` ends up closed).
"""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

SCHEMAS_DIR = Path(__file__).parent / "schemas"
KIND_PREFIX = "io.argoproj.workflow.v1alpha1."


@cache
def load_schema(version: str) -> dict[str, Any]:
    with (SCHEMAS_DIR / f"schema-{version}.json").open(encoding="utf-8") as fh:
        schema: dict[str, Any] = json.load(fh)
    return schema


def _close(node: Any) -> int:
    """Add additionalProperties: false to every object schema with `properties`; count them."""
    closed = 0
    if isinstance(node, dict):
        if "properties" in node and "additionalProperties" not in node:
            node["additionalProperties"] = False
            closed += 1
        for value in node.values():
            closed += _close(value)
    elif isinstance(node, list):
        for value in node:
            closed += _close(value)
    return closed


@cache
def strict_definitions(version: str) -> tuple[dict[str, Any], int]:
    definitions = copy.deepcopy(load_schema(version)["definitions"])
    closed = _close(definitions)
    return definitions, closed


def validator(version: str, kind: str, *, strict: bool) -> Draft202012Validator:
    definitions = strict_definitions(version)[0] if strict else load_schema(version)["definitions"]
    return Draft202012Validator(
        {"$ref": f"#/definitions/{KIND_PREFIX}{kind}", "definitions": definitions}
    )


def errors(doc: dict[str, Any], version: str, *, strict: bool) -> list[str]:
    """Readable `path: message` lines, empty when the document is valid."""
    found = validator(version, doc["kind"], strict=strict).iter_errors(doc)
    return sorted(f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}" for e in found)
