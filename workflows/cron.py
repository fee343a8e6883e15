"""The CronWorkflow `xetra-etl-weekly`: the pipeline every Monday morning, Berlin time.

It only references the pipeline template (`workflowTemplateRef`), so the schedule can never drift
from what `argo submit` runs. `concurrencyPolicy: Forbid` skips a start while last week's run is
still going; failed runs are kept (failedJobsHistoryLimit) so they can be retried from the UI.
"""

from __future__ import annotations

from hera.workflows import CronWorkflow
from hera.workflows import models as m

from xetra_etl.common.infra.naming import PROJECT
from xetra_etl.workflows.settings import CRON_WORKFLOW, PIPELINE_TEMPLATE, RenderSettings


def weekly_cron(settings: RenderSettings) -> CronWorkflow:
    """Weekly run with default parameters: discover finds every date not yet done up to today."""
    schedule = settings.schedule
    labels = {"app.kubernetes.io/name": PROJECT, "app.kubernetes.io/component": "cron"}
    return CronWorkflow(
        name=CRON_WORKFLOW,
        namespace=settings.namespace,
        labels=labels,
        schedules=list(schedule.schedules),
        timezone=schedule.timezone,
        concurrency_policy="Forbid",
        starting_deadline_seconds=schedule.starting_deadline_seconds,
        successful_jobs_history_limit=settings.retention.cron_successful_history,
        failed_jobs_history_limit=settings.retention.cron_failed_history,
        workflow_metadata=m.WorkflowMetadata(labels=labels),
        workflow_template_ref=m.WorkflowTemplateRef(name=PIPELINE_TEMPLATE),
    )
