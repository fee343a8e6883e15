#!/usr/bin/env bash
# Bring up the whole pipeline on a local minikube cluster, from zero to a finished first run:
# minikube, Argo Workflows (pinned release), MinIO with source, target and log buckets (the
# artifact repository), the namespace, RBAC, Secret and ConfigMaps, the step images built inside
# minikube, the rendered templates and the weekly CronWorkflow, demo source data, and a first
# run. Idempotent: run it again any time (a failed Job is recreated). Runs on bash 3.2 (macOS).
#
#   minikube/up.sh
#   MINIKUBE_PROFILE=xetra ARGO_VERSION=v4.0.10 XETRA_WEBHOOK_URL=https://... minikube/up.sh
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"

profile="${MINIKUBE_PROFILE:-xetra}"
cpus="${MINIKUBE_CPUS:-4}"
memory="${MINIKUBE_MEMORY:-8g}"
min_memory_mb=4096
disk="${MINIKUBE_DISK:-30g}"
driver="${MINIKUBE_DRIVER:-}"
argo_version="${ARGO_VERSION:-v4.0.10}"
argo_install="https://github.com/argoproj/argo-workflows/releases/download/${argo_version}/install.yaml"
namespace=xetra
registry="${REGISTRY:-localhost/xetra-etl}"
xetra_etl="${XETRA_ETL:-$root/.venv/bin/xetra-etl}"
python="${PYTHON:-$root/.venv/bin/python}"
wait_timeout="${WAIT_TIMEOUT:-600s}"
poll_seconds="${POLL_SECONDS:-5}"
# Our own server-side apply owner: applying the release as "kubectl" must not strip our settings.
field_manager=xetra-etl

log() { printf '\n== %s\n' "$*" >&2; }
die() { printf 'up.sh: %s\n' "$*" >&2; exit 1; }
k() { kubectl --context "$profile" "$@"; }

# Retry of fan-out TaskGroups and mutex holders across controller restarts need these fixes:
# #14769 (v3.7.2), #16450 (v3.7.17, v4.0.8), #15609/#16160 (v3.7.15, v4.0.6).
argo_version_supported() {
    local version="${1#v}" major minor patch
    IFS=. read -r major minor patch <<<"$version"
    patch="${patch%%[-+]*}"
    case "$major.$minor.$patch" in *[!0-9.]* | .* | *..* | *.) return 1 ;; esac
    if ((major > 4)) || ((major == 4 && minor > 0)); then return 0; fi
    if ((major == 4 && minor == 0 && patch >= 8)); then return 0; fi
    ((major == 3 && minor == 7 && patch >= 17))
}

# A memory size as minikube takes it (8g, 8192m, 8192) in MiB.
to_mb() {
    case "$1" in
        *[gG] | *[gG][bB]) echo $((${1%%[gG]*} * 1024)) ;;
        *[mM] | *[mM][bB]) echo "${1%%[mM]*}" ;;
        *) echo "$1" ;;
    esac
}

# What the docker or podman VM offers, in MiB (empty when unknown or another driver).
driver_memory_mb() {
    local bytes=""
    case "$1" in
        docker) bytes="$(docker info --format '{{.MemTotal}}' 2>/dev/null || true)" ;;
        podman) bytes="$(podman info --format '{{.Host.MemTotal}}' 2>/dev/null || true)" ;;
    esac
    case "$bytes" in '' | *[!0-9]*) echo "" ;; *) echo $((bytes / 1024 / 1024)) ;; esac
}

# "Complete", "Failed" or "" (running) for a Job; "absent" when there is none.
job_state() {
    local conditions
    conditions="$(k -n "$namespace" get job "$1" \
        -o jsonpath='{range .status.conditions[?(@.status=="True")]}{.type}{" "}{end}' \
        2>/dev/null)" || { echo absent; return 0; }
    case "$conditions" in
        *Complete*) echo Complete ;;
        *Failed*) echo Failed ;;
        *) echo "" ;;
    esac
}

# Wait until a Job is Complete (0) or Failed (stop with advice) within the wait timeout.
wait_job() {
    local name="$1" state deadline=$((SECONDS + ${wait_timeout%s}))
    while :; do
        state="$(job_state "$name")"
        case "$state" in
            Complete) return 0 ;;
            Failed | absent)
                die "job $name ${state}: kubectl --context $profile -n $namespace logs job/$name" ;;
        esac
        ((SECONDS < deadline)) || die "job $name not finished after $wait_timeout"
        sleep "$poll_seconds"
    done
}

# Create a Job from stdin unless it exists; a Failed one is deleted and created again.
ensure_job() {
    local name="$1" manifest
    manifest="$(cat)"
    if [[ "$(job_state "$name")" == Failed ]]; then
        log "job $name failed before: creating it again"
        k -n "$namespace" delete job "$name" --wait=true
    fi
    if [[ "$(job_state "$name")" == absent ]]; then
        printf '%s\n' "$manifest" | k apply -f -
    fi
    wait_job "$name"
}

for tool in minikube kubectl; do
    command -v "$tool" >/dev/null || die "$tool is not installed"
done
[[ -x "$xetra_etl" && -x "$python" ]] || die "$root/.venv missing: run 'make install'"
argo_version_supported "$argo_version" ||
    die "ARGO_VERSION=$argo_version is not supported: use v4.0.8+ or v3.7.17+ (retry of fan-out" \
        "task groups and mutexes across controller restarts are broken before; see README)"
tag="${TAG:-$("$python" -c 'from xetra_etl.common.infra.naming import version; print(version())')}"

log "minikube profile $profile ($cpus CPUs, $memory memory)"
read -r -a start_args <<<"${MINIKUBE_START_ARGS:-}"
if ! minikube status --profile "$profile" >/dev/null 2>&1; then
    [[ -n "$driver" ]] || driver="$(minikube config get driver 2>/dev/null || true)"
    available_mb="$(driver_memory_mb "$driver")"
    if [[ -n "$available_mb" ]] && (($(to_mb "$memory") > available_mb)); then
        ((available_mb >= min_memory_mb)) ||
            die "the $driver VM has ${available_mb} MiB; the pipeline needs ${min_memory_mb}:" \
                "give it more (podman machine set --memory 8192, or Docker Desktop settings)"
        log "the $driver VM has ${available_mb} MiB: asking minikube for that, not $memory"
        memory="${available_mb}m"
    fi
    driver_args=()
    [[ -z "$driver" ]] || driver_args=(--driver "$driver")
    # ${a[@]+"${a[@]}"}: an empty array under `set -u` stops bash before 4.4 otherwise.
    minikube start --profile "$profile" --cpus "$cpus" --memory "$memory" --disk-size "$disk" \
        ${driver_args[@]+"${driver_args[@]}"} ${start_args[@]+"${start_args[@]}"}
fi

log "Argo Workflows $argo_version"
k create namespace argo --dry-run=client -o yaml | k apply -f -
# The release with the UI's --auth-mode=server added, as Argo's quick-start overlay does it.
kustomize_dir="$(mktemp -d)"
rendered="$(mktemp -d)"
trap 'rm -rf "$kustomize_dir" "$rendered"' EXIT
cat >"$kustomize_dir/kustomization.yaml" <<KUSTOMIZE
namespace: argo
resources:
  - $argo_install
patches:
  - target: {kind: Deployment, name: argo-server}
    patch: |-
      - op: add
        path: /spec/template/spec/containers/0/args/-
        value: --auth-mode=server
KUSTOMIZE
k kustomize "$kustomize_dir" | k apply --server-side --force-conflicts -f -
# The controller watches its ConfigMap: no restart needed, and with our own field manager the
# release's apply above no longer strips these settings on a rerun.
k apply --server-side --force-conflicts --field-manager="$field_manager" \
    -f "$here/argo-controller-config.yaml"
k -n argo rollout status deployment workflow-controller --timeout "$wait_timeout"
k -n argo rollout status deployment argo-server --timeout "$wait_timeout"

log "namespace $namespace, RBAC, Secret and ConfigMaps"
k apply -f "$here/namespace.yaml"
k apply -f "$here/rbac.yaml"
k apply -f "$here/pipeline-config.yaml"
k apply -f "$here/artifact-repository.yaml"
if ! k -n "$namespace" get secret xetra-etl-s3 >/dev/null 2>&1; then
    # Made here, never stored in the repository: a random MinIO root password per cluster,
    # passed on stdin so that it never shows in `ps`.
    head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' |
        k -n "$namespace" create secret generic xetra-etl-s3 \
            --from-literal=access-key-id=xetra-minio --from-file=secret-access-key=/dev/stdin
fi
if [[ -n "${XETRA_WEBHOOK_URL:-}" ]]; then
    printf '%s' "$XETRA_WEBHOOK_URL" |
        k -n "$namespace" create secret generic xetra-etl-webhook --from-file=url=/dev/stdin \
            --dry-run=client -o yaml | k apply -f -
fi

log "MinIO and the buckets"
k apply -f "$here/minio.yaml"
k -n "$namespace" rollout status deployment minio --timeout "$wait_timeout"
k -n "$namespace" delete job xetra-buckets --ignore-not-found --wait=true
ensure_job xetra-buckets <"$here/buckets-job.yaml"

log "step images ($registry, tag $tag) built inside minikube"
# Listed first: a failing list stops here (set -e does not see a failure inside `< <(...)`).
images="$("$python" "$root/images/build.py" list --registry "$registry" --tag "$tag")"
while IFS=$'\t' read -r _name dockerfile ref; do
    minikube --profile "$profile" image build --tag "$ref" --file "$dockerfile" "$root"
    # `minikube image build` exits 0 when the build fails (minikube #16576): look for the image.
    minikube --profile "$profile" ssh -- sudo crictl inspecti "$ref" >/dev/null 2>&1 ||
        die "image $ref was not built: read the build output above"
done <<<"$images"

log "templates and the weekly CronWorkflow"
"$xetra_etl" workflows render --out "$rendered" --registry "$registry" --tag "$tag" \
    --namespace "$namespace" >/dev/null
for manifest in "$rendered"/workflowtemplate-*.yaml "$rendered"/cronworkflow-*.yaml; do
    k apply -f "$manifest"
done

log "demo source data"
sed "s|XETRA_EXTRACT_IMAGE|$registry/extract:$tag|" "$here/demo-data-job.yaml" |
    ensure_job xetra-demo-data

log "first run"
if [[ -z "$(k -n "$namespace" get workflows -l xetra-etl/run=first -o name)" ]]; then
    k create -f "$here/first-run.yaml"
fi
k -n "$namespace" get workflows -l xetra-etl/run=first

cat >&2 <<HELP

Ready. The first run is under way:
  kubectl --context $profile -n $namespace get workflows -w
Argo UI (workflows, logs, Retry):
  kubectl --context $profile -n argo port-forward svc/argo-server 2746:2746
  then open https://localhost:2746 (self-signed certificate; no login on this local cluster)
  xetra-etl argo ... against it: ARGO_SERVER=localhost:2746 ARGO_INSECURE_SKIP_VERIFY=true
MinIO console (buckets xetra-source, xetra-reports and the step logs in xetra-argo-logs):
  kubectl --context $profile -n $namespace port-forward svc/minio 9001:9001
  then open http://localhost:9001, user xetra-minio, password:
  kubectl --context $profile -n $namespace get secret xetra-etl-s3 \\
    -o jsonpath='{.data.secret-access-key}' | base64 -d
Tear down: minikube/down.sh
HELP
