"""A process kubelet: runs the pods of the lab's one node as processes, one `bwrap` per container.

What it does, as a kubelet would (the controller reads only the API, so this is what it sees):
- registers a Node that is Ready and binds every unscheduled pod to it (there is no scheduler);
- materialises the pod's volumes in a folder per pod: emptyDir, configMap, secret, downwardAPI,
  and projected ones (the service-account token from TokenRequest, `ca.crt` from the namespace's
  `kube-root-ca.crt`, the namespace);
- runs the init containers in order, then the others together, each in its own mount and PID
  namespace (`bwrap --bind <root> / --dev /dev --proc /proc --tmpfs /run --unshare-pid`), with the
  pod's volume mounts where the spec says, `/dev/termination-log` bound to a file of its own,
  and the env resolved (`value`, `fieldRef`, `configMapKeyRef`, `secretKeyRef`, `envFrom`);
- reports the pod's phase and every container's state, exit code, reason and termination
  message through `pods/status`;
- on deletion stops the processes, then deletes the pod with grace 0 and a UID precondition.

Venv mode (the default): no images; every command runs from the host's root filesystem, the step
commands from the project's venv, `argoexec` from the lab's bin folder, both bound back into the
container when a pod mount covers them.

Image mode (`KubeletConfig.images`, image name -> `ImageRoot`): a container whose `image` is a key
runs with that image's root filesystem as `/` (`bwrap --bind <rootfs> /`), the pod's mounts,
/dev, /proc, /dev/termination-log and Argo's /var/run/argo (the argoexec copy the init container
made) bound into it, the image's Env under the pod's, its WorkingDir, Entrypoint and Cmd where the
spec has none, and `/` remounted read-only when `readOnlyRootFilesystem` says so. Argo's init and
wait containers (image `argoexec:lab`) still run from the host. The emissary in main is the host's
argoexec, run inside the image: it links glibc dynamically, so the image needs glibc 2.34 or later
(Debian bookworm has 2.36); Argo's own release builds it static (`CGO_ENABLED=0`).

Differences from a real node, on purpose, in both modes: the user and the rest of the security
context are not applied (everything runs as the lab's user, root in CI); no resource limits; the
network is the host's (no /etc/hosts or /etc/resolv.conf of the pod); several pods of one image
share one root filesystem (a read-only one in our templates); a pod's volume folders go when its
last container ends, not when the pod object does; no `pods/exec` or `pods/log`
endpoints. Because there is no exec endpoint, the controller's "terminate containers" after a
main container ends without writing its exit code (killed, OOM) cannot reach the wait container;
the kubelet sends that SIGTERM itself, as the controller's `argoexec kill` would.

Plans: a test writes a JSON file (`Lab.set_plan`, for every namespace or for one) mapping a
node name (the pod's `workflows.argoproj.io/node-name` annotation; `*` matches any characters, e.g.
`*.process(0:2017-07-27).load`) to a list of outcomes, taken one per pod attempt in order
(an `argo retry` recreates a pod under the same node name and takes the next one):
- `{}`: run the container as it is;
- `{"code": 65, "message": "...", "seconds": 2, "files": {"/tmp/x": "..."}}`: main's command is
  replaced by `play` (play.py), which waits, writes the files and the termination message and
  exits with the code: the conformance cases' `plays` map onto this directly (venv mode only:
  `play` is the host's);
- `{"kill": "sigkill", "after": 0}`: SIGKILL the step's process (the emissary's child), `after`
  seconds after it started;
- `{"kill": "oom", "after": 1}`: kill the main container; reported `OOMKilled`, exit 137;
- `{"kill": "evict", "after": 1, "message": "..."}`: kill every container (exit 137); the pod is
  Failed with reason `Evicted` and the kubelet's low-memory message;
- `{"fail": "init"|"wait", "code": 1, "message": "..."}`: that container fails (an Error
  attempt); init is not run, wait is killed when main ends.
Every pod the kubelet finishes is appended to `journal.jsonl` (see `PodRecord`).
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import json
import logging
import os
import re
import shutil
import signal
import subprocess
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tests.argo_real.kube import ApiError, KubeAPI

NODE_NAME = "argo-lab"
NODE_NAME_ANNOTATION = "workflows.argoproj.io/node-name"
EVICTION_MESSAGE = (
    "The node was low on resource: memory. Threshold quantity: 100Mi, available: 84Mi. "
    "Container main was using 1210Mi, request is 128Mi, has larger consumption of memory. "
)
TERMINATION_MESSAGE_LIMIT = 4096
POLL_SECONDS = 0.25
KILL_GRACE_SECONDS = 3.0

log = logging.getLogger("argo-lab.kubelet")


def now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _pattern(key: str) -> re.Pattern[str]:
    return re.compile(".*".join(re.escape(part) for part in key.split("*")) + r"\Z")


class Plan:
    """The planned outcomes, re-read when the file changes (queues start again then)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._stamp: float | None = None
        self._queues: dict[str, list[dict[str, Any]]] = {}
        self._lock = threading.Lock()

    def take(self, node_name: str) -> dict[str, Any] | None:
        with self._lock:
            self._reload()
            for key, queue in self._queues.items():
                if queue and (key == node_name or _pattern(key).match(node_name)):
                    return queue.pop(0)
        return None

    def _reload(self) -> None:
        try:
            stamp = self.path.stat().st_mtime_ns
        except FileNotFoundError:
            self._stamp, self._queues = None, {}
            return
        if stamp != self._stamp:
            self._stamp = stamp
            plans = json.loads(self.path.read_text() or "{}")
            self._queues = {key: list(value) for key, value in plans.items()}


class Plans:
    """The lab's plan (`plan.json`) and one per namespace (`plans/<namespace>.json`): while a
    namespace has its own, its pods take from that one only, so tests in namespaces of their
    own can run side by side."""

    def __init__(self, path: Path) -> None:
        self.default = Plan(path)
        self.folder = path.parent / "plans"
        self._by_namespace: dict[str, Plan] = {}
        self._lock = threading.Lock()

    def take(self, namespace: str, node_name: str) -> dict[str, Any] | None:
        with self._lock:
            plan = self._by_namespace.setdefault(namespace, Plan(self.folder / f"{namespace}.json"))
        if plan.path.exists():
            return plan.take(node_name)
        return self.default.take(node_name)


@dataclass
class PodRecord:
    """One pod as the kubelet ran it (a line of journal.jsonl)."""

    namespace: str
    name: str
    uid: str
    node_name: str
    workflow: str
    plan: dict[str, Any] | None
    phase: str = ""
    reason: str = ""
    exit_codes: dict[str, int] = field(default_factory=dict)
    messages: dict[str, str] = field(default_factory=dict)
    roots: dict[str, str] = field(default_factory=dict)  # container -> its `/` on the host
    started: str = ""
    finished: str = ""
    deleted: bool = False


@dataclass(frozen=True)
class ImageRoot:
    """A step image unpacked as a root filesystem (e.g. `buildah mount`), with its OCI config."""

    rootfs: Path
    env: dict[str, str]  # the image's Env: PATH, HOME, ...
    working_dir: str
    entrypoint: list[str]
    cmd: list[str]


@dataclass
class KubeletConfig:
    root: Path  # pods' folders and the journal
    api: KubeAPI
    api_host: str
    api_port: int
    plan: Plans
    path: list[str]  # PATH inside containers: argoexec, play, the project's venv
    bind_back: list[Path]  # host folders a pod mount must not hide (bin folders, the venv)
    python: str  # runs play.py
    # Image mode: a container whose image is a key runs with that root filesystem as `/`.
    images: dict[str, ImageRoot] = field(default_factory=dict)


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    found: list[int] = []
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def _signal(pids: list[int], sig: int) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, sig)


class Container:
    def __init__(self, spec: dict[str, Any], popen: subprocess.Popen[bytes] | None) -> None:
        self.spec = spec
        self.name: str = spec["name"]
        self.popen = popen
        self.started = now()
        self.state: dict[str, Any] = {"waiting": {"reason": "PodInitializing"}}
        self.forced: tuple[int, str, str] | None = None  # exit code, reason, message

    def tree(self) -> list[int]:
        return [] if self.popen is None else [self.popen.pid, *_descendants(self.popen.pid)]

    def kill(self, sig: int = signal.SIGKILL) -> None:
        _signal(self.tree(), sig)


class PodRun(threading.Thread):
    """Runs one pod from binding to its final status."""

    def __init__(self, kubelet: Kubelet, pod: dict[str, Any]) -> None:
        meta = pod["metadata"]
        super().__init__(name=f"pod-{meta['name']}", daemon=True)
        self.kubelet = kubelet
        self.config = kubelet.config
        self.api = kubelet.config.api
        self.pod = pod
        self.namespace: str = meta["namespace"]
        self.pod_name: str = meta["name"]
        self.uid: str = meta["uid"]
        self.dir = self.config.root / "pods" / self.uid
        annotations = meta.get("annotations") or {}
        node_name = annotations.get(NODE_NAME_ANNOTATION, "")
        self.plan = self.config.plan.take(self.namespace, node_name) if node_name else None
        self.record = PodRecord(
            self.namespace,
            self.pod_name,
            self.uid,
            node_name,
            (meta.get("labels") or {}).get("workflows.argoproj.io/workflow", ""),
            self.plan,
        )
        self.stopping = threading.Event()
        self.containers: dict[str, Container] = {}
        self.init_statuses: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    # ---- API ---------------------------------------------------------------------------------
    @property
    def _path(self) -> str:
        return f"/api/v1/namespaces/{self.namespace}/pods/{self.pod_name}"

    def _patch_status(self, status: dict[str, Any]) -> None:
        if self.stopping.is_set():
            return
        status.setdefault("hostIP", "127.0.0.1")
        status.setdefault("podIP", "127.0.0.1")
        status.setdefault("podIPs", [{"ip": "127.0.0.1"}])
        status.setdefault("startTime", self.record.started)
        try:
            self.api.merge_patch(f"{self._path}/status", {"status": status})
        except ApiError as exc:
            if exc.status != 404:
                raise

    def _container_status(self, spec: dict[str, Any], state: dict[str, Any]) -> dict[str, Any]:
        running = "running" in state
        return {
            "name": spec["name"],
            "image": spec.get("image", ""),
            "imageID": "",
            "containerID": f"lab://{self.uid}/{spec['name']}",
            "ready": running,
            "started": running,
            "restartCount": 0,
            "state": state,
        }

    def _report(self, phase: str, **extra: Any) -> None:
        with self._lock:
            statuses = [
                self._container_status(spec, self._state_of(spec["name"]))
                for spec in self.pod["spec"]["containers"]
            ]
            ready = "True" if all("running" in s["state"] for s in statuses) else "False"
            initialized = "True" if phase != "Pending" else "False"
            conditions = [
                {"type": "PodScheduled", "status": "True"},
                {"type": "Initialized", "status": initialized},
                {"type": "ContainersReady", "status": ready},
                {"type": "Ready", "status": ready},
            ]
            status = {
                "phase": phase,
                "conditions": conditions,
                "initContainerStatuses": list(self.init_statuses),
                "containerStatuses": statuses,
                **extra,
            }
        self._patch_status(status)

    def _state_of(self, name: str) -> dict[str, Any]:
        container = self.containers.get(name)
        return container.state if container else {"waiting": {"reason": "PodInitializing"}}

    # ---- volumes and env ---------------------------------------------------------------------
    def _read(self, kind: str, name: str, optional: bool) -> dict[str, str] | None:
        try:
            obj = self.api.get(f"/api/v1/namespaces/{self.namespace}/{kind}/{name}")
        except ApiError as exc:
            if exc.status == 404 and optional:
                return None
            raise
        if kind == "secrets":
            return {k: base64.b64decode(v).decode() for k, v in (obj.get("data") or {}).items()}
        return dict(obj.get("data") or {})

    def _field(self, path: str) -> str:
        meta = self.pod["metadata"]
        simple = {
            "metadata.name": meta["name"],
            "metadata.namespace": meta["namespace"],
            "metadata.uid": meta["uid"],
            "spec.nodeName": NODE_NAME,
            "spec.serviceAccountName": self.pod["spec"].get("serviceAccountName", "default"),
            "status.hostIP": "127.0.0.1",
            "status.podIP": "127.0.0.1",
        }
        if path in simple:
            return simple[path]
        found = re.fullmatch(r"metadata\.(labels|annotations)\['(.+)'\]", path)
        if found:
            return str((meta.get(found[1]) or {}).get(found[2], ""))
        raise ValueError(f"fieldRef {path} is not supported by the lab kubelet")

    def _token(self, audience: str | None, seconds: int) -> str:
        sa = self.pod["spec"].get("serviceAccountName", "default")
        spec: dict[str, Any] = {
            "expirationSeconds": max(seconds, 600),
            "boundObjectRef": {
                "kind": "Pod",
                "apiVersion": "v1",
                "name": self.pod_name,
                "uid": self.uid,
            },
        }
        if audience:
            spec["audiences"] = [audience]
        reply = self.api.post(
            f"/api/v1/namespaces/{self.namespace}/serviceaccounts/{sa}/token",
            {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": spec},
        )
        return str(reply["status"]["token"])

    @staticmethod
    def _write(folder: Path, data: dict[str, str], items: list[dict[str, Any]] | None) -> None:
        pairs = [(i["key"], i["path"]) for i in items] if items else [(k, k) for k in data]
        for key, rel in pairs:
            if key in data:
                target = folder / rel
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(data[key])

    def _volumes(self) -> dict[str, Path]:
        paths: dict[str, Path] = {}
        for volume in self.pod["spec"].get("volumes") or []:
            folder = self.dir / "volumes" / volume["name"]
            folder.mkdir(parents=True, exist_ok=True)
            paths[volume["name"]] = folder
            if "configMap" in volume or "secret" in volume:
                kind = "configMap" if "configMap" in volume else "secret"
                source = volume[kind]
                name = source.get("name") or source.get("secretName")
                data = self._read(
                    "configmaps" if kind == "configMap" else "secrets",
                    name,
                    bool(source.get("optional")),
                )
                self._write(folder, data or {}, source.get("items"))
            elif "downwardAPI" in volume:
                for item in volume["downwardAPI"].get("items", []):
                    (folder / item["path"]).write_text(self._field(item["fieldRef"]["fieldPath"]))
            elif "projected" in volume:
                self._projected(folder, volume["projected"])
            elif "hostPath" in volume:
                paths[volume["name"]] = Path(volume["hostPath"]["path"])
            elif "emptyDir" not in volume:
                raise ValueError(f"volume {volume['name']}: kind not supported by the lab kubelet")
        return paths

    def _release_volumes(self) -> None:
        """Removes the pod's volume folders once no container of it runs.

        A real kubelet keeps them until the pod object goes, but with restartPolicy Never and no
        exec endpoint nothing can read them after that, and each holds the 200 MB copy of
        `argoexec` that Argo's init container makes: a suite's few hundred pods would fill a disk.
        """
        shutil.rmtree(self.dir / "volumes", ignore_errors=True)

    def _projected(self, folder: Path, projected: dict[str, Any]) -> None:
        for source in projected.get("sources", []):
            if "serviceAccountToken" in source:
                token = source["serviceAccountToken"]
                (folder / token["path"]).write_text(
                    self._token(token.get("audience"), int(token.get("expirationSeconds", 3607)))
                )
            elif "configMap" in source or "secret" in source:
                kind = "configMap" if "configMap" in source else "secret"
                spec = source[kind]
                data = self._read(
                    "configmaps" if kind == "configMap" else "secrets",
                    spec["name"],
                    bool(spec.get("optional")),
                )
                self._write(folder, data or {}, spec.get("items"))
            elif "downwardAPI" in source:
                for item in source["downwardAPI"].get("items", []):
                    (folder / item["path"]).write_text(self._field(item["fieldRef"]["fieldPath"]))

    def _env(self, spec: dict[str, Any], image: ImageRoot | None) -> dict[str, str]:
        env = {"PATH": ":".join(self.config.path), "HOME": "/root"}
        if image is not None:
            env = {"HOME": "/root", **image.env}  # a runtime starts from the image's Env
        env.update(
            HOSTNAME=self.pod_name,
            KUBERNETES_SERVICE_HOST=self.config.api_host,
            KUBERNETES_SERVICE_PORT=str(self.config.api_port),
        )
        for source in spec.get("envFrom") or []:
            kind = "configmaps" if "configMapRef" in source else "secrets"
            ref = source.get("configMapRef") or source.get("secretRef") or {}
            data = self._read(kind, ref["name"], bool(ref.get("optional"))) or {}
            env.update({source.get("prefix", "") + k: v for k, v in data.items()})
        for entry in spec.get("env") or []:
            value = self._env_value(entry, env)
            if value is not None:
                env[entry["name"]] = value
        return env

    def _env_value(self, entry: dict[str, Any], env: dict[str, str]) -> str | None:
        if "valueFrom" not in entry:
            return _expand(entry.get("value", ""), env)
        source = entry["valueFrom"]
        if "fieldRef" in source:
            return self._field(source["fieldRef"]["fieldPath"])
        for key, kind in (("configMapKeyRef", "configmaps"), ("secretKeyRef", "secrets")):
            if key in source:
                ref = source[key]
                data = self._read(kind, ref["name"], bool(ref.get("optional")))
                if data is None or ref["key"] not in data:
                    if ref.get("optional"):
                        return None
                    raise ValueError(f"{kind} {ref['name']} has no key {ref['key']}")
                return data[ref["key"]]
        if "resourceFieldRef" in source:
            return "0"
        raise ValueError(f"env {entry['name']}: source not supported by the lab kubelet")

    # ---- containers ----------------------------------------------------------------------------
    def _argv(
        self, spec: dict[str, Any], volumes: dict[str, Path], image: ImageRoot | None
    ) -> list[str]:
        root = "/" if image is None else str(image.rootfs)
        argv = ["bwrap", "--bind", root, "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/run"]
        argv += ["--die-with-parent", "--unshare-pid", "--new-session"]
        mounts = sorted(spec.get("volumeMounts") or [], key=lambda m: m["mountPath"].count("/"))
        covered: list[str] = []
        for mount in mounts:
            source = volumes[mount["name"]]
            if mount.get("subPath"):
                source = source / mount["subPath"]
                source.mkdir(parents=True, exist_ok=True)
            target = _in_container(mount["mountPath"])
            argv += ["--ro-bind" if mount.get("readOnly") else "--bind", str(source), target]
            covered.append(target)
        log_file = self.dir / "termination" / spec["name"]
        log_file.parent.mkdir(parents=True, exist_ok=True)
        log_file.touch()
        argv += [
            "--bind",
            str(log_file),
            spec.get("terminationMessagePath", "/dev/termination-log"),
        ]
        if image is None:
            for keep in self.config.bind_back:
                if any(
                    str(keep) == c or str(keep).startswith(c.rstrip("/") + "/") for c in covered
                ):
                    argv += ["--ro-bind", str(keep), str(keep)]
        elif (spec.get("securityContext") or {}).get("readOnlyRootFilesystem"):
            # after the mounts: bwrap makes their mount points in the image's root first
            argv += ["--remount-ro", "/"]
        working_dir = spec.get("workingDir") or (image.working_dir if image else "") or "/"
        argv += ["--chdir", working_dir, "--"]
        return argv

    def _command(
        self, spec: dict[str, Any], env: dict[str, str], image: ImageRoot | None
    ) -> list[str]:
        # As a runtime does: the spec's command replaces the image's entrypoint and cmd, its
        # args replace cmd only.
        command = spec.get("command") or (image.entrypoint if image else [])
        args = spec.get("args") or ([] if spec.get("command") or image is None else image.cmd)
        argv = [_expand(a, env) for a in [*command, *args]]
        if not argv:
            raise ValueError(f"container {spec['name']}: no command and no image entrypoint")
        return argv

    def _start(self, spec: dict[str, Any], volumes: dict[str, Path], play: bool) -> Container:
        image = self.config.images.get(spec.get("image", ""))
        env = self._env(spec, image)
        command = self._command(spec, env, image)
        if play and image is not None:
            raise ValueError(
                f"container {spec['name']}: a planned exit runs `play` from the host; "
                f"image {spec['image']} runs from its own root filesystem (use venv mode)"
            )
        self.record.roots[spec["name"]] = "/" if image is None else str(image.rootfs)
        if play:
            env["XETRA_LAB_PLAY"] = json.dumps(self.plan)
            emissary = command[: command.index("--") + 1] if "--" in command else []
            command = [*emissary, "play"]
        logs = self.dir / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        with open(logs / f"{spec['name']}.log", "ab") as out:
            popen = subprocess.Popen(
                self._argv(spec, volumes, image) + command,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        container = Container(spec, popen)
        container.state = {"running": {"startedAt": now()}}
        return container

    def _terminated(self, container: Container) -> dict[str, Any]:
        if container.forced is not None:
            code, reason, message = container.forced
        else:
            assert container.popen is not None
            raw = container.popen.wait()
            code = 128 - raw if raw < 0 else raw
            reason = "Completed" if code == 0 else "Error"
            message = self._termination_message(container.spec, code)
        state: dict[str, Any] = {
            "exitCode": code,
            "reason": reason,
            "startedAt": container.started,
            "finishedAt": now(),
            "containerID": f"lab://{self.uid}/{container.name}",
        }
        if message:
            state["message"] = message
        self.record.exit_codes[container.name] = code
        if message:
            self.record.messages[container.name] = message
        return {"terminated": state}

    def _termination_message(self, spec: dict[str, Any], code: int) -> str:
        path = self.dir / "termination" / spec["name"]
        message = (
            path.read_text(errors="replace")[:TERMINATION_MESSAGE_LIMIT] if path.exists() else ""
        )
        if not message and code and spec.get("terminationMessagePolicy") == "FallbackToLogsOnError":
            lines = (self.dir / "logs" / f"{spec['name']}.log").read_text(errors="replace")
            message = "\n".join(lines.splitlines()[-80:])[-TERMINATION_MESSAGE_LIMIT:]
        return message

    # ---- the pod ---------------------------------------------------------------------------------
    def run(self) -> None:
        try:
            self._run()
        except Exception as exc:  # the pod fails as a kubelet's would on a setup error
            log.exception("pod %s/%s", self.namespace, self.pod_name)
            with contextlib.suppress(Exception):
                self._patch_status({"phase": "Failed", "reason": "LabKubelet", "message": str(exc)})
            self.record.phase, self.record.reason = "Failed", f"LabKubelet: {exc}"
        finally:
            self.kill_all()
            self._release_volumes()
            self.record.finished = now()
            self.record.deleted = self.stopping.is_set()
            self.kubelet.journal(self.record)

    def _run(self) -> None:
        self.record.started = now()
        spec = self.pod["spec"]
        self._report("Pending")
        volumes = self._volumes()
        plan = self.plan or {}
        for init in spec.get("initContainers") or []:
            if plan.get("fail") == "init":
                container = Container(init, None)
                container.forced = (int(plan.get("code", 1)), "Error", plan.get("message", ""))
            else:
                container = self._start(init, volumes, play=False)
                self._wait_for(container)
            status = self._container_status(init, self._terminated(container))
            self.init_statuses.append(status)
            if self.stopping.is_set():
                return
            if status["state"]["terminated"]["exitCode"] != 0:
                self.record.phase = "Failed"
                self._report("Failed")
                return
        play = bool(plan) and not ({"kill", "fail"} & plan.keys())
        for container_spec in spec["containers"]:
            is_main = container_spec["name"] == "main"
            self.containers[container_spec["name"]] = self._start(
                container_spec, volumes, play=play and is_main
            )
        self._report("Running")
        if plan.get("kill"):
            threading.Thread(target=self._inject, args=(plan,), daemon=True).start()
        self._watch(plan)

    def _wait_for(self, container: Container) -> None:
        assert container.popen is not None
        while container.popen.poll() is None:
            if self.stopping.wait(POLL_SECONDS):
                container.kill()
                container.popen.wait()
                return

    def _watch(self, plan: dict[str, Any]) -> None:
        pending = dict(self.containers)
        main_ended_at: float | None = None
        while pending and not self.stopping.is_set():
            for name, container in list(pending.items()):
                assert container.popen is not None
                if container.popen.poll() is None and container.forced is None:
                    continue
                if name == "wait" and plan.get("fail") == "wait" and container.forced is None:
                    # wait ended on its own before main's end was seen (a loaded machine)
                    container.forced = self._wait_failure(plan)
                if container.forced is not None:
                    container.kill()
                    container.popen.wait()
                with self._lock:
                    container.state = self._terminated(container)
                del pending[name]
                if name == "main":
                    main_ended_at = time.monotonic()
                    if plan.get("fail") == "wait" and "wait" in pending:
                        pending["wait"].forced = self._wait_failure(plan)
                self._report("Running")
            if main_ended_at is not None and "wait" in pending:
                self._terminate_wait(pending["wait"], main_ended_at)
            self.stopping.wait(POLL_SECONDS)
        if self.stopping.is_set():
            return
        codes = [c.state["terminated"]["exitCode"] for c in self.containers.values()]
        phase = "Succeeded" if all(code == 0 for code in codes) else "Failed"
        extra: dict[str, Any] = {}
        if plan.get("kill") == "evict":
            extra = {"reason": "Evicted", "message": plan.get("message", EVICTION_MESSAGE)}
            self.record.reason = "Evicted"
        self.record.phase = phase
        self._report(phase, **extra)

    @staticmethod
    def _wait_failure(plan: dict[str, Any]) -> tuple[int, str, str]:
        return int(plan.get("code", 1)), "Error", str(plan.get("message", ""))

    def _terminate_wait(self, wait: Container, main_ended_at: float) -> None:
        """What the controller's terminateContainers would do through pods/exec: a main that
        ended without writing its exit code (killed) leaves wait polling for it forever."""
        exitcode = self.dir / "volumes" / "var-run-argo" / "ctr" / "main" / "exitcode"
        waited = time.monotonic() - main_ended_at
        if exitcode.exists() or waited < 1.0:
            return
        argoexec = [p for p in wait.tree() if _comm(p) == "argoexec"]
        _signal(argoexec, signal.SIGTERM if waited < 30 else signal.SIGKILL)

    def _step_process(self, main: Container) -> int | None:
        """The emissary's child (the step's own process), once it has started."""
        assert main.popen is not None
        while main.popen.poll() is None and not self.stopping.is_set():
            emissary = [p for p in main.tree() if _comm(p) == "argoexec"]
            steps = [c for p in emissary for c in _descendants(p) if _comm(c) != "argoexec"]
            if steps:
                return steps[0]
            time.sleep(0.05)
        return None

    def _inject(self, plan: dict[str, Any]) -> None:
        main = self.containers.get("main")
        if main is None:
            return
        kind = plan["kill"]
        if kind == "sigkill":
            # `after` counts from the step's start: argoexec itself can take seconds to start.
            step = self._step_process(main)
            if step is None or self.stopping.wait(float(plan.get("after", 0))):
                return
            log.info("pod %s: SIGKILL to the step, pid %s", self.pod_name, step)
            _signal([step], signal.SIGKILL)
            self.record.reason = "SIGKILL to the step"
            return
        if self.stopping.wait(float(plan.get("after", 1))):
            return
        if kind == "oom":
            main.forced = (137, "OOMKilled", "")
        elif kind == "evict":
            for container in self.containers.values():
                if container.popen is not None and container.popen.poll() is None:
                    container.forced = (137, "Error", "")
        else:
            raise ValueError(f"unknown kill {kind!r} in the plan")

    def kill_all(self) -> None:
        for container in self.containers.values():
            container.kill(signal.SIGTERM)
        deadline = time.monotonic() + KILL_GRACE_SECONDS
        for container in self.containers.values():
            if container.popen is None:
                continue
            try:
                container.popen.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                container.kill()
                container.popen.wait()


def _in_container(path: str) -> str:
    """/var/run is a symlink to /run on the host; bwrap cannot make mount points through it."""
    if path == "/var/run" or path.startswith("/var/run/"):
        return "/run" + path[len("/var/run") :]
    return path


def _expand(text: str, env: dict[str, str]) -> str:
    """Kubernetes' $(VAR) references in command, args and env values; $$ escapes."""

    def replace(found: re.Match[str]) -> str:
        if found[0] == "$$":
            return "$"
        return env.get(found[1], found[0])

    return re.sub(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)", replace, text)


class Kubelet:
    """Watches the API for pods, binds them to the lab's node and runs them (one thread each)."""

    def __init__(self, config: KubeletConfig) -> None:
        self.config = config
        self.api = config.api
        self.runs: dict[str, PodRun] = {}
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self._loop, name="kubelet", daemon=True)
        self._journal_lock = threading.Lock()
        self.journal_path = config.root / "journal.jsonl"

    def start(self) -> None:
        self.config.root.mkdir(parents=True, exist_ok=True)
        self._register_node()
        self.thread.start()

    def stop(self) -> None:
        self.stop_event.set()
        self.thread.join(timeout=10)
        for run in list(self.runs.values()):
            run.stopping.set()
        for run in list(self.runs.values()):
            run.join(timeout=10)

    def journal(self, record: PodRecord) -> None:
        with self._journal_lock, open(self.journal_path, "a") as out:
            out.write(json.dumps(asdict(record)) + "\n")

    def _register_node(self) -> None:
        node = {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {
                "name": NODE_NAME,
                "labels": {"kubernetes.io/hostname": NODE_NAME, "kubernetes.io/os": "linux"},
            },
        }
        with contextlib.suppress(ApiError):
            self.api.post("/api/v1/nodes", node)
        resources = {"cpu": str(os.cpu_count() or 2), "memory": "16Gi", "pods": "250"}
        self.api.merge_patch(
            f"/api/v1/nodes/{NODE_NAME}/status",
            {
                "status": {
                    "capacity": resources,
                    "allocatable": resources,
                    "addresses": [{"type": "InternalIP", "address": "127.0.0.1"}],
                    "conditions": [
                        {
                            "type": "Ready",
                            "status": "True",
                            "reason": "KubeletReady",
                            "message": "process kubelet of the Argo lab",
                            "lastHeartbeatTime": now(),
                            "lastTransitionTime": now(),
                        }
                    ],
                    "nodeInfo": {
                        "kubeletVersion": "lab",
                        "operatingSystem": "linux",
                        "architecture": "amd64",
                    },
                }
            },
        )

    def _loop(self) -> None:
        while not self.stop_event.is_set():
            try:
                self._sync()
            except Exception:
                log.exception("kubelet sync")
            self.stop_event.wait(POLL_SECONDS)

    def _sync(self) -> None:
        pods = self.api.get("/api/v1/pods")["items"]
        for pod in pods:
            meta, spec = pod["metadata"], pod["spec"]
            if not spec.get("nodeName"):
                self._bind(meta)
                continue
            if spec["nodeName"] != NODE_NAME:
                continue
            run = self.runs.get(meta["uid"])
            if meta.get("deletionTimestamp"):
                self._delete(pod, run)
            elif run is None and pod.get("status", {}).get("phase") in (None, "Pending"):
                run = PodRun(self, pod)
                self.runs[meta["uid"]] = run
                run.start()
        live = {pod["metadata"]["uid"] for pod in pods}
        for uid in [uid for uid, run in self.runs.items() if uid not in live]:
            self.runs[uid].stopping.set()
            if not self.runs[uid].is_alive():
                del self.runs[uid]

    def _bind(self, meta: dict[str, Any]) -> None:
        binding = {
            "apiVersion": "v1",
            "kind": "Binding",
            "metadata": {"name": meta["name"]},
            "target": {"apiVersion": "v1", "kind": "Node", "name": NODE_NAME},
        }
        with contextlib.suppress(ApiError):
            self.api.post(
                f"/api/v1/namespaces/{meta['namespace']}/pods/{meta['name']}/binding", binding
            )

    def _delete(self, pod: dict[str, Any], run: PodRun | None) -> None:
        meta = pod["metadata"]
        if run is not None:
            run.stopping.set()
            if run.is_alive():
                return  # deleted once its processes are gone
        body = {"gracePeriodSeconds": 0, "preconditions": {"uid": meta["uid"]}}
        with contextlib.suppress(ApiError):
            self.api.delete(f"/api/v1/namespaces/{meta['namespace']}/pods/{meta['name']}", body)
