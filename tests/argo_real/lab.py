"""The Argo lab: a real Argo control plane on one machine, without containers or a cluster.

SeaweedFS (S3), etcd, kube-apiserver (RBAC, token auth, service-account keys), Argo's CRDs,
`minikube/`'s namespace, RBAC, ConfigMaps, Secret and artifact repository applied as
`minikube/up.sh` applies them (the S3 endpoint pointed at the local SeaweedFS), the real
workflow-controller under the release's own ServiceAccount and ClusterRole, and the process
kubelet (kubelet.py). Binaries come from `tests/argo_real/go/build.sh`.

    with Lab(work_dir) as lab:          # in a test (see conftest.py)
        lab.kubectl("apply", "-n", "xetra", "-f", "workflows/manifests/")
        lab.argo("submit", "-n", "xetra", "--from", "workflowtemplate/xetra-etl")

    python -m tests.argo_real.lab up --dir .argo-lab      # make argo-lab
    python -m tests.argo_real.lab up --dir .argo-lab --images   # make argo-lab ARGO_LAB_IMAGES=1
    python -m tests.argo_real.lab down --dir .argo-lab    # make argo-lab-down
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

import yaml

from tests.argo_real.kube import ApiError, KubeAPI
from tests.argo_real.kubelet import ImageRoot, Kubelet, KubeletConfig, Plans
from tests.s3servers import S3Server, free_ports, running_seaweedfs

REPO = Path(__file__).resolve().parents[2]
GO = REPO / "tests" / "argo_real" / "go"
MINIKUBE = REPO / "minikube"
ARGO_MODULE = "github.com/argoproj/argo-workflows/v4"
ARGO_VERSION = "v4.0.5"
KUBE_VERSION = "v1.36.3"
ETCD_VERSION = "v3.6.16"
EXECUTOR_IMAGE = "argoexec:lab"
NAMESPACE = "xetra"
BUCKETS = ("xetra-source", "xetra-reports", "xetra-argo-logs")
START_TIMEOUT = 180.0
STOP_GRACE = 15.0

log = logging.getLogger("argo-lab")


def build_binaries() -> Path:
    """The bin folder of the cached build (built first when the sources changed)."""
    result = subprocess.run(
        [str(GO / "build.sh")], stdout=subprocess.PIPE, text=True, check=False, timeout=3600
    )
    if result.returncode:
        raise RuntimeError(f"tests/argo_real/go/build.sh failed with exit {result.returncode}")
    return Path(result.stdout.strip().splitlines()[-1])


def argo_module_dir() -> Path:
    """The Argo module's folder in the Go module cache: its manifests (CRDs, controller RBAC)."""
    reply = subprocess.run(
        ["go", "mod", "download", "-json", f"{ARGO_MODULE}@{ARGO_VERSION}"],
        capture_output=True,
        text=True,
        check=True,
        cwd="/",
        env={**os.environ, "GOFLAGS": "-mod=mod"},
    )
    return Path(json.loads(reply.stdout)["Dir"])


class Process:
    """A child process in its own session with a log file; stopped by SIGTERM, then SIGKILL."""

    def __init__(self, name: str, argv: list[str], log_dir: Path, env: dict[str, str]) -> None:
        self.name = name
        self.log_path = log_dir / f"{name}.log"
        with open(self.log_path, "ab") as out:
            self.popen = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env=env,
            )

    def check(self) -> None:
        if self.popen.poll() is not None:
            tail = "\n".join(self.log_path.read_text(errors="replace").splitlines()[-30:])
            raise RuntimeError(f"{self.name} exited with {self.popen.returncode}:\n{tail}")

    def stop(self, grace: float = STOP_GRACE) -> None:
        stop_pids([self.popen.pid], grace)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(1)


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    with contextlib.suppress(OSError):
        if Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
            return False
    return True


def stop_pids(pids: list[int], grace: float) -> None:
    """SIGTERM each process group, SIGKILL what still runs after `grace` seconds."""
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(process_alive(pid) for pid in pids):
        time.sleep(0.2)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)


class Lab:
    """Everything of the lab under one work folder; `with Lab(dir) as lab:` or start()/stop()."""

    def __init__(
        self,
        work_dir: Path,
        *,
        stop_grace: float = STOP_GRACE,
        images: Mapping[str, ImageRoot] | None = None,
    ) -> None:
        self.dir = work_dir.resolve()
        self.stop_grace = stop_grace
        self.images = dict(images or {})  # image mode from the start (kubelet.py)
        self.processes: list[Process] = []
        self.stack = contextlib.ExitStack()
        self.s3: S3Server | None = None
        self.kubelet: Kubelet | None = None
        self.bin = Path()
        self.server = ""
        self.admin_token = secrets.token_hex(16)
        self.kubeconfig = self.dir / "kubeconfig"
        self.plan_path = self.dir / "plan.json"
        self.journal_path = self.dir / "kubelet" / "journal.jsonl"

    # ---- life cycle -----------------------------------------------------------------------------
    def __enter__(self) -> Lab:
        self.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def start(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        (self.dir / "logs").mkdir(exist_ok=True)
        try:
            self.bin = build_binaries()
            self._record_pid(os.getpid())
            self.s3 = self.stack.enter_context(
                running_seaweedfs(self.dir / "seaweedfs", stop_timeout=2.0)
            )
            self._record_pid(self._weed_pid())
            for bucket in BUCKETS:
                self.s3.make_bucket(bucket)
            self._start_etcd()
            self._start_apiserver()
            self._bootstrap()
            self._start_controller()
            self._start_kubelet()
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        if self.kubelet is not None:
            self.kubelet.stop()
            self.kubelet = None
        for process in reversed(self.processes):
            process.stop(self.stop_grace)
        self.processes.clear()
        self.stack.close()

    def _record_pid(self, pid: int | None) -> None:
        if pid:
            with open(self.dir / "pids", "a") as out:
                out.write(f"{pid}\n")

    def _weed_pid(self) -> int | None:
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                with contextlib.suppress(OSError):
                    cmdline = (entry / "cmdline").read_bytes().split(b"\0")
                    if str(self.dir).encode() in b" ".join(cmdline) and cmdline[0].endswith(
                        b"weed"
                    ):
                        return int(entry.name)
        return None

    def _spawn(self, name: str, argv: list[str], **env: str) -> Process:
        process = Process(name, argv, self.dir / "logs", {**os.environ, **env})
        self.processes.append(process)
        self._record_pid(process.popen.pid)
        return process

    def _wait(self, what: str, ready: Any, process: Process | None = None) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        last: Exception | None = None
        while time.monotonic() < deadline:
            if process is not None:
                process.check()
            try:
                if ready():
                    return
            except Exception as exc:
                last = exc
            time.sleep(0.5)
        raise RuntimeError(f"{what} not ready after {START_TIMEOUT:.0f} s (last error: {last})")

    # ---- etcd and kube-apiserver ----------------------------------------------------------------
    def _start_etcd(self) -> None:
        client, peer = free_ports(2)
        self.etcd_url = f"http://127.0.0.1:{client}"
        etcd = self._spawn(
            "etcd",
            [
                str(self.bin / "etcd"),
                "--data-dir", str(self.dir / "etcd"),
                "--listen-client-urls", self.etcd_url,
                "--advertise-client-urls", self.etcd_url,
                "--listen-peer-urls", f"http://127.0.0.1:{peer}",
                "--initial-advertise-peer-urls", f"http://127.0.0.1:{peer}",
                "--initial-cluster", f"default=http://127.0.0.1:{peer}",
                "--log-level", "warn",
            ],
        )  # fmt: skip

        def healthy() -> bool:
            with urllib.request.urlopen(f"{self.etcd_url}/health", timeout=2) as reply:
                return b'"true"' in reply.read()

        self._wait("etcd", healthy, etcd)

    def _start_apiserver(self) -> None:
        certs = self.dir / "certs"
        certs.mkdir(exist_ok=True)
        key = certs / "service-account.key"
        subprocess.run(
            ["openssl", "genrsa", "-out", str(key), "2048"], check=True, capture_output=True
        )
        subprocess.run(
            ["openssl", "rsa", "-in", str(key), "-pubout", "-out", str(certs / "sa.pub")],
            check=True,
            capture_output=True,
        )
        tokens = certs / "tokens.csv"
        tokens.write_text(f'{self.admin_token},lab-admin,lab-admin,"system:masters"\n')
        (port,) = free_ports(1)
        self.api_port = port
        self.server = f"https://127.0.0.1:{port}"
        apiserver = self._spawn(
            "kube-apiserver",
            [
                str(self.bin / "kube-apiserver"),
                f"--etcd-servers={self.etcd_url}",
                "--bind-address=127.0.0.1",
                "--advertise-address=127.0.0.1",
                f"--secure-port={port}",
                f"--cert-dir={certs}",
                "--service-cluster-ip-range=10.0.0.0/16",
                "--service-account-issuer=https://kubernetes.default.svc",
                f"--service-account-key-file={certs / 'sa.pub'}",
                f"--service-account-signing-key-file={key}",
                f"--token-auth-file={tokens}",
                "--authorization-mode=RBAC",
                "--endpoint-reconciler-type=none",
                "--enable-priority-and-fairness=false",
                "--v=1",
            ],
        )
        self.ca_file = certs / "apiserver.crt"
        self._wait("kube-apiserver certificate", self.ca_file.exists, apiserver)
        self.api = KubeAPI(self.server, self.admin_token, self.ca_file)

        def ready() -> bool:
            self.api.get("/readyz")
            return True

        self._wait("kube-apiserver", ready, apiserver)
        self._write_kubeconfig(self.kubeconfig, self.admin_token, "lab-admin")

    def _write_kubeconfig(self, path: Path, token: str, user: str) -> None:
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": "argo-lab",
                    "cluster": {"server": self.server, "certificate-authority": str(self.ca_file)},
                }
            ],
            "users": [{"name": user, "user": {"token": token}}],
            "contexts": [
                {
                    "name": "argo-lab",
                    "context": {"cluster": "argo-lab", "user": user, "namespace": NAMESPACE},
                }
            ],
            "current-context": "argo-lab",
        }
        path.write_text(yaml.safe_dump(config))
        path.chmod(0o600)

    # ---- what up.sh applies ---------------------------------------------------------------------
    def _bootstrap(self) -> None:
        module = argo_module_dir() / "manifests"
        crds = sorted((module / "base" / "crds" / "full").glob("argoproj.io_*.yaml"))
        self.kubectl("apply", "--server-side", *[a for c in crds for a in ("-f", str(c))])
        self.kubectl("create", "namespace", "argo")
        self._apply_docs(self._controller_rbac(module))
        self.kubectl(
            "wait", "--for=condition=Established", "--timeout=120s",
            *[f"crd/{yaml.safe_load(c.read_text())['metadata']['name']}" for c in crds],
        )  # fmt: skip
        # up.sh: the controller config with its own field manager, then our namespace and the rest.
        controller_config = yaml.safe_load((MINIKUBE / "argo-controller-config.yaml").read_text())
        (self.metrics_port,) = free_ports(1)
        controller_config["data"]["metricsConfig"] = f"port: {self.metrics_port}\n"
        self._apply_docs([controller_config], "--server-side", "--field-manager=xetra-etl")
        self.kubectl("apply", "-f", str(MINIKUBE / "namespace.yaml"))
        self._namespace_defaults("argo")
        self._namespace_defaults(NAMESPACE)
        self.kubectl("apply", "-f", str(MINIKUBE / "rbac.yaml"))
        assert self.s3 is not None
        endpoint = self.s3.endpoint_url
        pipeline = yaml.safe_load((MINIKUBE / "pipeline-config.yaml").read_text())
        pipeline["data"]["aws-endpoint-url"] = endpoint
        self._apply_docs([pipeline])
        repository = yaml.safe_load((MINIKUBE / "artifact-repository.yaml").read_text())
        repo = yaml.safe_load(repository["data"]["minio"])
        repo["s3"]["endpoint"] = endpoint.removeprefix("http://")
        repository["data"]["minio"] = yaml.safe_dump(repo)
        self._apply_docs([repository])
        credentials = self.s3.env()
        self.kubectl(
            "-n", NAMESPACE, "create", "secret", "generic", "xetra-etl-s3",
            f"--from-literal=access-key-id={credentials['AWS_ACCESS_KEY_ID']}",
            f"--from-literal=secret-access-key={credentials['AWS_SECRET_ACCESS_KEY']}",
        )  # fmt: skip

    def _controller_rbac(self, module: Path) -> list[dict[str, Any]]:
        """The release's controller ServiceAccount, Role and ClusterRole with their bindings,
        placed in namespace argo as the release's kustomization does."""
        files = [module / "base" / "workflow-controller" / "workflow-controller-sa.yaml"]
        rbac = module / "cluster-install-no-crds" / "workflow-controller-rbac"
        files += sorted(p for p in rbac.glob("*.yaml") if p.name != "kustomization.yaml")
        docs = [d for f in files for d in yaml.safe_load_all(f.read_text()) if d]
        for doc in docs:
            if doc["kind"] in ("ServiceAccount", "Role", "RoleBinding"):
                doc["metadata"]["namespace"] = "argo"
            for subject in doc.get("subjects", []):
                subject.setdefault("namespace", "argo")
        return docs

    def _namespace_defaults(self, namespace: str) -> None:
        """What kube-controller-manager makes in every namespace (there is none here): the
        `default` ServiceAccount and the `kube-root-ca.crt` ConfigMap."""
        self.kubectl("-n", namespace, "create", "serviceaccount", "default")
        self.kubectl(
            "-n", namespace, "create", "configmap", "kube-root-ca.crt",
            f"--from-file=ca.crt={self.ca_file}",
        )  # fmt: skip

    def _apply_docs(self, docs: list[dict[str, Any]], *flags: str) -> None:
        text = yaml.safe_dump_all(docs)
        self.kubectl("apply", *flags, "-f", "-", input=text)

    # ---- controller and kubelet -----------------------------------------------------------------
    def _start_controller(self) -> None:
        token = self.kubectl("-n", "argo", "create", "token", "argo", "--duration=48h").strip()
        controller_kubeconfig = self.dir / "controller.kubeconfig"
        self._write_kubeconfig(controller_kubeconfig, token, "argo")
        self.controller = self._spawn(
            "workflow-controller",
            [
                str(self.bin / "workflow-controller"),
                "--kubeconfig", str(controller_kubeconfig),
                "--namespace", "argo",
                "--executor-image", EXECUTOR_IMAGE,
                "--loglevel", "info",
            ],
            LEADER_ELECTION_DISABLE="true",
        )  # fmt: skip
        log_path = self.controller.log_path
        self._wait(
            "workflow-controller",
            lambda: (
                "Starting Workflow Controller" in log_path.read_text(errors="replace")
                or "started" in log_path.read_text(errors="replace").lower()
            ),
            self.controller,
        )

    def _start_kubelet(self) -> None:
        venv_bin = Path(sys.executable).parent
        lab_bin = self.dir / "kubelet-bin"
        lab_bin.mkdir(exist_ok=True)
        play = lab_bin / "play"
        play.write_text(
            f"#!{sys.executable}\nimport runpy\n"
            f"runpy.run_path({str(Path(__file__).parent / 'play.py')!r}, run_name='__main__')\n"
        )
        play.chmod(0o755)
        venv = venv_bin.parent
        config = KubeletConfig(
            root=self.dir / "kubelet",
            api=self.api,
            api_host="127.0.0.1",
            api_port=self.api_port,
            plan=Plans(self.plan_path),
            path=[str(lab_bin), str(self.bin), str(venv_bin), "/usr/local/sbin",
                  "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"],
            bind_back=[lab_bin, self.bin, venv, REPO, Path(sys.base_prefix)],
            python=sys.executable,
            images=self.images,
        )  # fmt: skip
        self.kubelet = Kubelet(config)
        self.kubelet.start()

    # ---- using it -------------------------------------------------------------------------------
    @contextlib.contextmanager
    def image_mode(self, roots: Mapping[str, ImageRoot]) -> Iterator[None]:
        """Pods started in the block run containers of these images from their root filesystems
        (kubelet.py's image mode); the images mapped before are mapped again after it."""
        before = dict(self.images)
        self.images.update(roots)
        try:
            yield
        finally:
            self.images.clear()
            self.images.update(before)

    def env(self) -> dict[str, str]:
        """Environment for kubectl and argo against the lab."""
        return {**os.environ, "KUBECONFIG": str(self.kubeconfig), "ARGO_NAMESPACE": NAMESPACE}

    def _run(self, tool: str, args: tuple[str, ...], input: str | None, check: bool) -> str:
        result = subprocess.run(
            [str(self.bin / tool), *args],
            input=input,
            capture_output=True,
            text=True,
            env=self.env(),
            timeout=300,
            check=False,
        )
        if check and result.returncode:
            raise RuntimeError(
                f"{tool} {' '.join(args)}: exit {result.returncode}\n{result.stderr}{result.stdout}"
            )
        return result.stdout

    def kubectl(self, *args: str, input: str | None = None, check: bool = True) -> str:
        return self._run("kubectl", args, input, check)

    def argo(self, *args: str, input: str | None = None, check: bool = True) -> str:
        return self._run("argo", args, input, check)

    def make_namespace(self, namespace: str) -> None:
        """A namespace for workflows beside `xetra`: its `default` ServiceAccount may write
        WorkflowTaskResults (Argo's executor role), and `kube-root-ca.crt` exists."""
        self.kubectl("create", "namespace", namespace)
        self._namespace_defaults(namespace)
        self.kubectl(
            *("-n", namespace, "create", "role", "executor"),
            *("--verb=create,patch", "--resource=workflowtaskresults.argoproj.io"),
        )
        self.kubectl(
            *("-n", namespace, "create", "rolebinding", "executor"),
            *("--role=executor", f"--serviceaccount={namespace}:default"),
        )

    def delete_workflow(self, name: str, namespace: str = NAMESPACE) -> None:
        """The workflow and its pods (nothing here garbage-collects pods by owner)."""
        self.kubectl("-n", namespace, "delete", "workflow", name, "--ignore-not-found")
        self.kubectl(
            *("-n", namespace, "delete", "pods", "--ignore-not-found", "--wait=true"),
            *("-l", f"workflows.argoproj.io/workflow={name}", "--timeout=120s"),
        )

    def set_plan(self, plan: dict[str, list[dict[str, Any]]], namespace: str | None = None) -> None:
        """Planned pod outcomes by node name (kubelet.py); replaces the previous plan. With a
        namespace, a plan for that namespace's pods only, which they take instead of the
        lab's."""
        path = self.plan_path
        if namespace is not None:
            path = self.plan_path.parent / "plans" / f"{namespace}.json"
            path.parent.mkdir(exist_ok=True)
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(plan))
        temporary.replace(path)

    def journal(self) -> list[dict[str, Any]]:
        """Every pod the kubelet finished, in order (kubelet.PodRecord as dicts)."""
        if not self.journal_path.exists():
            return []
        return [json.loads(line) for line in self.journal_path.read_text().splitlines() if line]

    def workflow(self, name: str, namespace: str = NAMESPACE) -> dict[str, Any]:
        return dict(
            self.api.get(f"/apis/argoproj.io/v1alpha1/namespaces/{namespace}/workflows/{name}")
        )

    def wait_workflow(
        self, name: str, timeout: float = 600.0, namespace: str = NAMESPACE
    ) -> dict[str, Any]:
        """The workflow once it has finished (phase Succeeded, Failed or Error)."""
        deadline = time.monotonic() + timeout
        while True:
            self.controller.check()
            with contextlib.suppress(ApiError):
                workflow = self.workflow(name, namespace)
                labels = workflow["metadata"].get("labels", {})
                # The completed label is set once the final status is stored.
                if labels.get("workflows.argoproj.io/completed") == "true":
                    return workflow
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"workflow {name} not finished after {timeout:.0f} s:\n"
                    + self.argo("get", "-n", namespace, name, check=False)
                )
            time.sleep(1.0)

    def versions(self) -> str:
        argo = self.argo("version", "--short", check=False).strip()
        kube = self.kubectl("version", check=False).strip().replace("\n", "; ")
        return f"Argo {argo} (module {ARGO_VERSION}); Kubernetes {kube}; etcd {ETCD_VERSION}"


def iter_nodes(workflow: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The workflow's status nodes."""
    yield from workflow.get("status", {}).get("nodes", {}).values()


# ---- make argo-lab / argo-lab-down ---------------------------------------------------------------
def _up(work_dir: Path, images: bool) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    stopping: list[int] = []
    signal.signal(signal.SIGTERM, lambda sig, frame: stopping.append(sig))
    (work_dir / "pids").unlink(missing_ok=True)
    (work_dir / "ready").unlink(missing_ok=True)
    with contextlib.ExitStack() as stack:
        roots: dict[str, ImageRoot] = {}
        if images:  # buildah is needed only then
            from tests.argo_real.step_images import build_for, mounted_images, template_images

            refs = template_images(REPO / "workflows" / "manifests")
            build_for(refs)
            roots = stack.enter_context(mounted_images(refs, build_binaries() / "argoexec"))
        lab = stack.enter_context(Lab(work_dir, images=roots))
        assert lab.s3 is not None
        info = {
            "server": lab.server,
            "kubeconfig": str(lab.kubeconfig),
            "s3": lab.s3.endpoint_url,
            "s3_env": lab.s3.env(),
            "bin": str(lab.bin),
            "versions": lab.versions(),
            "images": {ref: str(root.rootfs) for ref, root in roots.items()},
        }
        (work_dir / "ready").write_text(json.dumps(info, indent=2))
        while not stopping:
            lab.controller.check()
            time.sleep(1.0)
    return 0


def _start_background(work_dir: Path, timeout: float, images: bool) -> int:
    work_dir.mkdir(parents=True, exist_ok=True)
    if (work_dir / "pids").exists() and any(process_alive(p) for p in _pids(work_dir)):
        print(f"argo-lab: already running (make argo-lab-down first); {work_dir}/ready")
        return 1
    (work_dir / "ready").unlink(missing_ok=True)
    with open(work_dir / "lab.log", "ab") as out:
        child = subprocess.Popen(
            [sys.executable, "-m", "tests.argo_real.lab", "up", "--dir", str(work_dir)]
            + (["--images"] if images else []),
            cwd=REPO,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + timeout
    while not (work_dir / "ready").exists():
        if child.poll() is not None or time.monotonic() > deadline:
            print(f"argo-lab: did not start; see {work_dir}/lab.log and {work_dir}/logs/")
            return 1
        time.sleep(1.0)
    info = json.loads((work_dir / "ready").read_text())
    s3 = info["s3_env"]
    mode = "the steps run from the project's venv"
    if info["images"]:
        mode = "image mode: the steps run from " + ", ".join(
            f"{ref} at {rootfs}" for ref, rootfs in info["images"].items()
        )
    print(
        f"""argo-lab is up: {info["versions"]}
  Pods:        {mode}
  API server:  {info["server"]}   (kubeconfig {info["kubeconfig"]})
  S3:          {info["s3"]}   (SeaweedFS; buckets {", ".join(BUCKETS)})
Point kubectl and argo at it:
  export KUBECONFIG={info["kubeconfig"]} PATH={info["bin"]}:$PATH
  kubectl apply -n {NAMESPACE} -f workflows/manifests/
  argo submit -n {NAMESPACE} --from workflowtemplate/xetra-etl \\
    -p first-date=2017-07-27 -p last-date=2017-07-28 --watch
Source data goes to s3://xetra-source/xetra-pds/<date>/ (e.g. with the aws CLI or boto3:
  AWS_ENDPOINT_URL={info["s3"]} AWS_ACCESS_KEY_ID={s3["AWS_ACCESS_KEY_ID"]} \
AWS_SECRET_ACCESS_KEY={s3["AWS_SECRET_ACCESS_KEY"]}).
Logs: {work_dir}/logs/, pods: {work_dir}/kubelet/. Stop: make argo-lab-down"""
    )
    return 0


def _pids(work_dir: Path) -> list[int]:
    path = work_dir / "pids"
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def _down(work_dir: Path, grace: float) -> int:
    pids = _pids(work_dir)
    if not pids:
        print(f"argo-lab: nothing recorded in {work_dir}/pids")
        return 0
    # The lab process first (it stops its children in order), then whatever is left, by PID.
    stop_pids(pids[:1], grace + 5)
    stop_pids([p for p in pids[1:] if process_alive(p)], grace)
    left = [p for p in pids if process_alive(p)]
    (work_dir / "pids").unlink(missing_ok=True)
    (work_dir / "ready").unlink(missing_ok=True)
    print("argo-lab: stopped" + (f"; still alive: {left}" if left else ""))
    return 1 if left else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.argo_real.lab")
    parser.add_argument("command", choices=["up", "start", "down"])
    parser.add_argument("--dir", type=Path, default=REPO / ".argo-lab")
    parser.add_argument("--timeout", type=float, default=1800.0)
    parser.add_argument("--grace", type=float, default=STOP_GRACE)
    parser.add_argument(
        "--images",
        action="store_true",
        help="image mode: build and mount the step images; pods run from their root filesystems",
    )
    args = parser.parse_args(argv)
    work_dir = args.dir.resolve()
    if args.command == "up":
        return _up(work_dir, args.images)
    if args.command == "start":
        return _start_background(work_dir, args.timeout, args.images)
    return _down(work_dir, args.grace)


if __name__ == "__main__":
    sys.exit(main())
