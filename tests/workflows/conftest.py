"""Fixtures for the manifest tests: a fresh render and its parsed documents by role."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from xetra_etl.workflows.render import rendered_files
from xetra_etl.workflows.settings import RenderSettings


@pytest.fixture(scope="session")
def rendered() -> dict[str, str]:
    """File name -> YAML text of a fresh render with the default settings."""
    return dict(rendered_files(RenderSettings()))


@pytest.fixture(scope="session")
def manifests(rendered: dict[str, str]) -> list[dict[str, Any]]:
    return [yaml.safe_load(text) for text in rendered.values()]


def _by_name(manifests: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    (doc,) = [d for d in manifests if d["kind"] == kind and d["metadata"]["name"] == name]
    return doc


@pytest.fixture(scope="session")
def library(manifests: list[dict[str, Any]]) -> dict[str, Any]:
    return _by_name(manifests, "WorkflowTemplate", "xetra-etl-steps")


@pytest.fixture(scope="session")
def ctx(manifests: list[dict[str, Any]]) -> dict[str, Any]:
    return _by_name(manifests, "WorkflowTemplate", "xetra-etl")


@pytest.fixture(scope="session")
def cron(manifests: list[dict[str, Any]]) -> dict[str, Any]:
    return _by_name(manifests, "CronWorkflow", "xetra-etl-weekly")
