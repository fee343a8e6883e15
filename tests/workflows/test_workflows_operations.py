"""Argo operations build the right API requests; a recording fake stands in for the server."""

from __future__ import annotations

from datetime import date

import pytest

from tests.workflows.argo_fakes import FakeArgo, wire_body
from xetra_etl.workflows.backfill import month_windows
from xetra_etl.workflows.operations import (
    ArgoConfigError,
    ArgoOperations,
    LintFailed,
    backfill_requests,
    retry_request,
    server_config,
    submit_request,
)
from xetra_etl.workflows.render import documents
from xetra_etl.workflows.settings import RenderSettings


def test_server_config_adds_https_when_argo_server_is_host_and_port() -> None:
    config = server_config({"ARGO_SERVER": "localhost:2746", "ARGO_TOKEN": "abc"})
    assert config.host == "https://localhost:2746"
    assert config.token == "abc"
    assert config.verify_ssl is True


def test_server_config_uses_http_and_skips_verify_when_asked_like_argo_cli() -> None:
    env = {"ARGO_SERVER": "argo:2746", "ARGO_SECURE": "false", "ARGO_INSECURE_SKIP_VERIFY": "true"}
    config = server_config(env)
    assert config.host == "http://argo:2746"
    assert config.verify_ssl is False
    assert config.token is None


def test_server_config_raises_when_argo_server_is_unset() -> None:
    with pytest.raises(ArgoConfigError, match="ARGO_SERVER"):
        server_config({})


def test_submit_request_targets_pipeline_template_when_built() -> None:
    req = submit_request("argo", first_date="2017-07-03", last_date="2017-07-07", chunk_size=5)
    assert wire_body(req) == {
        "namespace": "argo",
        "resourceKind": "WorkflowTemplate",
        "resourceName": "xetra-etl",
        "submitOptions": {
            "parameters": ["first-date=2017-07-03", "last-date=2017-07-07", "chunk-size=5"]
        },
    }


def test_submit_request_keeps_template_defaults_when_no_dates_given() -> None:
    req = submit_request("argo")
    assert req.submit_options is not None
    assert req.submit_options.parameters is None


def test_backfill_requests_submit_one_workflow_per_month_when_range_is_long() -> None:
    windows = month_windows(date(2017, 6, 26), date(2017, 8, 10))
    reqs = backfill_requests("argo", windows, chunk_size=3)
    options = [r.submit_options for r in reqs]
    assert [o.parameters for o in options if o] == [
        ["first-date=2017-06-26", "last-date=2017-06-30", "chunk-size=3"],
        ["first-date=2017-07-01", "last-date=2017-07-31", "chunk-size=3"],
        ["first-date=2017-08-01", "last-date=2017-08-10", "chunk-size=3"],
    ]
    assert [o.generate_name for o in options if o] == [
        "xetra-etl-backfill-2017-06-",
        "xetra-etl-backfill-2017-07-",
        "xetra-etl-backfill-2017-08-",
    ]
    assert all(o and o.labels and o.labels.startswith("xetra-etl/backfill=") for o in options)


def test_retry_request_keeps_succeeded_nodes_when_built() -> None:
    req = retry_request("argo", "xetra-etl-abc12")
    assert req.name == "xetra-etl-abc12"
    assert req.restart_successful is False
    assert req.node_field_selector is None


def test_apply_creates_each_document_when_none_exists() -> None:
    fake = FakeArgo()
    done = ArgoOperations(fake, "argo").apply(documents(RenderSettings()))
    assert done == [
        "created WorkflowTemplate/xetra-etl-steps",
        "created WorkflowTemplate/xetra-etl",
        "created CronWorkflow/xetra-etl-weekly",
    ]
    first = fake.calls[0][1]
    assert first.template.spec.templates[0].retry_strategy.limit.root == "3"


def test_apply_updates_with_resource_version_when_documents_exist() -> None:
    fake = FakeArgo(existing={"xetra-etl", "xetra-etl-weekly"})
    done = ArgoOperations(fake, "argo").apply(documents(RenderSettings()))
    assert done[1:] == [
        "updated WorkflowTemplate/xetra-etl",
        "updated CronWorkflow/xetra-etl-weekly",
    ]
    updates = [req for name, req in fake.calls if name.startswith("update_")]
    assert updates[0].template.metadata.resource_version == "42"
    assert updates[1].cron_workflow.metadata.resource_version == "42"


def test_apply_sends_each_document_to_its_own_namespace_when_rendered_for_it() -> None:
    fake = FakeArgo()
    ArgoOperations(fake, "etl").apply(documents(RenderSettings(namespace="etl")))
    assert {req.template.metadata.namespace for name, req in fake.calls if "template" in name} == {
        "etl"
    }


def test_lint_names_every_document_when_server_finds_no_problem() -> None:
    fake = FakeArgo()
    assert ArgoOperations(fake, "argo").lint(documents(RenderSettings())) == [
        "valid WorkflowTemplate/xetra-etl-steps",
        "valid WorkflowTemplate/xetra-etl",
        "valid CronWorkflow/xetra-etl-weekly",
    ]
    assert [name for name, _ in fake.calls] == [
        "lint_workflow_template",
        "lint_workflow_template",
        "lint_cron_workflow",
    ]


def test_lint_reports_every_rejected_document_when_server_rejects_some() -> None:
    fake = FakeArgo(rejected={"xetra-etl": "templateRef xetra-etl-steps not found"})
    with pytest.raises(LintFailed) as failed:
        ArgoOperations(fake, "argo").lint(documents(RenderSettings()))
    assert failed.value.valid == [
        "valid WorkflowTemplate/xetra-etl-steps",
        "valid CronWorkflow/xetra-etl-weekly",
    ]
    assert failed.value.problems == [
        "WorkflowTemplate/xetra-etl: templateRef xetra-etl-steps not found"
    ]


def test_submit_returns_created_names_when_server_accepts() -> None:
    fake = FakeArgo()
    names = ArgoOperations(fake, "argo").submit([submit_request("argo"), submit_request("argo")])
    assert names == ["xetra-etl-1", "xetra-etl-2"]


def test_retry_sends_retry_request_when_called() -> None:
    fake = FakeArgo()
    assert ArgoOperations(fake, "argo").retry("xetra-etl-abc12") == "xetra-etl-abc12"
    ((name, req),) = fake.calls
    assert name == "retry_workflow" and req.name == "xetra-etl-abc12"
