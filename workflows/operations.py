"""Apply, lint, submit, backfill and retry through the Argo server's API (hera's WorkflowsService).

Submit and retry requests are built by pure functions (tested without a cluster). Apply and lint
are Hera's own: each document's `create()`, `update()` (get for the resourceVersion, then update)
and `lint()` (the server's lint endpoint), given the service `ArgoOperations` holds.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import requests
from hera.exceptions import AlreadyExists, BadRequest
from hera.workflows import WorkflowsService
from hera.workflows import models as m

from xetra_etl.common.infra.naming import PROJECT
from xetra_etl.workflows.backfill import DateWindow
from xetra_etl.workflows.render import Document
from xetra_etl.workflows.settings import PIPELINE_TEMPLATE

ARGO_SERVER_ENV = "ARGO_SERVER"
ARGO_TOKEN_ENV = "ARGO_TOKEN"
ARGO_INSECURE_ENV = "ARGO_INSECURE_SKIP_VERIFY"
ARGO_SECURE_ENV = "ARGO_SECURE"


class ArgoConfigError(Exception):
    """The environment does not say how to reach the Argo server."""


class ServerTrouble(Exception):
    """The Argo server, or a proxy in front of it, answered 5xx: a later try may succeed.

    Hera raises a typed exception only for 500 among the 5xx statuses, and one without its
    status for the others (502, 503, 504 from an ingress or a port-forward).
    """


def _raise_server_trouble(response: requests.Response, *args: object, **kwargs: object) -> None:
    if response.status_code >= 500:
        raise ServerTrouble(
            f"{response.request.method} {response.url} answered {response.status_code} "
            f"{response.reason}: {response.text[:200].strip()}"
        )


def describe(doc: Document) -> str:
    """`WorkflowTemplate/xetra-etl`, as the results and messages name a document."""
    return f"{type(doc).__name__}/{doc.name}"


class LintFailed(Exception):
    """The server found a problem in at least one document (its message says which field)."""

    def __init__(self, problems: Sequence[str], valid: Sequence[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = list(problems)
        self.valid = list(valid)


@dataclass(frozen=True)
class ServerConfig:
    """Where the Argo server is and how to authenticate, as the `argo` CLI reads it."""

    host: str
    token: str | None
    verify_ssl: bool


def server_config(env: Mapping[str, str]) -> ServerConfig:
    """Read ARGO_SERVER (`host:port` or URL), ARGO_TOKEN, ARGO_SECURE, ARGO_INSECURE_SKIP_VERIFY."""
    server = env.get(ARGO_SERVER_ENV, "").strip()
    if not server:
        raise ArgoConfigError(
            f"{ARGO_SERVER_ENV} is not set; export it like the argo CLI expects, "
            "e.g. ARGO_SERVER=localhost:2746"
        )
    if "://" not in server:
        secure = env.get(ARGO_SECURE_ENV, "true").strip().lower() != "false"
        server = f"{'https' if secure else 'http'}://{server}"
    insecure = env.get(ARGO_INSECURE_ENV, "").strip().lower() in {"1", "true", "yes"}
    token = env.get(ARGO_TOKEN_ENV, "").strip() or None
    return ServerConfig(host=server, token=token, verify_ssl=not insecure)


def service_from_env(env: Mapping[str, str], namespace: str) -> WorkflowsService:
    """The real client; only the CLI composition root calls this."""
    config = server_config(env)
    session = requests.Session()
    session.hooks["response"].append(_raise_server_trouble)
    return WorkflowsService(
        host=config.host,
        token=config.token,
        verify_ssl=config.verify_ssl,
        namespace=namespace,
        session=session,
    )


def submit_request(
    namespace: str,
    *,
    first_date: str = "",
    last_date: str = "",
    chunk_size: int | None = None,
    generate_name: str | None = None,
    labels: Mapping[str, str] | None = None,
) -> m.WorkflowSubmitRequest:
    """Start the pipeline template; only the parameters given override its defaults."""
    parameters = []
    if first_date:
        parameters.append(f"first-date={first_date}")
    if last_date:
        parameters.append(f"last-date={last_date}")
    if chunk_size is not None:
        parameters.append(f"chunk-size={chunk_size}")
    options = m.SubmitOpts(
        parameters=parameters or None,
        generate_name=generate_name,
        labels=",".join(f"{k}={v}" for k, v in sorted(labels.items())) if labels else None,
    )
    return m.WorkflowSubmitRequest(
        namespace=namespace,
        resource_kind="WorkflowTemplate",
        resource_name=PIPELINE_TEMPLATE,
        submit_options=options,
    )


def backfill_requests(
    namespace: str, windows: Sequence[DateWindow], *, chunk_size: int | None = None
) -> list[m.WorkflowSubmitRequest]:
    """One submit per window, named after its month and labelled as a backfill."""
    return [
        submit_request(
            namespace,
            first_date=window.first.isoformat(),
            last_date=window.last.isoformat(),
            chunk_size=chunk_size,
            generate_name=f"{PROJECT}-backfill-{window.label}-",
            labels={f"{PROJECT}/backfill": window.label},
        )
        for window in windows
    ]


def retry_request(namespace: str, name: str) -> m.WorkflowRetryRequest:
    """Like `argo retry NAME`: rerun the failed nodes only, keep what succeeded."""
    return m.WorkflowRetryRequest(name=name, namespace=namespace, restart_successful=False)


@dataclass
class ArgoOperations:
    """The operations behind `xetra-etl argo ...`, against one Argo server."""

    api: WorkflowsService
    namespace: str

    def _bound(self, doc: Document) -> Document:
        doc.workflows_service = self.api
        return doc

    def apply(self, docs: Sequence[Document]) -> list[str]:
        """Create each document, or update it in place when it exists; returns what was done."""
        done = []
        for doc in map(self._bound, docs):
            try:
                doc.create()
                done.append(f"created {describe(doc)}")
            except AlreadyExists:
                doc.update()
                done.append(f"updated {describe(doc)}")
        return done

    def lint(self, docs: Sequence[Document]) -> list[str]:
        """Lint every document on the server; raises LintFailed naming each one it rejected."""
        valid, problems = [], []
        for doc in map(self._bound, docs):
            try:
                doc.lint()
                valid.append(f"valid {describe(doc)}")
            except BadRequest as exc:
                problems.append(f"{describe(doc)}: {exc}")
        if problems:
            raise LintFailed(problems, valid)
        return valid

    def submit(self, requests: Sequence[m.WorkflowSubmitRequest]) -> list[str]:
        """Submit each request; returns the names of the workflows created."""
        names = []
        for req in requests:
            workflow = self.api.submit_workflow(req, namespace=self.namespace)
            names.append(workflow.metadata.name or "")
        return names

    def retry(self, name: str) -> str:
        workflow = self.api.retry_workflow(
            name, retry_request(self.namespace, name), namespace=self.namespace
        )
        return workflow.metadata.name or name


def environment() -> Mapping[str, str]:
    """The process environment, behind a function so the CLI can be given another mapping."""
    return os.environ
