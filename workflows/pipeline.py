"""The pipeline WorkflowTemplate `xetra-etl`: discover, one nested DAG per work item, merge.

Choices that matter in production (DESIGN.md section 7):
- discover's date list travels as a *file* output parameter (stdout `result` is cut at 256 kB);
- each work item is a nested DAG extract -> transform -> load, so every node name in the Argo UI
  carries the item (`process(3:2017-07-26).extract`);
- the fan-out DAG does not fail fast: one bad date must not stop the other dates;
- merge depends plainly on the fan-out (not AnySucceeded): a failed date leaves the workflow
  Failed, and the UI's Retry reruns only the failed dates and then merge;
- a workflow-level mutex keeps the weekly run and a backfill from overlapping; `parallelism`
  bounds the fan-out; failed workflows and their pods stay long enough to be retried;
- the exit handler always runs notify with `{{workflow.status}}` and `{{workflow.failures}}`
  (while that list is small; notify reads the steps' failure records first).
"""

from __future__ import annotations

from hera.workflows import DAG, Counter, Gauge, Label, Parameter, Task, WorkflowTemplate
from hera.workflows import models as m

from xetra_etl.common.infra.naming import PROJECT
from xetra_etl.workflows.settings import (
    LIBRARY_TEMPLATE,
    MUTEX,
    PIPELINE_TEMPLATE,
    SERVICE_ACCOUNT,
    RenderSettings,
)

ENTRYPOINT = "main"
PROCESS_TEMPLATE = "process-dates"
EXIT_HANDLER = "exit-handler"
FAN_OUT_TASK = "process"

RUN_ID = "{{workflow.name}}"  # stable across `argo retry`, so a retried date keeps its run id
LABELS = {"app.kubernetes.io/name": PROJECT, "app.kubernetes.io/component": "pipeline"}

# Submit-time parameters (name, default, description).
WORKFLOW_PARAMETERS: tuple[tuple[str, str, str], ...] = (
    ("first-date", "", "First date to consider (YYYY-MM-DD); empty: config pipeline.first_date."),
    ("last-date", "", "Last date to consider (YYYY-MM-DD); empty: today (UTC)."),
    (
        "chunk-size",
        "",
        "Dates per work item; empty: config pipeline.chunk_size. Raise it for long backfills.",
    ),
)


def _wf_param(name: str) -> str:
    return f"{{{{workflow.parameters.{name}}}}}"


def _args(**values: str) -> list[Parameter]:
    return [Parameter(name=name.replace("_", "-"), value=value) for name, value in values.items()]


def _step(step: str, **arguments: str) -> Task:
    """A task named after its step, running the library's template for it (`templateRef`)."""
    return Task(
        name=step,
        template_ref=m.TemplateRef(name=LIBRARY_TEMPLATE, template=step),
        arguments=_args(**arguments),
    )


def main_dag() -> DAG:
    """discover -> process (withParam over discover's file output) -> merge.

    Declared inside the pipeline's `with WorkflowTemplate`: the fan-out's DAG template is
    declared while this one is open, so Hera lists it in the workflow after this one.
    """
    with DAG(name=ENTRYPOINT, fail_fast=False) as dag:
        discover = _step(
            "discover",
            first_date=_wf_param("first-date"),
            last_date=_wf_param("last-date"),
            chunk_size=_wf_param("chunk-size"),
            run_id=RUN_ID,
        )
        process = Task(
            name=FAN_OUT_TASK,
            template=process_dag(),
            with_param="{{tasks.discover.outputs.parameters.dates}}",
            arguments=_args(dates="{{item}}"),
        )
        merge = _step("merge", run_id=RUN_ID)
        # Plain dependencies: merge runs when the fan-out Succeeded or was Skipped (no dates),
        # never on AnySucceeded.
        discover >> process
        process >> merge
    return dag


def process_dag() -> DAG:
    """One work item (a date or a chunk of dates): extract -> transform -> load."""
    dates = "{{inputs.parameters.dates}}"
    # Counted once per work item when its DAG finishes; with chunk-size 1 an item is one date.
    metrics = [
        Counter(
            name="xetra_etl_dates_processed_total",
            help="Work items (dates) extracted, transformed and loaded.",
            when="{{status}} == Succeeded",
            value="1",
        ),
        Counter(
            name="xetra_etl_dates_failed_total",
            help="Work items (dates) that failed in extract, transform or load.",
            when="{{status}} != Succeeded",
            value="1",
        ),
    ]
    with DAG(name=PROCESS_TEMPLATE, inputs=[Parameter(name="dates")], metrics=metrics) as dag:
        extract, transform, load = (
            _step(step, dates=dates, run_id=RUN_ID) for step in ("extract", "transform", "load")
        )
        extract >> transform
        transform >> load
    return dag


# `{{workflow.failures}}` grows with every failed node. Over 128 KiB of arguments (or of the
# init container's ARGO_TEMPLATE, which holds them twice) the controller offloads them to a
# ConfigMap (`createWorkflowPod`, workflowpod.go, v4.0.5), which the release's controller RBAC
# may not create: the exit handler's pod fails and no one is told. notify takes the failed
# dates from the steps' failure records; the list only fills in, and is passed while small.
FAILURES_LIMIT_BYTES = 32768
FAILURES_OMITTED = f"omitted: over {FAILURES_LIMIT_BYTES} bytes"
FAILURES_ARG = (
    f"{{{{=len(workflow.failures) <= {FAILURES_LIMIT_BYTES} ? workflow.failures : "
    f"'{FAILURES_OMITTED}'}}}}"
)


def exit_handler() -> DAG:
    """Runs after every run, whatever its outcome, and tells the webhook (if any) how it went."""
    with DAG(name=EXIT_HANDLER) as dag:
        _step("notify", run_id=RUN_ID, status="{{workflow.status}}", failures=FAILURES_ARG)
    return dag


def _workflow_metrics() -> list[Gauge | Counter]:
    return [
        Gauge(
            name="xetra_etl_run_duration_seconds",
            help="Duration of the current or last pipeline run.",
            value="{{workflow.duration}}",
            realtime=True,
        ),
        Counter(
            name="xetra_etl_runs_total",
            help="Finished pipeline runs by final status.",
            labels=[Label(key="status", value="{{workflow.status}}")],
            value="1",
        ),
    ]


def pipeline_template(settings: RenderSettings) -> WorkflowTemplate:
    """The WorkflowTemplate the CronWorkflow and `argo submit` start."""
    retention = settings.retention
    with WorkflowTemplate(
        name=PIPELINE_TEMPLATE,
        namespace=settings.namespace,
        labels=LABELS,
        entrypoint=ENTRYPOINT,
        on_exit=EXIT_HANDLER,
        arguments=[
            Parameter(name=name, value=default, description=description)
            for name, default, description in WORKFLOW_PARAMETERS
        ],
        service_account_name=SERVICE_ACCOUNT,
        parallelism=settings.parallelism,
        synchronization=m.Synchronization(mutexes=[m.Mutex(name=MUTEX)]),
        pod_gc=m.PodGC(strategy=retention.pod_gc_strategy),
        ttl_strategy=m.TTLStrategy(
            seconds_after_success=retention.seconds_after_success,
            seconds_after_failure=retention.seconds_after_failure,
        ),
        archive_logs=settings.archive_logs or None,
        workflow_metadata=m.WorkflowMetadata(labels=LABELS),
        pod_metadata=m.Metadata(labels=LABELS),
        metrics=_workflow_metrics(),
    ) as template:
        main_dag()
        exit_handler()
    return template
