"""Everything a rendered manifest depends on that a deployment may want to change.

One frozen value object instead of module globals, so rendering is a pure function of its
settings: the same settings always give byte-identical YAML (the committed manifests test relies
on it), and a test can render a variant without patching anything.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from xetra_etl.common.infra.naming import DEFAULT_REGISTRY, PROJECT, version

DEFAULT_NAMESPACE = "xetra"

LIBRARY_TEMPLATE = f"{PROJECT}-steps"
PIPELINE_TEMPLATE = PROJECT
CRON_WORKFLOW = f"{PROJECT}-weekly"

# Kubernetes objects the manifests refer to; created by the deployment (minikube/), not here.
CONFIG_MAP = f"{PROJECT}-config"
CONFIG_MAP_KEY = "config.yaml"
# Optional ConfigMap keys for the S3 endpoint and region (boto3 reads AWS_ENDPOINT_URL, AWS_REGION).
ENDPOINT_KEY = "aws-endpoint-url"
REGION_KEY = "aws-region"
S3_SECRET = f"{PROJECT}-s3"
S3_ACCESS_KEY_ID_KEY = "access-key-id"
S3_SECRET_ACCESS_KEY_KEY = "secret-access-key"
WEBHOOK_SECRET = f"{PROJECT}-webhook"
WEBHOOK_SECRET_KEY = "url"
SERVICE_ACCOUNT = PROJECT

# The one mutex every run of the pipeline takes, so the weekly run and a backfill never overlap.
MUTEX = f"{PROJECT}-run"

# Non-root identity the step images run as (images/ must create no files it cannot read).
RUN_AS_USER = 10001

SECONDS_PER_DAY = 86_400


@dataclass(frozen=True)
class Resources:
    """Requests and limits of one step container (Kubernetes quantity strings)."""

    cpu_request: str
    memory_request: str
    cpu_limit: str
    memory_limit: str
    deadline_seconds: int


SMALL = Resources("100m", "128Mi", "500m", "512Mi", deadline_seconds=1800)
LARGE = Resources("500m", "1Gi", "2", "3Gi", deadline_seconds=7200)

STEP_RESOURCES: dict[str, Resources] = {
    "discover": SMALL,
    "extract": LARGE,
    "transform": LARGE,
    "load": SMALL,
    "merge": SMALL,
    "notify": SMALL,
}


@dataclass(frozen=True)
class Retention:
    """How long finished runs stay; failed runs stay long enough for someone to press Retry."""

    seconds_after_success: int = 2 * SECONDS_PER_DAY
    seconds_after_failure: int = 7 * SECONDS_PER_DAY
    pod_gc_strategy: str = "OnPodSuccess"  # failed pods (and their logs) stay with the workflow
    cron_successful_history: int = 3
    cron_failed_history: int = 10


@dataclass(frozen=True)
class RetryPolicy:
    """Retry of a step pod: only the transient exit code, with exponential backoff.

    `backoff_cap` bounds one wait between attempts (Argo v3.7.0+). `backoff_max_duration`
    is something else: a deadline counted from the first attempt's start, after which Argo
    neither retries nor lets a retried pod run on (`processNodeRetries`, v4.0.10). Steps may
    run 7,200 s, so no such deadline is set by default.
    """

    limit: int = 3
    backoff_duration: str = "30s"
    backoff_factor: int = 2
    backoff_cap: str | None = "15m"
    backoff_max_duration: str | None = None


@dataclass(frozen=True)
class Schedule:
    """When the CronWorkflow starts the pipeline."""

    schedules: tuple[str, ...] = ("0 6 * * 1",)  # Mondays 06:00
    timezone: str = "Europe/Berlin"
    starting_deadline_seconds: int = 3600


@dataclass(frozen=True)
class RenderSettings:
    """The inputs of one render: where images come from and where the manifests go."""

    registry: str = DEFAULT_REGISTRY
    tag: str = field(default_factory=version)
    namespace: str = DEFAULT_NAMESPACE
    parallelism: int = 8
    # Keep every pod's log in the artifact repository (the UI shows it after pod GC). Needs a
    # repository on the cluster: without one Argo ends every step in Error (workflows/README.md).
    archive_logs: bool = True
    retention: Retention = field(default_factory=Retention)
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    schedule: Schedule = field(default_factory=Schedule)
