"""The library WorkflowTemplate: one container template per step, and nothing else.

Each template is the complete contract between Argo and one step's console script (the step's
`build_parser` in `steps/`): the image and command come from `common.infra.naming`, inputs become
command-line arguments, outputs are small files read with `valueFrom.path` (stdout stays clean
and unbounded lists never pass through `result`). The pipeline reaches these templates with
`templateRef`, so a template carries everything it needs itself: its volumes, its environment
and its security context. Which failed attempts are retried is `workflows.retry`'s decision:
75 (transient), Error attempts and pods the node ended; never bad data (65) or config (78).
A failed step's one-line error reaches the node message through the Kubernetes termination
message (`common/infra/termination.py`).
"""

from __future__ import annotations

from dataclasses import dataclass

from hera.workflows import (
    ConfigMapEnv,
    ConfigMapVolume,
    Container,
    EmptyDirVolume,
    Env,
    FieldEnv,
    Parameter,
    Resources,
    RetryStrategy,
    SecretEnv,
    WorkflowTemplate,
)
from hera.workflows import models as m

from xetra_etl.common.infra.naming import (
    CONFIG_PATH_IN_POD,
    OUTPUTS_DIR_IN_POD,
    POD_NAME_ENV,
    PROJECT,
    STEPS,
    console_script,
    image_ref,
)
from xetra_etl.workflows.retry import retry_expression
from xetra_etl.workflows.settings import (
    CONFIG_MAP,
    CONFIG_MAP_KEY,
    ENDPOINT_KEY,
    LIBRARY_TEMPLATE,
    REGION_KEY,
    RUN_AS_USER,
    S3_ACCESS_KEY_ID_KEY,
    S3_SECRET,
    S3_SECRET_ACCESS_KEY_KEY,
    STEP_RESOURCES,
    WEBHOOK_SECRET,
    WEBHOOK_SECRET_KEY,
    RenderSettings,
)

TMP_VOLUME = "tmp"
TMP_DIR = "/tmp"
CONFIG_DIR_IN_POD = CONFIG_PATH_IN_POD.rsplit("/", 1)[0]

DATES_FILE = f"{OUTPUTS_DIR_IN_POD}/dates.json"
SUMMARY_FILE = f"{OUTPUTS_DIR_IN_POD}/summary.json"


def _param(name: str) -> str:
    return f"{{{{inputs.parameters.{name}}}}}"


@dataclass(frozen=True)
class Output:
    """An output parameter read from a file the step writes."""

    name: str
    path: str
    # A missing summary must not fail a finished step; a missing date list must fail discover.
    default: str | None = None


@dataclass(frozen=True)
class StepSpec:
    """How one step is called: its input parameters, their flags and its output files."""

    step: str
    inputs: tuple[str, ...]
    output_flags: tuple[tuple[str, Output], ...]

    def args(self) -> list[str]:
        args = ["--config", CONFIG_PATH_IN_POD]
        for name in self.inputs:
            args += [f"--{name}", _param(name)]
        for flag, output in self.output_flags:
            args += [flag, output.path]
        return args


SUMMARY = Output("summary", SUMMARY_FILE, default="{}")

STEP_SPECS: dict[str, StepSpec] = {
    "discover": StepSpec(
        "discover",
        ("first-date", "last-date", "chunk-size", "run-id"),
        (("--dates-out", Output("dates", DATES_FILE)), ("--summary-out", SUMMARY)),
    ),
    "extract": StepSpec("extract", ("dates", "run-id"), (("--out", SUMMARY),)),
    "transform": StepSpec("transform", ("dates", "run-id"), (("--out", SUMMARY),)),
    "load": StepSpec("load", ("dates", "run-id"), (("--out", SUMMARY),)),
    "merge": StepSpec("merge", ("run-id",), (("--out", SUMMARY),)),
    "notify": StepSpec("notify", ("run-id", "status", "failures"), (("--out", SUMMARY),)),
}
assert tuple(STEP_SPECS) == STEPS, "every step in xetra_etl.common.infra.naming needs a spec here"


StepEnv = Env | SecretEnv | ConfigMapEnv | FieldEnv


def _config_map_env(name: str, key: str) -> ConfigMapEnv:
    return ConfigMapEnv(name=name, config_map_name=CONFIG_MAP, config_map_key=key, optional=True)


def step_env(step: str) -> list[StepEnv]:
    """JSON logs, a writable HOME, S3 credentials from a Secret and the endpoint from config."""
    env: list[StepEnv] = [
        Env(name="XETRA_LOG_FORMAT", value="json"),
        Env(name="HOME", value=TMP_DIR),
        Env(name="PYTHONDONTWRITEBYTECODE", value="1"),
        SecretEnv(name="AWS_ACCESS_KEY_ID", secret_name=S3_SECRET, secret_key=S3_ACCESS_KEY_ID_KEY),
        SecretEnv(
            name="AWS_SECRET_ACCESS_KEY", secret_name=S3_SECRET, secret_key=S3_SECRET_ACCESS_KEY_KEY
        ),
        _config_map_env("AWS_ENDPOINT_URL", ENDPOINT_KEY),
        _config_map_env("AWS_REGION", REGION_KEY),
        # Named in a failed date's failure record (common/app/failure_records.py).
        FieldEnv(name=POD_NAME_ENV, field_path="metadata.name"),
    ]
    if step == "notify":
        # Optional: without the Secret (or its key) the variable is unset and notify does nothing.
        env.append(
            SecretEnv(
                name="XETRA_WEBHOOK_URL",
                secret_name=WEBHOOK_SECRET,
                secret_key=WEBHOOK_SECRET_KEY,
                optional=True,
            )
        )
    return env


def _security_context() -> m.SecurityContext:
    return m.SecurityContext(
        run_as_non_root=True,
        run_as_user=RUN_AS_USER,
        run_as_group=RUN_AS_USER,
        read_only_root_filesystem=True,
        allow_privilege_escalation=False,
        capabilities=m.Capabilities(drop=["ALL"]),
        seccomp_profile=m.SeccompProfile(type="RuntimeDefault"),
    )


def _volumes() -> list[ConfigMapVolume | EmptyDirVolume]:
    """The config read-only at its directory and a writable /tmp; Hera mounts each volume.

    Hera's ConfigMapVolume names the volume after the ConfigMap it mounts.
    """
    return [
        ConfigMapVolume(
            name=CONFIG_MAP,
            items=[m.KeyToPath(key=CONFIG_MAP_KEY, path=CONFIG_MAP_KEY)],
            mount_path=CONFIG_DIR_IN_POD,
            read_only=True,
        ),
        EmptyDirVolume(name=TMP_VOLUME, mount_path=TMP_DIR),
    ]


def _retry_strategy(settings: RenderSettings) -> RetryStrategy:
    policy = settings.retry
    return RetryStrategy(
        limit=str(policy.limit),  # a string: the schemas accept only a string for IntOrString
        expression=retry_expression(),
        backoff=m.Backoff(
            duration=policy.backoff_duration,
            factor=m.IntOrString(str(policy.backoff_factor)),
            cap=policy.backoff_cap,
            max_duration=policy.backoff_max_duration,
        ),
    )


def _resources(step: str) -> Resources:
    res = STEP_RESOURCES[step]
    return Resources(
        cpu_request=res.cpu_request,
        memory_request=res.memory_request,
        cpu_limit=res.cpu_limit,
        memory_limit=res.memory_limit,
    )


def _outputs(spec: StepSpec) -> list[Parameter]:
    return [
        Parameter(name=out.name, value_from=m.ValueFrom(path=out.path, default=out.default))
        for _, out in spec.output_flags
    ]


def step_template(step: str, settings: RenderSettings) -> Container:
    """The container template that runs one step's console script in its image."""
    spec = STEP_SPECS[step]
    return Container(
        name=step,
        labels={"app.kubernetes.io/name": PROJECT, "app.kubernetes.io/component": step},
        image=image_ref(step, registry=settings.registry, tag=settings.tag),
        image_pull_policy="IfNotPresent",
        command=[console_script(step)],
        args=spec.args(),
        inputs=[Parameter(name=name) for name in spec.inputs],
        outputs=_outputs(spec),
        env=step_env(step),
        resources=_resources(step),
        security_context=_security_context(),
        volumes=_volumes(),
        retry_strategy=_retry_strategy(settings),
        active_deadline_seconds=str(STEP_RESOURCES[step].deadline_seconds),
    )


def library_template(settings: RenderSettings) -> WorkflowTemplate:
    """All step templates in one WorkflowTemplate, referenced by the pipeline with templateRef."""
    return WorkflowTemplate(
        name=LIBRARY_TEMPLATE,
        namespace=settings.namespace,
        labels={"app.kubernetes.io/name": PROJECT, "app.kubernetes.io/component": "library"},
        templates=[step_template(step, settings) for step in STEPS],
    )
