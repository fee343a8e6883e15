"""A recording stand-in for hera's WorkflowsService, for the operations and CLI tests.

A subclass, because Hera's own `create()`/`update()`/`lint()` accept only a WorkflowsService.
"""

from __future__ import annotations

import json
from typing import Any

from hera.exceptions import AlreadyExists, BadRequest
from hera.workflows import WorkflowsService
from hera.workflows import models as m


def wire_body(req: Any) -> Any:
    """The JSON WorkflowsService sends (it calls the deprecated `.json()` with these options)."""
    options = {"by_alias": True, "exclude_none": True, "exclude_unset": True}
    return json.loads(req.model_dump_json(exclude_defaults=True, **options))


class FakeArgo(WorkflowsService):
    """Records every call; `existing` names objects that answer create with 409 AlreadyExists,
    `rejected` maps names to the message their lint answers with 400 BadRequest."""

    def __init__(
        self, existing: set[str] | None = None, rejected: dict[str, str] | None = None
    ) -> None:
        super().__init__(host="http://fake-argo.invalid")
        self.existing = existing or set()
        self.rejected = rejected or {}
        self.calls: list[tuple[str, Any]] = []

    def _meta(self, name: str) -> m.ObjectMeta:
        return m.ObjectMeta(name=name, resource_version="42")

    def create_workflow_template(self, req: Any, namespace: str | None = None) -> Any:
        self.calls.append(("create_workflow_template", req))
        if req.template.metadata.name in self.existing:
            raise AlreadyExists("exists")
        return req.template

    def get_workflow_template(
        self, name: str, namespace: str | None = None, resource_version: str | None = None
    ) -> Any:
        self.calls.append(("get_workflow_template", name))
        return m.WorkflowTemplate(metadata=self._meta(name), spec=m.WorkflowSpec())

    def update_workflow_template(self, name: str, req: Any, namespace: str | None = None) -> Any:
        self.calls.append(("update_workflow_template", req))
        return req.template

    def create_cron_workflow(self, req: Any, namespace: str | None = None) -> Any:
        self.calls.append(("create_cron_workflow", req))
        if req.cron_workflow.metadata.name in self.existing:
            raise AlreadyExists("exists")
        return req.cron_workflow

    def get_cron_workflow(
        self, name: str, namespace: str | None = None, resource_version: str | None = None
    ) -> Any:
        self.calls.append(("get_cron_workflow", name))
        return m.CronWorkflow(
            metadata=self._meta(name),
            spec=m.CronWorkflowSpec(schedules=["* * * * *"], workflow_spec=m.WorkflowSpec()),
        )

    def update_cron_workflow(self, name: str, req: Any, namespace: str | None = None) -> Any:
        self.calls.append(("update_cron_workflow", req))
        return req.cron_workflow

    def _lint(self, call: str, doc: Any) -> Any:
        self.calls.append((call, doc))
        if doc.metadata.name in self.rejected:
            raise BadRequest(self.rejected[doc.metadata.name])
        return doc

    def lint_workflow_template(self, req: Any, namespace: str | None = None) -> Any:
        return self._lint("lint_workflow_template", req.template)

    def lint_cron_workflow(self, req: Any, namespace: str | None = None) -> Any:
        return self._lint("lint_cron_workflow", req.cron_workflow)

    def submit_workflow(self, req: Any, namespace: str | None = None) -> Any:
        self.calls.append(("submit_workflow", req))
        number = sum(1 for name, _ in self.calls if name == "submit_workflow")
        return m.Workflow(metadata=m.ObjectMeta(name=f"xetra-etl-{number}"), spec=m.WorkflowSpec())

    def retry_workflow(self, name: str, req: Any, namespace: str | None = None) -> Any:
        self.calls.append(("retry_workflow", req))
        return m.Workflow(metadata=m.ObjectMeta(name=name), spec=m.WorkflowSpec())
