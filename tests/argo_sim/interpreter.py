"""A small interpreter of the Argo features our manifests use, for tests without a cluster.

Why: the rendered templates wire steps together through parameters, file outputs and
dependencies; a typo there (a wrong output name, a merge that waits for the wrong task) only shows
on a cluster. This double runs the real YAML with each container's command as a local process
(or through a pluggable runner, e.g. inside a container image), so a test sees what Argo would do.

Modelled (anything else raises `UnsupportedFeature`, so the double never silently diverges):
- WorkflowTemplates submitted by name, `spec.arguments.parameters` overridden at submit,
  `entrypoint`, `onExit` (run after the main DAG with `{{workflow.status}}` and
  `{{workflow.failures}}`; a failed exit handler fails the workflow, as in Argo);
- `dag` templates: tasks with `depends` (task names, `.Succeeded/.Failed/.Errored/.Skipped/
  .Omitted/.Daemoned/.AnySucceeded/.AllFailed`, `&&`, `||`, `!`, parentheses) or
  `dependencies`; `failFast` (default true: after a failure no new task starts);
  `withParam` over a JSON list (an empty list makes the task Skipped); nested DAGs;
  `template` (local) and `templateRef` (into another WorkflowTemplate, whose local templates
  then resolve there);
- `container` templates: command, args, env (literal values substituted; `valueFrom` values taken
  from the injected `env` mapping by variable name, optional ones left unset when absent),
  `volumes`/`volumeMounts` (emptyDir: a fresh local directory per attempt; anything else must be
  mapped with `path_map`), output parameters `valueFrom.path` (+ `default`);
- `retryStrategy.limit` with `expression: asInt(lastRetry.exitCode) == N` (or no expression:
  retry any failure); backoff is accepted and not waited for;
- variables `{{workflow.name}}`, `{{workflow.parameters.X}}`, `{{workflow.status}}`,
  `{{workflow.failures}}`, `{{inputs.parameters.X}}`, `{{item}}`,
  `{{tasks.T.outputs.parameters.P}}`; an unresolved variable raises;
- `retry(failed_only=True)` like `argo retry`: pods that succeeded keep their outputs and are not
  run again; failed ones and everything that depends on them run; the exit handler runs again.

Accepted and ignored (they change scheduling, not results): parallelism, synchronization, podGC,
ttlStrategy, metrics, archiveLogs, serviceAccountName, metadata, resources, securityContext,
imagePullPolicy, activeDeadlineSeconds. Tasks run one at a time in declaration order, so
`failFast` acts as it would with parallelism 1 (no expanded item starts after one failed), while a
task whose `depends` is false after a failure is still recorded as Omitted.
Node phases used: Succeeded, Failed, Omitted, Skipped.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

SUCCEEDED, FAILED, OMITTED, SKIPPED = "Succeeded", "Failed", "Omitted", "Skipped"

Doc = Mapping[str, Any]

TEMPLATE_KEYS = {
    "name", "inputs", "outputs", "container", "dag", "retryStrategy", "metadata", "volumes",
    "activeDeadlineSeconds", "metrics", "failFast",
}  # fmt: skip
TASK_KEYS = {"name", "template", "templateRef", "arguments", "depends", "dependencies", "withParam"}
CONTAINER_KEYS = {
    "image", "imagePullPolicy", "command", "args", "env", "resources", "securityContext",
    "volumeMounts",
}  # fmt: skip
SPEC_KEYS = {
    "entrypoint", "onExit", "arguments", "templates", "parallelism", "synchronization", "podGC",
    "ttlStrategy", "metrics", "archiveLogs", "serviceAccountName", "workflowMetadata",
    "podMetadata",
}  # fmt: skip


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
    exit_code: int
    stdout: str = ""
    stderr: str = ""


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
    type: str  # Pod, DAG, TaskGroup, Skipped, Omitted
    template: str
    phase: str
    message: str = ""
    children: list[str] = field(default_factory=list)
    exit_codes: list[int] = field(default_factory=list)  # one per attempt
    outputs: dict[str, str] = field(default_factory=dict)
    stderr: str = ""
    reused: bool = False  # kept from the previous run by retry()


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
_RETRY_EXPR = re.compile(r"^asInt\(lastRetry\.exitCode\)\s*==\s*(\d+)$")
_DEPENDS_TOKEN = re.compile(r"\s*(\(|\)|&&|\|\||!|[A-Za-z0-9_-]+(?:\.[A-Za-z]+)?)")


def substitute(text: str, variables: Mapping[str, str]) -> str:
    """Replace every `{{var}}`; raise on any variable Argo could not resolve either."""

    def one(match: re.Match[str]) -> str:
        key = match.group(1)
        if key not in variables:
            raise WorkflowError(f"unresolved variable {{{{{key}}}}} in {text!r}")
        return variables[key]

    return _VAR.sub(one, text)


def _task_result(node: Node | None, result: str, nodes: Mapping[str, Node]) -> bool:
    if node is None:
        return False
    phase = node.phase
    children = [nodes[c].phase for c in node.children] or [phase]
    checks = {
        "": phase in (SUCCEEDED, SKIPPED),
        "Succeeded": phase == SUCCEEDED,
        "Failed": phase == FAILED,
        "Errored": False,
        "Skipped": phase == SKIPPED,
        "Omitted": phase == OMITTED,
        "Daemoned": False,
        "AnySucceeded": SUCCEEDED in children,
        "AllFailed": all(p == FAILED for p in children),
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
    return item if isinstance(item, str) else json.dumps(item)


def _check_keys(kind: str, mapping: Mapping[str, Any], allowed: set[str]) -> None:
    unknown = set(mapping) - allowed
    if unknown:
        raise UnsupportedFeature(f"{kind} fields not modelled: {sorted(unknown)}")


class ArgoSim:
    """Submit one WorkflowTemplate by name and run it to completion, like the controller would."""

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
        self.parameters = self._workflow_parameters(parameters or {})
        self.nodes: dict[str, Node] = {}
        self.phase: str | None = None
        self.runs: list[ContainerRun] = []  # every runner call, in order
        self._previous: dict[str, Node] = {}
        self._globals: dict[str, str] = {}

    # -- public API ------------------------------------------------------------------------
    def run(self) -> str:
        """Run the workflow from scratch; returns its phase (Succeeded or Failed)."""
        self._previous = {}
        return self._execute()

    def retry(self, failed_only: bool = True) -> str:
        """Like `argo retry`: keep succeeded pods (all rerun if not `failed_only`), run the rest."""
        if self.phase is None:
            raise WorkflowError("retry before run")
        if self.phase == SUCCEEDED and failed_only:
            raise WorkflowError("argo retry refuses a Succeeded workflow")
        exit_prefix = f"{self.name}.onExit"
        self._previous = {
            name: node
            for name, node in self.nodes.items()
            if failed_only
            and node.type == "Pod"
            and node.phase == SUCCEEDED
            and not name.startswith(exit_prefix)
        }
        return self._execute()

    def by_display_name(self, display_name: str) -> list[Node]:
        return [n for n in self.nodes.values() if n.display_name == display_name]

    def phases(self) -> dict[str, str]:
        """Node name -> phase, for assertions."""
        return {name: node.phase for name, node in self.nodes.items()}

    def failures(self) -> list[dict[str, str]]:
        """What Argo puts in `{{workflow.failures}}`: the failed pods."""
        return [
            {
                "displayName": n.display_name,
                "message": n.message,
                "templateName": n.template,
                "phase": n.phase,
                "podName": n.name,
            }
            for n in self.nodes.values()
            if n.type == "Pod" and n.phase == FAILED
        ]

    # -- workflow --------------------------------------------------------------------------
    def _workflow_parameters(self, overrides: Mapping[str, str]) -> dict[str, str]:
        declared = self.entry["spec"].get("arguments", {}).get("parameters", [])
        values = {p["name"]: str(p.get("value", "")) for p in declared}
        unknown = set(overrides) - set(values)
        if unknown:
            raise WorkflowError(f"unknown workflow parameters: {sorted(unknown)}")
        return {**values, **{k: str(v) for k, v in overrides.items()}}

    def _execute(self) -> str:
        self.nodes = {}
        self._globals = {"workflow.name": self.name}
        self._globals.update({f"workflow.parameters.{k}": v for k, v in self.parameters.items()})
        scope = _Scope(self.entry)
        spec = self.entry["spec"]
        main = self._template_node(scope, spec["entrypoint"], self.name, self.name, {})
        self.phase = main.phase
        if spec.get("onExit"):
            failures = self.failures()
            self._globals["workflow.status"] = self.phase
            self._globals["workflow.failures"] = json.dumps(failures or None)
            exit_name = f"{self.name}.onExit"
            handler = self._template_node(scope, spec["onExit"], exit_name, exit_name, {})
            if handler.phase != SUCCEEDED:
                self.phase = FAILED
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
        inputs = self._inputs(tmpl, arguments)
        if "container" in tmpl:
            return self._pod(tmpl, node_name, display, inputs)
        if "dag" in tmpl:
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
        _check_keys("dag", dag, {"tasks", "failFast"})
        node = Node(node_name, display, "DAG", tmpl["name"], SUCCEEDED)
        self.nodes[node_name] = node
        local = {**self._globals, **{f"inputs.parameters.{k}": v for k, v in inputs.items()}}
        fail_fast = dag.get("failFast", True)
        results: dict[str, Node] = {}
        pending = list(dag["tasks"])
        failed = False
        while pending:
            ready = [t for t in pending if _dependency_names(t) <= set(results)]
            if not ready:
                break  # the rest wait on tasks that never started (fail fast)
            task = ready[0]
            pending.remove(task)
            _check_keys("task", task, TASK_KEYS)
            child = self._task(
                scope,
                task,
                f"{node_name}.{task['name']}",
                results,
                local,
                fail_fast=fail_fast,
                failed=failed,
            )
            if child is None:
                continue  # fail fast: Argo starts nothing new after a failure; no node at all
            results[task["name"]] = child
            node.children.append(child.name)
            failed = failed or child.phase == FAILED
        if failed:
            node.phase = FAILED
        return node

    def _task(
        self,
        scope: _Scope,
        task: Mapping[str, Any],
        task_node: str,
        results: Mapping[str, Node],
        local: Mapping[str, str],
        *,
        fail_fast: bool,
        failed: bool,
    ) -> Node | None:
        depends = _depends_of(task)
        if depends and not evaluate_depends(depends, results, self.nodes):
            return self._record(Node(task_node, task["name"], "Omitted", "", OMITTED))
        if failed and fail_fast:
            return None
        variables = dict(local)
        for dep, dep_node in results.items():
            for key, value in dep_node.outputs.items():
                variables[f"tasks.{dep}.outputs.parameters.{key}"] = value
        target_scope, template_name = self._resolve(scope, task)
        if "withParam" not in task:
            args = self._arguments(task, variables)
            return self._template_node(target_scope, template_name, task_node, task["name"], args)
        items = json.loads(substitute(task["withParam"], variables))
        if not isinstance(items, list):
            raise WorkflowError(f"withParam of {task['name']} is not a JSON list: {items!r}")
        if not items:
            return self._record(Node(task_node, task["name"], "Skipped", template_name, SKIPPED))
        group = self._record(Node(task_node, task["name"], "TaskGroup", template_name, SUCCEEDED))
        for index, item in enumerate(items):
            if fail_fast and group.phase == FAILED:
                break  # tasks run one at a time here, so fail fast acts as with parallelism 1
            label = f"{task['name']}({index}:{_item_text(item)})"
            args = self._arguments(task, {**variables, "item": _item_text(item)})
            child_name = f"{task_node.rsplit('.', 1)[0]}.{label}"
            child = self._template_node(target_scope, template_name, child_name, label, args)
            group.children.append(child.name)
            if child.phase != SUCCEEDED:
                group.phase = FAILED
        return group

    @staticmethod
    def _arguments(task: Mapping[str, Any], variables: Mapping[str, str]) -> dict[str, str]:
        params = task.get("arguments", {}).get("parameters", [])
        return {p["name"]: substitute(str(p.get("value", "")), variables) for p in params}

    def _record(self, node: Node) -> Node:
        self.nodes[node.name] = node
        return node

    # -- pods ------------------------------------------------------------------------------
    def _pod(
        self, tmpl: Mapping[str, Any], node_name: str, display: str, inputs: dict[str, str]
    ) -> Node:
        previous = self._previous.get(node_name)
        if previous is not None:
            return self._record(replace(previous, reused=True))
        node = self._record(Node(node_name, display, "Pod", tmpl["name"], FAILED))
        container = tmpl["container"]
        _check_keys("container", container, CONTAINER_KEYS)
        variables = {**self._globals, **{f"inputs.parameters.{k}": v for k, v in inputs.items()}}
        argv = tuple(
            substitute(str(a), variables)
            for a in [*container.get("command", []), *container.get("args", [])]
        )
        try:
            env = self._container_env(container, variables)
        except WorkflowError as exc:  # a missing Secret: the pod never starts
            node.message = str(exc)
            return node
        limit, retry_codes = self._retry_policy(tmpl)
        for attempt in range(limit + 1):
            run = self._container_run(tmpl, node_name, attempt, argv, env)
            self.runs.append(run)
            outcome = self.runner(run)
            node.exit_codes.append(outcome.exit_code)
            node.stderr = outcome.stderr
            if outcome.exit_code == 0:
                return self._collect_outputs(tmpl, node, run)
            node.message = f"Error (exit code {outcome.exit_code})"
            if retry_codes is not None and outcome.exit_code not in retry_codes:
                break
        return node

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
            if name in self.env:
                env[name] = self.env[name]
            elif not ref.get("optional", False):
                raise WorkflowError(f"CreateContainerConfigError: no value for {name} ({ref})")
        return {**env, **self.env}

    @staticmethod
    def _retry_policy(tmpl: Mapping[str, Any]) -> tuple[int, set[int] | None]:
        strategy = tmpl.get("retryStrategy")
        if not strategy:
            return 0, set()
        _check_keys("retryStrategy", strategy, {"limit", "expression", "backoff", "retryPolicy"})
        if strategy.get("retryPolicy", "OnFailure") not in ("OnFailure", "Always"):
            raise UnsupportedFeature(f"retryPolicy {strategy['retryPolicy']}")
        expression = strategy.get("expression")
        if expression is None:
            return int(strategy.get("limit", 0)), None
        match = _RETRY_EXPR.match(expression.strip())
        if not match:
            raise UnsupportedFeature(f"retry expression {expression!r}")
        return int(strategy.get("limit", 0)), {int(match.group(1))}

    def _container_run(
        self,
        tmpl: Mapping[str, Any],
        node_name: str,
        attempt: int,
        argv: tuple[str, ...],
        env: dict[str, str],
    ) -> ContainerRun:
        pod_dir = self.work_dir / "pods" / re.sub(r"[^A-Za-z0-9_.-]", "_", node_name) / str(attempt)
        pod_dir.mkdir(parents=True, exist_ok=True)
        volumes = {v["name"]: v for v in tmpl.get("volumes", [])}
        mounts: dict[str, Path] = {}
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
                node.outputs[param["name"]] = local.read_text(encoding="utf-8").rstrip("\n")
            elif "default" in source:
                node.outputs[param["name"]] = str(source["default"])
            else:
                node.message = f"output parameter {param['name']}: {source['path']} not found"
                return node
        node.phase = SUCCEEDED
        return node
