"""A small interpreter of the Argo features our manifests use, for tests without a cluster.

Models Argo Workflows v4.0.10 (argoproj/argo-workflows at tag v4.0.10; v3.7.18 behaves the same
for everything below). Each rule names the controller function it follows, so a reader can check
it against the source; `tests/argo_sim/conformance/` runs cases taken from Argo's own tests.

Why: the rendered templates wire steps together through parameters, file outputs and
dependencies; a typo there (a wrong output name, a merge that waits for the wrong task) only shows
on a cluster. This double runs the real YAML with each container's command as a local process
(or through a pluggable runner, e.g. inside a container image), so a test sees what Argo would do.

Modelled (anything else raises `UnsupportedFeature`, so the double never silently diverges):
- WorkflowTemplates submitted by name, `spec.arguments.parameters` overridden at submit,
  `entrypoint`, `onExit` (run after the main DAG with `{{workflow.status}}` and
  `{{workflow.failures}}`; a failed exit handler fails the workflow, as in Argo);
- `dag` templates: tasks with `depends` (`.Succeeded/.Failed/.Errored/.Skipped/.Omitted/
  .Daemoned`, and `.AnySucceeded/.AllFailed`, which the controller computes for TaskGroups only,
  `evaluateDependsLogic` in dag.go; `&&`, `||`, `!`, parentheses) or `dependencies`; `failFast`
  in waves (every task whose dependencies are done starts in one pass, as `executeDAG` does; a
  fan-out's items all run; after a failed wave only Omitted nodes are created);
  `withParam` over a JSON list (an empty list: Skipped; a `null` item: rejected, as
  `processItem` does); nested DAGs; `template` and `templateRef`;
  item node names as `processItem` and `generateNodeName` (operator.go) make them:
  `task(i:item)`, parentheses stripped, a map as its sorted `key:value` pairs, a list as Go
  prints a slice of Items (`[1 two 3]`), anything else as `Item.String`;
- DAG phases as `assessDAGPhase` (dag.go) derives them: Failed or Error of a branch wins;
- `container` templates: command, args, env, `volumes`/`volumeMounts` (emptyDir: a fresh local
  directory per attempt; anything else must be mapped with `path_map`), output parameters
  `valueFrom.path` (+ `default`), trimmed of exactly one trailing newline (`SaveParameters`,
  executor.go);
- the Kubernetes termination message: the file at `/dev/termination-log` (mapped to a local file
  per attempt) is appended to the node message as `inferFailedReason` (operator.go) does:
  `main: Error (exit code 65): <message>`;
- `archiveLogs` against the configured artifact repository (`IsArchiveLogs`/`addArchiveLocation`,
  workflowpod.go): with none configured the wait container fails to save the log and the node
  ends in Error even though main exited 0;
- `retryStrategy` as `processNodeRetries` (operator.go) runs it: a Retry node with `name(0)`,
  `name(1)` children; `limit`; `retryPolicy` (Always when an expression is set, else OnFailure);
  an `expression` over `lastRetry.exitCode` ("-1" when there is none), `lastRetry.status`,
  `lastRetry.message`, `retries`; `backoff.duration/factor/cap`, waited *before* the policy, the
  limit and the expression are looked at; `backoff.maxDuration` as a deadline from the first
  attempt's start, which also bounds every later attempt (ARGO_DEADLINE);
- how a pod that did not succeed ends (`inferFailedReason`, operator.go): main's exit code and
  terminated reason (`OOMKilled`), a pod message set by Kubernetes (an eviction: Failed), a
  failed init or wait container (Error), a deleted pod (Error, "pod deleted");
- `{{workflow.status}}` (Running) and `{{workflow.duration}}` in every template
  (`setGlobalRuntimeParameters`); the downward API's `metadata.name`; of expression tags only
  the size guard `{{=len(v) <= N ? v : 'text'}}`;
- `activeDeadlineSeconds` of a template; all time on a virtual clock (a runner reports how long an
  attempt took), so no test sleeps;
- pod names as `GeneratePodName` (workflow/util/pod_name.go, v2) derives them;
- `{{workflow.failures}}` as `operate` (operator.go, `failedNodeStatus`) builds it: every Failed
  or Error node, with displayName, message, templateName, phase, podName and finishedAt, as a
  JSON list passed through `strconv.Quote`;
- `retry(failed_only=True)` like `argo retry` (`FormulateRetryWorkflow`, workflow/util/util.go):
  pods that succeeded keep their outputs and are not run again; failed or errored pods, the nodes
  above them and everything depending on them run again; the exit handler runs again.

Accepted and ignored (they change scheduling, not results): parallelism, synchronization, podGC,
ttlStrategy, metrics, serviceAccountName, metadata, resources, securityContext, imagePullPolicy.
Tasks run one at a time on the virtual clock, wave after wave, in declaration order.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

SUCCEEDED, FAILED, ERROR, OMITTED, SKIPPED = "Succeeded", "Failed", "Error", "Omitted", "Skipped"

Doc = Mapping[str, Any]

ARGO_VERSION = "v4.0.10"
TERMINATION_LOG = "/dev/termination-log"  # Kubernetes' default terminationMessagePath
TERMINATION_MESSAGE_LIMIT = 4096  # the kubelet keeps at most this many bytes
# workflow_types.go (ArtifactRepository.ToArtifactLocation with no repository), v4.0.10:
NO_ARTIFACT_REPOSITORY = (
    "artifact storage is not configured; see the docs for setup instructions: "
    "https://argo-workflows.readthedocs.io/en/latest/configure-artifact-repository/"
)
ARGOEXEC_ERROR = 64  # argoexec exits so on an error not from its child (cmd/argoexec/main.go)
DEADLINE_MESSAGE = "Step exceeded its deadline"  # executor.go monitorDeadline, v4.0.10
EPOCH = dt.datetime(2021, 1, 4, 5, 0, tzinfo=dt.UTC)  # where the virtual clock starts

TEMPLATE_KEYS = {
    "name", "inputs", "outputs", "container", "dag", "retryStrategy", "metadata", "volumes",
    "activeDeadlineSeconds", "metrics", "failFast",
}  # fmt: skip
TASK_KEYS = {"name", "template", "templateRef", "arguments", "depends", "dependencies", "withParam"}
CONTAINER_KEYS = {
    "image", "imagePullPolicy", "command", "args", "env", "resources", "securityContext",
    "volumeMounts", "name",
}  # fmt: skip
SPEC_KEYS = {
    "entrypoint", "onExit", "arguments", "templates", "parallelism", "synchronization", "podGC",
    "ttlStrategy", "metrics", "archiveLogs", "serviceAccountName", "workflowMetadata",
    "podMetadata",
}  # fmt: skip
BACKOFF_KEYS = {"duration", "factor", "cap", "maxDuration"}


class UnsupportedFeature(Exception):
    """The manifest uses something this double does not model; extend it or change the YAML."""


class WorkflowError(Exception):
    """What Argo would reject at runtime: an unresolved variable, a missing template or input."""


@dataclass(frozen=True)
class ContainerRun:
    """One attempt of one pod, in the pod's own view plus the local directories behind its paths."""

    node: str
    image: str
    argv: tuple[str, ...]
    env: Mapping[str, str]
    mounts: Mapping[str, Path]  # pod path -> local path (longest prefix wins)
    workdir: Path

    def localize(self, value: str) -> str:
        """Rewrite a pod path (`/tmp/outputs/x.json`) to its local path; other strings unchanged."""
        for prefix in sorted(self.mounts, key=len, reverse=True):
            if value == prefix or value.startswith(prefix.rstrip("/") + "/"):
                return str(self.mounts[prefix]) + value[len(prefix) :]
        return value

    def local_argv(self) -> list[str]:
        return [self.localize(arg) for arg in self.argv]

    def local_env(self) -> dict[str, str]:
        return {name: self.localize(value) for name, value in self.env.items()}


@dataclass(frozen=True)
class RunOutcome:
    """How one attempt ended. `seconds` is its run time on the virtual clock.

    Besides the main container's exit code, what the kubelet reports for a pod that did not end
    by itself (read by `inferFailedReason`, operator.go): `reason`, the main container's
    terminated reason (`OOMKilled` when the kernel killed it at its memory limit);
    `pod_message`, the message Kubernetes sets on a pod it ends (an eviction: "The node was low
    on resource: memory. ..."); `container`, which container failed (`init` or `wait` make the
    attempt an Error); `deleted`, a pod that vanished (node loss: "pod deleted", Error). An
    `exit_code` of None means main has no terminated state (it never ran).
    """

    exit_code: int | None
    stdout: str = ""
    stderr: str = ""
    seconds: float = 0.0
    reason: str = "Error"
    pod_message: str = ""
    container: str = "main"
    deleted: bool = False


Runner = Callable[[ContainerRun], RunOutcome]


def host_runner(run: ContainerRun, timeout: float = 600) -> RunOutcome:
    """Run the pod's command on this machine with only its own env (and the host PATH, led by
    the directory of this interpreter, where the project's console scripts are installed)."""
    host_path = os.pathsep.join(
        [os.path.dirname(sys.executable), os.environ.get("PATH", "/usr/bin:/bin")]
    )
    # PATH is the host's: the pod's view of it means nothing here (and a host PATH entry under
    # /tmp must not be mistaken for a path inside the pod's /tmp mount).
    env = {**run.local_env(), "PATH": host_path}
    proc = subprocess.run(
        run.local_argv(),
        env=env,
        cwd=run.workdir,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return RunOutcome(proc.returncode, proc.stdout, proc.stderr)


@dataclass
class Node:
    """One node of the workflow's status tree, named like Argo names it."""

    name: str
    display_name: str
    type: str  # Pod, Retry, DAG, TaskGroup, Skipped (also for Omitted nodes, as in Argo)
    template: str
    phase: str
    message: str = ""
    children: list[str] = field(default_factory=list)
    exit_codes: list[int] = field(default_factory=list)  # Pod: its own; Retry: one per attempt
    outputs: dict[str, str] = field(default_factory=dict)
    stderr: str = ""
    reused: bool = False  # kept from the previous run by retry()
    started_at: float = 0.0  # virtual seconds
    finished_at: float = 0.0
    pod_name: str = ""


@dataclass(frozen=True)
class _Scope:
    """The WorkflowTemplate whose templates a local `template:` name resolves in."""

    doc: Doc

    def template(self, name: str) -> dict[str, Any]:
        for tmpl in self.doc["spec"]["templates"]:
            if tmpl["name"] == name:
                return dict(tmpl)
        raise WorkflowError(f"template {name!r} not found in {self.doc['metadata']['name']}")


_VAR = re.compile(r"\{\{\s*([^{}]+?)\s*\}\}")
_DEPENDS_TOKEN = re.compile(r"\s*(\(|\)|&&|\|\||!|[A-Za-z0-9_-]+(?:\.[A-Za-z]+)?)")
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(h|ms|m|s)")
_RETRY_TERM = re.compile(
    r"\s*(asInt\(lastRetry\.exitCode\)|lastRetry\.exitCode|lastRetry\.status|"
    r"lastRetry\.message|retries|asInt\(retries\)|true|false|startsWith|in|-?\d+|'[^']*'|"
    r"\"(?:[^\"\\]|\\.)*\"|==|!=|<=|>=|<|>|&&|\|\||!|\(|\)|\[|\]|,)"
)


_SIZE_GUARD = re.compile(r"=len\(([\w.]+)\) <= (\d+) \? ([\w.]+) : '([^']*)'")


def expression_tag(body: str, variables: Mapping[str, str]) -> str:
    """`{{=...}}` (util/template/expression_template.go): only the size guard
    `len(var) <= N ? var : 'text'` is modelled; the result goes in as the string it is."""
    match = _SIZE_GUARD.fullmatch(body)
    if not match or match.group(1) != match.group(3):
        raise UnsupportedFeature(f"expression tag {{{{{body}}}}}")
    name = match.group(1)
    if name not in variables:
        raise WorkflowError(f"unresolved variable {name} in {{{{{body}}}}}")
    value = variables[name]
    return value if len(value) <= int(match.group(2)) else match.group(4)


def substitute(text: str, variables: Mapping[str, str]) -> str:
    """Replace every `{{var}}`; raise on any variable Argo could not resolve either."""

    def one(match: re.Match[str]) -> str:
        key = match.group(1)
        if key.startswith("="):
            return expression_tag(key, variables)
        if key not in variables:
            raise WorkflowError(f"unresolved variable {{{{{key}}}}} in {text!r}")
        return variables[key]

    return _VAR.sub(one, text)


def parse_duration(text: str | int) -> float:
    """`wfv1.ParseStringToDuration`: a plain number is seconds, else Go duration units."""
    value = str(text).strip()
    if re.fullmatch(r"\d+", value):
        return float(value)
    pos, total = 0, 0.0
    for match in _DURATION.finditer(value):
        if match.start() != pos:
            break
        number, unit = float(match.group(1)), match.group(2)
        total += number * {"h": 3600, "m": 60, "s": 1, "ms": 0.001}[unit]
        pos = match.end()
    if pos != len(value) or not value:
        raise UnsupportedFeature(f"duration {value!r}")
    return total


def go_quote(text: str) -> str:
    """`strconv.Quote` of JSON text (json.Marshal leaves only printable ASCII escapes in it)."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def go_json(value: Any) -> str:
    """`json.Marshal` as Go prints it: compact, map keys sorted, `<`, `>`, `&`, U+2028 and
    U+2029 escaped, other non-ASCII characters as they are."""
    text = json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
    for char, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        text = text.replace(char, escaped)
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def item_string(value: Any) -> str:
    """`Item.String` (pkg/apis/workflow/v1alpha1/item.go): `json.Marshal`, then for a string the
    surrounding quotes dropped (its escapes stay: `a"b` is `a\\"b`), then `jsonutil.Fix`
    (util/json/fix.go) turns `\\u003c`, `\\u003e`, `\\u0026` back into `<`, `>`, `&`."""
    text = go_json(value)
    if isinstance(value, str):
        text = text[1:-1]
    for escaped, char in (("\\u003c", "<"), ("\\u003e", ">"), ("\\u0026", "&")):
        text = text.replace(escaped, char)
    return text


def item_label(index: int, item: Any) -> str:
    """What `processItem` (operator.go) hands `generateNodeName` for one withParam item: a map
    as its sorted `key:value` pairs, a list as Go prints a slice of Items, anything else as
    `Item.String`; a null is rejected."""
    if item is None:
        raise WorkflowError(
            f"withItems[{index}] expected string, number, list, or map. received: null"
        )
    if isinstance(item, dict):
        return ",".join(sorted(f"{k}:{item_string(v)}" for k, v in item.items()))
    if isinstance(item, list):
        return "[" + " ".join(item_string(v) for v in item) + "]"
    return item_string(item)


def generate_node_name(name: str, index: int, label: str) -> str:
    """`generateNodeName` (operator.go): parentheses stripped from the printed item."""
    clean = label.replace("(", "").replace(")", "")
    return f"{name}({index}:{clean})"


def fnv32a(data: str) -> int:
    value = 0x811C9DC5
    for byte in data.encode():
        value = ((value ^ byte) * 0x01000193) & 0xFFFFFFFF
    return value


def pod_name(workflow: str, node_name: str, template: str) -> str:
    """`GeneratePodName` (workflow/util/pod_name.go, pod names v2, the default)."""
    if workflow == node_name:
        return workflow
    prefix = f"{workflow}-{template}" if template else workflow
    return f"{prefix[:242]}-{fnv32a(node_name)}"


def _task_result(node: Node | None, result: str, nodes: Mapping[str, Node]) -> bool:
    if node is None:
        return False
    phase = node.phase
    # evaluateDependsLogic (dag.go): AnySucceeded/AllFailed are computed for TaskGroups only.
    group = [nodes[c].phase for c in node.children] if node.type == "TaskGroup" else []
    checks = {
        "": phase in (SUCCEEDED, SKIPPED),
        "Succeeded": phase == SUCCEEDED,
        "Failed": phase == FAILED,
        "Errored": phase == ERROR,
        "Skipped": phase == SKIPPED,
        "Omitted": phase == OMITTED,
        "Daemoned": False,
        "AnySucceeded": SUCCEEDED in group,
        "AllFailed": bool(group) and all(p == FAILED for p in group),
    }
    if result not in checks:
        raise UnsupportedFeature(f"depends result .{result}")
    return checks[result]


def evaluate_depends(expr: str, results: Mapping[str, Node], nodes: Mapping[str, Node]) -> bool:
    """Evaluate an Argo `depends` expression over the task nodes finished so far."""
    pos, parts = 0, []
    while pos < len(expr.rstrip()):
        match = _DEPENDS_TOKEN.match(expr, pos)
        if not match:
            raise UnsupportedFeature(f"depends syntax: {expr!r}")
        token, pos = match.group(1), match.end()
        if token in ("(", ")"):
            parts.append(token)
        elif token in ("&&", "||", "!"):
            parts.append({"&&": " and ", "||": " or ", "!": " not "}[token])
        else:
            task, _, result = token.partition(".")
            parts.append(str(_task_result(results.get(task), result, nodes)))
    return bool(eval("".join(parts), {"__builtins__": {}}))  # only True/False/and/or/not here


def evaluate_retry_expression(expr: str, scope: Mapping[str, str]) -> bool:
    """The subset of expr-lang that retry expressions use: `lastRetry.exitCode` (a string,
    "-1" without an exit code), `asInt(...)`, `lastRetry.status`, `lastRetry.message`,
    `retries`, comparisons, `in [..]` over a list literal, `startsWith` between a variable and
    a string literal, and boolean operators. Anything else raises `UnsupportedFeature`."""
    pos, parts = 0, list[str]()
    body = expr.strip()
    starts_with = False
    while pos < len(body):
        match = _RETRY_TERM.match(body, pos)
        if not match:
            raise UnsupportedFeature(f"retry expression {expr!r}")
        token, pos = match.group(1), match.end()
        if token == "asInt(lastRetry.exitCode)":
            part = str(int(scope["lastRetry.exitCode"]))
        elif token in ("lastRetry.exitCode", "lastRetry.status", "lastRetry.message", "retries"):
            part = repr(scope[token])
        elif token == "asInt(retries)":
            part = str(int(scope["retries"]))
        elif token in ("&&", "||", "!", "true", "false"):
            part = {"&&": "and", "||": "or", "!": "not", "true": "True", "false": "False"}[token]
        elif token == "startsWith":
            if not parts or not parts[-1].startswith(("'", '"')):
                raise UnsupportedFeature(f"startsWith after a non-string in {expr!r}")
            parts[-1] = f"({parts[-1]}).startswith("
            starts_with = True
            continue
        elif token.startswith('"'):
            part = repr(json.loads(token))
        else:
            part = token
        if starts_with:
            if not part.startswith(("'", '"')):
                raise UnsupportedFeature(f"startsWith a non-literal in {expr!r}")
            part, starts_with = parts.pop() + part + ")", False
        parts.append(part)
    return bool(eval(" ".join(parts), {"__builtins__": {}}))  # literals and operators only


def _depends_of(task: Mapping[str, Any]) -> str | None:
    if "depends" in task:
        return str(task["depends"])
    if task.get("dependencies"):
        return " && ".join(task["dependencies"])
    return None


def _dependency_names(task: Mapping[str, Any]) -> set[str]:
    expr = _depends_of(task) or ""
    names = re.findall(r"[A-Za-z0-9_-]+(?:\.[A-Za-z]+)?", expr)
    return {name.split(".")[0] for name in names}


def _item_text(item: Any) -> str:
    """`{{item}}` as processItem substitutes it: a string as is, a number or boolean as
    `Item.String`, a map or list as `json.Marshal` prints it (escapes kept)."""
    if isinstance(item, str):
        return item
    if isinstance(item, dict | list):
        return go_json(item)
    return item_string(item)


def _check_keys(kind: str, mapping: Mapping[str, Any], allowed: set[str]) -> None:
    unknown = set(mapping) - allowed
    if unknown:
        raise UnsupportedFeature(f"{kind} fields not modelled: {sorted(unknown)}")


def _worst(phases: Iterable[str]) -> str:
    """The phase a group of finished nodes gives its parent: a failure wins, the last one seen
    (`completableTaskGroupPhase` / `assessDAGPhase`, dag.go)."""
    result = SUCCEEDED
    for phase in phases:
        if phase in (FAILED, ERROR):
            result = phase
    return result


class ArgoSim:
    """Submit one WorkflowTemplate by name and run it to completion, like the controller would.

    `artifact_repository`: the repository the controller would resolve for this namespace (see
    `tests.argo_sim.cluster`), or None when the cluster configures none.
    """

    def __init__(
        self,
        documents: Iterable[Doc],
        *,
        submit: str,
        work_dir: Path,
        parameters: Mapping[str, str] | None = None,
        name: str = "sim-run",
        env: Mapping[str, str] | None = None,
        path_map: Mapping[str, Path] | None = None,
        runner: Runner = host_runner,
        artifact_repository: Mapping[str, Any] | None = None,
    ) -> None:
        self.templates = {
            doc["metadata"]["name"]: doc for doc in documents if doc["kind"] == "WorkflowTemplate"
        }
        if submit not in self.templates:
            raise WorkflowError(f"no WorkflowTemplate named {submit!r}")
        self.entry = self.templates[submit]
        _check_keys("spec", self.entry["spec"], SPEC_KEYS)
        self.name = name
        self.work_dir = work_dir
        self.env = dict(env or {})
        self.path_map = dict(path_map or {})
        self.runner = runner
        self.artifact_repository = artifact_repository
        self.parameters = self._workflow_parameters(parameters or {})
        self.nodes: dict[str, Node] = {}
        self.phase: str | None = None
        self.runs: list[ContainerRun] = []  # every runner call, in order
        self.clock = 0.0  # virtual seconds since EPOCH
        self.failures_value = ""  # the last `{{workflow.failures}}`, as the exit handler saw it
        self._previous: dict[str, Node] = {}
        self._globals: dict[str, str] = {}
        self._started = 0.0

    # -- public API ------------------------------------------------------------------------
    def run(self) -> str:
        """Run the workflow from scratch; returns its phase (Succeeded, Failed or Error)."""
        self._previous = {}
        return self._execute()

    def retry(self, failed_only: bool = True) -> str:
        """Like `argo retry`: keep succeeded pods (all rerun if not `failed_only`), run the rest.

        `FormulateRetryWorkflow` (workflow/util/util.go): Failed/Error pods are deleted, their
        ancestors (Retry node, item DAG, TaskGroup, root) reset to Running and rerun, the onExit
        node deleted. A succeeded pod under a Retry node is kept with its Retry node.
        """
        if self.phase is None:
            raise WorkflowError("retry before run")
        if self.phase == SUCCEEDED and failed_only:
            raise WorkflowError("argo retry refuses a Succeeded workflow")
        exit_prefix = f"{self.name}.onExit"
        self._previous = {
            name: node
            for name, node in self.nodes.items()
            if failed_only
            and node.type in ("Pod", "Retry")
            and node.phase == SUCCEEDED
            and not name.startswith(exit_prefix)
        }
        for node in list(self._previous.values()):  # a kept Retry node keeps all its attempts
            self._previous.update({c: self.nodes[c] for c in node.children if node.type == "Retry"})
        return self._execute()

    def by_display_name(self, display_name: str) -> list[Node]:
        return [n for n in self.nodes.values() if n.display_name == display_name]

    def phases(self) -> dict[str, str]:
        """Node name -> phase, for assertions."""
        return {name: node.phase for name, node in self.nodes.items()}

    def failures(self) -> list[dict[str, Any]]:
        """What `operate` (operator.go, v4.0.10) collects for `{{workflow.failures}}`: every
        Failed or Error node, whatever its type (the order is Go's map order: unspecified)."""
        return [
            {
                "displayName": n.display_name,
                "message": n.message,
                "templateName": n.template,
                "phase": n.phase,
                "podName": pod_name(self.name, n.name, n.template),
                "finishedAt": self._timestamp(n.finished_at),
            }
            for n in self.nodes.values()
            if n.phase in (FAILED, ERROR)
        ]

    def now(self) -> dt.datetime:
        return EPOCH + dt.timedelta(seconds=self.clock)

    # -- workflow --------------------------------------------------------------------------
    @staticmethod
    def _timestamp(seconds: float) -> str:
        return (EPOCH + dt.timedelta(seconds=int(seconds))).strftime("%Y-%m-%dT%H:%M:%SZ")

    def _workflow_parameters(self, overrides: Mapping[str, str]) -> dict[str, str]:
        declared = self.entry["spec"].get("arguments", {}).get("parameters", [])
        values = {p["name"]: str(p.get("value", "")) for p in declared}
        unknown = set(overrides) - set(values)
        if unknown:
            raise WorkflowError(f"unknown workflow parameters: {sorted(unknown)}")
        return {**values, **{k: str(v) for k, v in overrides.items()}}

    def _execute(self) -> str:
        self.nodes = {}
        self._started = self.clock
        # setGlobalRuntimeParameters (operator.go): status and duration exist for every template.
        self._globals = {"workflow.name": self.name, "workflow.status": "Running"}
        self._globals.update({f"workflow.parameters.{k}": v for k, v in self.parameters.items()})
        scope = _Scope(self.entry)
        spec = self.entry["spec"]
        main = self._template_node(scope, spec["entrypoint"], self.name, self.name, {})
        # operate (operator.go): Skipped and Omitted roots count as Succeeded.
        self.phase = main.phase if main.phase in (FAILED, ERROR) else SUCCEEDED
        if spec.get("onExit"):
            self.failures_value = go_quote(
                json.dumps(self.failures() or None, separators=(",", ":"))
            )
            self._globals["workflow.status"] = self.phase
            self._globals["workflow.failures"] = self.failures_value
            exit_name = f"{self.name}.onExit"
            handler = self._template_node(scope, spec["onExit"], exit_name, exit_name, {})
            # operate (operator.go): a failed exit handler turns a Succeeded run Failed/Error.
            if self.phase == SUCCEEDED and handler.phase in (FAILED, ERROR):
                self.phase = handler.phase
        return self.phase

    # -- templates -------------------------------------------------------------------------
    def _template_node(
        self,
        scope: _Scope,
        template_name: str,
        node_name: str,
        display: str,
        arguments: Mapping[str, str],
    ) -> Node:
        tmpl = scope.template(template_name)
        _check_keys("template", tmpl, TEMPLATE_KEYS)
        self._globals["workflow.duration"] = f"{self.clock - self._started:f}"
        inputs = self._inputs(tmpl, arguments)
        if "container" in tmpl:
            return self._retried_pod(tmpl, node_name, display, inputs)
        if "dag" in tmpl:
            if "retryStrategy" in tmpl:
                raise UnsupportedFeature("retryStrategy on a dag template")
            return self._dag(scope, tmpl, node_name, display, inputs)
        raise UnsupportedFeature(f"template {template_name!r} is neither container nor dag")

    @staticmethod
    def _inputs(tmpl: Mapping[str, Any], arguments: Mapping[str, str]) -> dict[str, str]:
        values = {}
        for param in tmpl.get("inputs", {}).get("parameters", []):
            pname = param["name"]
            if pname in arguments:
                values[pname] = arguments[pname]
            elif "value" in param or "default" in param:
                values[pname] = str(param.get("value", param.get("default")))
            else:
                raise WorkflowError(f"template {tmpl['name']}: input {pname!r} not supplied")
        return values

    def _resolve(self, scope: _Scope, task: Mapping[str, Any]) -> tuple[_Scope, str]:
        if "templateRef" in task:
            ref = task["templateRef"]
            if ref["name"] not in self.templates:
                raise WorkflowError(f"templateRef to unknown WorkflowTemplate {ref['name']!r}")
            return _Scope(self.templates[ref["name"]]), ref["template"]
        return scope, task["template"]

    # -- DAG -------------------------------------------------------------------------------
    def _dag(
        self,
        scope: _Scope,
        tmpl: Mapping[str, Any],
        node_name: str,
        display: str,
        inputs: dict[str, str],
    ) -> Node:
        dag = tmpl["dag"]
        _check_keys("dag", dag, {"tasks", "failFast", "target"})
        if "target" in dag:
            raise UnsupportedFeature("dag.target")
        node = Node(node_name, display, "DAG", tmpl["name"], SUCCEEDED, started_at=self.clock)
        self.nodes[node_name] = node
        local = {**self._globals, **{f"inputs.parameters.{k}": v for k, v in inputs.items()}}
        fail_fast = dag.get("failFast", True)
        results: dict[str, Node] = {}
        pending = list(dag["tasks"])
        stopped = False
        while pending:
            # executeDAG (dag.go) starts, in one pass, every task whose dependencies are done:
            # a wave. A failure stops only what would start after it (failFast: the DAG is
            # Failed as soon as a leaf's branch is, assessDAGPhase); the tasks of its own wave
            # already run and finish, as the fan-out's items do.
            # Once failFast has failed the DAG, the pass still creates the Omitted nodes below
            # the failure (executeDAGTask recurses from the leaves), but no new pod.
            ready = [
                t
                for t in pending
                if _dependency_names(t) <= set(results)
                and not (stopped and evaluate_depends(_depends_of(t) or "", results, self.nodes))
            ]
            if not ready:
                break
            failed = False
            for task in ready:
                pending.remove(task)
                _check_keys("task", task, TASK_KEYS)
                child = self._task(scope, task, f"{node_name}.{task['name']}", results, local)
                results[task["name"]] = child
                node.children.append(child.name)
                failed = failed or child.phase in (FAILED, ERROR)
            if failed and fail_fast and self._dag_phase(dag["tasks"], results, partial=True):
                stopped = True
        node.phase = self._dag_phase(dag["tasks"], results)
        node.finished_at = self.clock
        return node

    @staticmethod
    def _dag_phase(
        tasks: list[Mapping[str, Any]], results: Mapping[str, Node], *, partial: bool = False
    ) -> str:
        """`assessDAGPhase` (dag.go): the leaf tasks decide; an omitted leaf inherits the phase of
        the branch it hangs from, a Failed or Error branch wins. Tasks are visited in order.

        `partial`: while tasks are still to start, the phase failFast acts on: a leaf whose
        branch already failed (its descendants would be Omitted), else "" (still running)."""
        depended_on = set().union(*(_dependency_names(t) for t in tasks))
        branch: dict[str, str] = {}
        for task in tasks:
            name = task["name"]
            own = results.get(name)
            inherited = _worst(branch.get(dep, SUCCEEDED) for dep in _dependency_names(task))
            if own is not None and own.phase in (SUCCEEDED, FAILED, ERROR):
                branch[name] = own.phase
            else:
                branch[name] = inherited
        leaves = [t["name"] for t in tasks if t["name"] not in depended_on]
        if partial:
            failed = [branch[leaf] for leaf in leaves if branch[leaf] in (FAILED, ERROR)]
            return failed[0] if failed else ""
        return _worst(branch[leaf] for leaf in leaves)

    def _task(
        self,
        scope: _Scope,
        task: Mapping[str, Any],
        task_node: str,
        results: Mapping[str, Node],
        local: Mapping[str, str],
    ) -> Node:
        depends = _depends_of(task)
        if depends and not evaluate_depends(depends, results, self.nodes):
            # executeDAGTask (dag.go): a node of type Skipped in phase Omitted.
            node = Node(task_node, task["name"], "Skipped", "", OMITTED, started_at=self.clock)
            node.message = "omitted: depends condition not met"
            return self._record(node)
        variables = dict(local)
        for dep, dep_node in results.items():
            for key, value in dep_node.outputs.items():
                variables[f"tasks.{dep}.outputs.parameters.{key}"] = value
        target_scope, template_name = self._resolve(scope, task)
        if "withParam" not in task:
            args = self._arguments(task, variables)
            return self._template_node(target_scope, template_name, task_node, task["name"], args)
        text = substitute(task["withParam"], variables)
        try:
            items = json.loads(text)
        except json.JSONDecodeError as exc:
            raise WorkflowError(
                f"withParam value could not be parsed as a JSON list: {text}"
            ) from exc
        if not isinstance(items, list):
            raise WorkflowError(f"withParam of {task['name']} is not a JSON list: {items!r}")
        labels = [item_label(index, item) for index, item in enumerate(items)]
        if not items:
            node = Node(task_node, task["name"], "Skipped", template_name, SKIPPED)
            node.message = "Skipped, empty params"
            return self._record(node)
        group = self._record(Node(task_node, task["name"], "TaskGroup", template_name, SUCCEEDED))
        group.started_at = self.clock
        # expandTask (dag.go) creates every item's node in one pass; failFast stops none of them
        # and the TaskGroup's phase is set once all have finished (executeDAGTask).
        for index, item in enumerate(items):
            label = generate_node_name(task["name"], index, labels[index])
            args = self._arguments(task, {**variables, "item": _item_text(item)})
            child_name = f"{task_node.rsplit('.', 1)[0]}.{label}"
            child = self._template_node(target_scope, template_name, child_name, label, args)
            group.children.append(child.name)
            if child.phase in (FAILED, ERROR):
                group.phase = child.phase
        group.finished_at = self.clock
        return group

    @staticmethod
    def _arguments(task: Mapping[str, Any], variables: Mapping[str, str]) -> dict[str, str]:
        params = task.get("arguments", {}).get("parameters", [])
        return {p["name"]: substitute(str(p.get("value", "")), variables) for p in params}

    def _record(self, node: Node) -> Node:
        self.nodes[node.name] = node
        return node

    # -- pods and their retries ------------------------------------------------------------
    def _retried_pod(
        self, tmpl: Mapping[str, Any], node_name: str, display: str, inputs: dict[str, str]
    ) -> Node:
        strategy = tmpl.get("retryStrategy")
        if not strategy:
            return self._pod(tmpl, node_name, display, inputs, deadline=None)
        previous = self._previous.get(node_name)
        if previous is not None:
            for kept in previous.children:
                self._record(replace(self._previous[kept], reused=True))
            return self._record(replace(previous, reused=True))
        _check_keys("retryStrategy", strategy, {"limit", "expression", "backoff", "retryPolicy"})
        if "expression" in strategy:  # inputs are substituted before the expression is evaluated
            local = {**self._globals, **{f"inputs.parameters.{k}": v for k, v in inputs.items()}}
            strategy = {**strategy, "expression": substitute(str(strategy["expression"]), local)}
        backoff = dict(strategy.get("backoff") or {})
        _check_keys("backoff", backoff, BACKOFF_KEYS)
        node = self._record(
            Node(node_name, display, "Retry", tmpl["name"], FAILED, started_at=self.clock)
        )
        policy = strategy.get("retryPolicy") or (
            "Always" if "expression" in strategy else "OnFailure"
        )
        if policy not in ("Always", "OnFailure", "OnError"):
            raise UnsupportedFeature(f"retryPolicy {policy}")
        limit = int(strategy["limit"]) if "limit" in strategy else None
        max_deadline: float | None = None
        while True:
            attempt = len(node.children)
            child = self._pod(
                tmpl, f"{node_name}({attempt})", f"{display}({attempt})", inputs,
                deadline=max_deadline,
            )  # fmt: skip
            node.children.append(child.name)
            node.exit_codes.extend(child.exit_codes)
            if attempt == 0 and backoff.get("maxDuration"):
                max_deadline = child.started_at + parse_duration(backoff["maxDuration"])
            node.outputs = dict(child.outputs)
            if child.phase == SUCCEEDED:
                node.phase, node.message = SUCCEEDED, ""
                break
            verdict = self._retry_verdict(
                strategy,
                backoff,
                node,
                child,
                policy=policy,
                limit=limit,
                max_deadline=max_deadline,
            )
            if verdict is not None:
                node.phase, node.message = child.phase, verdict
                break
        node.finished_at = self.clock
        return node

    def _retry_verdict(
        self,
        strategy: Mapping[str, Any],
        backoff: Mapping[str, Any],
        node: Node,
        last: Node,
        *,
        policy: str,
        limit: int | None,
        max_deadline: float | None,
    ) -> str | None:
        """`processNodeRetries` (operator.go, v4.0.5 and v4.0.10 alike), in its order of checks:
        the message the Retry node ends with, or None to start the next attempt.

        The backoff is waited *before* the retry policy, the limit and the expression are looked
        at: while `now < lastChild.FinishedAt + backoff` (and attempts <= limit) the controller
        requeues the node with "Backoff for ..." and decides nothing. So an attempt that will
        not be retried (exit 65) still ends its Retry node only after the first backoff.
        """
        attempts = len(node.children)
        if backoff:
            if max_deadline is not None and self.clock >= max_deadline:
                return "Max duration limit exceeded"
            if not backoff.get("duration"):
                raise WorkflowError("no base duration specified for retryStrategy")
            wait = parse_duration(backoff["duration"])
            factor = int(backoff.get("factor") or 0)
            if factor > 0:
                wait *= factor ** (attempts - 1)
            if backoff.get("cap"):
                wait = min(wait, parse_duration(backoff["cap"]))
            if max_deadline is not None and last.finished_at + wait > max_deadline:
                return "Backoff would exceed max duration limit"
            if limit is not None and attempts <= limit:
                self.clock = max(self.clock, last.finished_at + wait)
        retry_failed = policy in ("Always", "OnFailure")
        retry_error = policy in ("Always", "OnError")
        if (last.phase == FAILED and not retry_failed) or (last.phase == ERROR and not retry_error):
            return last.message
        if limit is not None and attempts > limit:
            return "No more retries left"
        if "expression" in strategy:
            # buildRetryStrategyLocalScope (operator.go)
            scope = {
                "lastRetry.exitCode": str(last.exit_codes[-1]) if last.exit_codes else "-1",
                "lastRetry.status": last.phase,
                "lastRetry.message": last.message,
                "retries": str(attempts - 1),
            }
            if not evaluate_retry_expression(str(strategy["expression"]), scope):
                return "retryStrategy.expression evaluated to false"
        return None

    def _pod(
        self,
        tmpl: Mapping[str, Any],
        node_name: str,
        display: str,
        inputs: dict[str, str],
        *,
        deadline: float | None,
    ) -> Node:
        previous = self._previous.get(node_name)
        if previous is not None:
            return self._record(replace(previous, reused=True))
        node = self._record(
            Node(node_name, display, "Pod", tmpl["name"], FAILED, started_at=self.clock)
        )
        node.pod_name = pod_name(self.name, node_name, tmpl["name"])
        container = tmpl["container"]
        _check_keys("container", container, CONTAINER_KEYS)
        variables = {**self._globals, **{f"inputs.parameters.{k}": v for k, v in inputs.items()}}
        argv = tuple(
            substitute(str(a), variables)
            for a in [*container.get("command", []), *container.get("args", [])]
        )
        try:
            env = self._container_env(container, {**variables, "pod.name": node.pod_name})
        except WorkflowError as exc:  # a missing Secret: the pod never starts
            node.message = str(exc)
            node.finished_at = self.clock
            return node
        run = self._container_run(tmpl, node_name, argv, env)
        self.runs.append(run)
        outcome = self.runner(run)
        limits = [d for d in (deadline, self._active_deadline(tmpl, node.started_at)) if d]
        killed_at = min(limits) if limits else None
        if killed_at is not None and node.started_at + outcome.seconds > killed_at:
            # monitorDeadline (executor.go) kills main at ARGO_DEADLINE / activeDeadlineSeconds.
            self.clock = max(self.clock, killed_at)
            node.stderr = outcome.stderr
            node.message = DEADLINE_MESSAGE
            node.finished_at = self.clock
            return node
        self.clock += outcome.seconds
        node.finished_at = self.clock
        # getExitCode (operator.go): main's terminated state, if any. `exit_code` is that of the
        # failed container: after a failed init main never ran; a failed wait ran after main's 0.
        main_exit = {"init": None, "wait": 0}.get(outcome.container, outcome.exit_code)
        if main_exit is not None and not outcome.deleted:
            node.exit_codes.append(main_exit)
        node.stderr = outcome.stderr
        failure = self._infer_failed_reason(outcome, run)
        if failure is not None:
            node.phase, node.message = failure
            return node
        if self._archive_logs(tmpl) and not self.artifact_repository:
            # The wait container cannot save the log: inferFailedReason gives Error although main
            # exited 0, and lastRetry.exitCode is "0".
            node.phase = ERROR
            node.message = f"wait: Error (exit code {ARGOEXEC_ERROR}): {NO_ARTIFACT_REPOSITORY}"
            return node
        return self._collect_outputs(tmpl, node, run)

    def _infer_failed_reason(
        self, outcome: RunOutcome, run: ContainerRun
    ) -> tuple[str, str] | None:
        """Phase and message of a pod that did not succeed, as the controller derives them.

        A vanished pod: Error "pod deleted" (`podReconciliation`, operator.go). Otherwise
        `inferFailedReason` (operator.go): a pod message set by Kubernetes wins (Failed); then
        init (Error), main (Failed, "main: <reason> (exit code N): <termination message>"),
        wait (Error). None when main exited 0 and nothing else failed.
        """
        if outcome.deleted:
            return ERROR, "pod deleted"
        if outcome.pod_message:
            return FAILED, outcome.pod_message
        if outcome.container in ("init", "wait"):
            text = f"{outcome.container}: {outcome.reason} (exit code {outcome.exit_code})"
            termination = self._termination_message(run)
            return ERROR, f"{text}: {termination}" if termination else text
        if outcome.exit_code == 0:
            return None
        if outcome.exit_code is None:
            return ERROR, "Pod failed before main container starts"
        text = f"main: {outcome.reason} (exit code {outcome.exit_code})"
        termination = self._termination_message(run)
        return FAILED, f"{text}: {termination}" if termination else text

    def _archive_logs(self, tmpl: Mapping[str, Any]) -> bool:
        """`IsArchiveLogs` (workflowpod.go): controller on > template > workflow > off."""
        repo = self.artifact_repository or {}
        if repo.get("archiveLogs"):
            return True
        value = bool(self.entry["spec"].get("archiveLogs", False))
        location = tmpl.get("archiveLocation") or {}
        if "archiveLogs" in location:
            value = bool(location["archiveLogs"])
        return value

    @staticmethod
    def _active_deadline(tmpl: Mapping[str, Any], started: float) -> float | None:
        if "activeDeadlineSeconds" not in tmpl:
            return None
        return started + float(tmpl["activeDeadlineSeconds"])

    @staticmethod
    def _termination_message(run: ContainerRun) -> str:
        local = Path(run.localize(TERMINATION_LOG))
        if not local.is_file():
            return ""
        data = local.read_bytes()[:TERMINATION_MESSAGE_LIMIT]
        return data.decode("utf-8", errors="replace")

    def _container_env(
        self, container: Mapping[str, Any], variables: Mapping[str, str]
    ) -> dict[str, str]:
        env: dict[str, str] = {}
        for entry in container.get("env", []):
            name = entry["name"]
            if "value" in entry:
                env[name] = substitute(str(entry["value"]), variables)
                continue
            ref: Mapping[str, Any] = next(iter(entry.get("valueFrom", {}).values()), {})
            field_path = entry.get("valueFrom", {}).get("fieldRef", {}).get("fieldPath")
            if field_path is not None:  # the downward API; only the pod's name is modelled
                if field_path != "metadata.name":
                    raise UnsupportedFeature(f"fieldRef {field_path}")
                env[name] = variables["pod.name"]
            elif name in self.env:
                env[name] = self.env[name]
            elif not ref.get("optional", False):
                raise WorkflowError(f"CreateContainerConfigError: no value for {name} ({ref})")
        return {**env, **self.env}

    def _container_run(
        self,
        tmpl: Mapping[str, Any],
        node_name: str,
        argv: tuple[str, ...],
        env: dict[str, str],
    ) -> ContainerRun:
        pod_dir = self.work_dir / "pods" / re.sub(r"[^A-Za-z0-9_.-]", "_", node_name)
        pod_dir.mkdir(parents=True, exist_ok=True)
        volumes = {v["name"]: v for v in tmpl.get("volumes", [])}
        mounts: dict[str, Path] = {TERMINATION_LOG: pod_dir / "termination-log"}
        # The kubelet creates an empty termination-message file for every container it starts
        # and bind-mounts it at terminationMessagePath (kuberuntime_container.go).
        mounts[TERMINATION_LOG].write_bytes(b"")
        for mount in tmpl["container"].get("volumeMounts", []):
            path = mount["mountPath"]
            volume = volumes.get(mount["name"], {})
            if "emptyDir" in volume:
                mounts[path] = pod_dir / mount["name"]
                mounts[path].mkdir(exist_ok=True)
            elif not any(p == path or p.startswith(path.rstrip("/") + "/") for p in self.path_map):
                raise UnsupportedFeature(f"volume {mount['name']} at {path}: give it in path_map")
        mounts.update(self.path_map)
        image = str(tmpl["container"].get("image", ""))
        return ContainerRun(node_name, image, argv, env, mounts, pod_dir)

    def _collect_outputs(self, tmpl: Mapping[str, Any], node: Node, run: ContainerRun) -> Node:
        for param in tmpl.get("outputs", {}).get("parameters", []):
            source = param.get("valueFrom", {})
            if "path" not in source:
                raise UnsupportedFeature(f"output {param['name']} not from a file path")
            local = Path(run.localize(source["path"]))
            if local.is_file():
                value = local.read_text(encoding="utf-8")
            elif "default" in source:
                value = str(source["default"])
            else:
                node.phase = ERROR  # the wait container fails to save the parameter
                # SaveParameters (executor.go) reads the file through the main container's mount.
                node.message = (
                    f"wait: Error (exit code {ARGOEXEC_ERROR}): open /mainctrfs{source['path']}: "
                    "no such file or directory"
                )
                return node
            node.outputs[param["name"]] = value.removesuffix("\n")  # SaveParameters, executor.go
        node.phase = SUCCEEDED
        return node
