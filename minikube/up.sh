#!/usr/bin/env bash
# Bring up the whole pipeline on a local minikube cluster, from zero to a finished first run:
# minikube, Argo Workflows (pinned release), MinIO with source and target buckets, the namespace,
# RBAC, Secret and ConfigMap, the step images built inside minikube, the rendered templates and
# the weekly CronWorkflow, demo source data, and a first run. Idempotent: run it again any time.
#
#   minikube/up.sh
#   MINIKUBE_PROFILE=xetra ARGO_VERSION=v4.0.10 XETRA_WEBHOOK_URL=https://... minikube/up.sh
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"

profile="${MINIKUBE_PROFILE:-xetra}"
cpus="${MINIKUBE_CPUS:-4}"
memory="${MINIKUBE_MEMORY:-8g}"
disk="${MINIKUBE_DISK:-30g}"
argo_version="${ARGO_VERSION:-v4.0.10}"
argo_install="https://github.com/argoproj/argo-workflows/releases/download/${argo_version}/install.yaml"
namespace=xetra
registry="${REGISTRY:-localhost/xetra-etl}"
xetra_etl="${XETRA_ETL:-$root/.venv/bin/xetra-etl}"
python="${PYTHON:-$root/.venv/bin/python}"
tag="${TAG:-$("$python" -c 'from common.naming import version; print(version())')}"
wait_timeout="${WAIT_TIMEOUT:-600s}"

log() { printf '\n== %s\n' "$*" >&2; }
k() { kubectl --context "$profile" "$@"; }

for tool in minikube kubectl; do
    command -v "$tool" >/dev/null || { echo "up.sh: $tool is not installed" >&2; exit 1; }
done
[[ -x "$xetra_etl" ]] || { echo "up.sh: $xetra_etl missing: run 'make install'" >&2; exit 1; }

log "minikube profile $profile ($cpus CPUs, $memory memory)"
read -r -a start_args <<<"${MINIKUBE_START_ARGS:-}"
if ! minikube status --profile "$profile" >/dev/null 2>&1; then
    minikube start --profile "$profile" --cpus "$cpus" --memory "$memory" --disk-size "$disk" \
        "${start_args[@]}"
fi

log "Argo Workflows $argo_version"
k create namespace argo --dry-run=client -o yaml | k apply -f -
k apply --server-side --force-conflicts -n argo -f "$argo_install"
k apply --server-side --force-conflicts -f "$here/argo-controller-config.yaml"
# The UI without a login token on this local cluster only: the server acts with its own account.
k -n argo patch deployment argo-server --type json -p \
    '[{"op": "replace", "path": "/spec/template/spec/containers/0/args",
       "value": ["server", "--auth-mode=server"]}]'
k -n argo rollout restart deployment workflow-controller
k -n argo rollout status deployment workflow-controller --timeout "$wait_timeout"
k -n argo rollout status deployment argo-server --timeout "$wait_timeout"

log "namespace $namespace, RBAC, Secret and ConfigMap"
k apply -f "$here/namespace.yaml"
k apply -f "$here/rbac.yaml"
k apply -f "$here/pipeline-config.yaml"
if ! k -n "$namespace" get secret xetra-etl-s3 >/dev/null 2>&1; then
    # Made here, never stored in the repository: a random MinIO root password per cluster.
    secret_key="$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')"
    k -n "$namespace" create secret generic xetra-etl-s3 \
        --from-literal=access-key-id=xetra-minio \
        --from-literal=secret-access-key="$secret_key"
fi
if [[ -n "${XETRA_WEBHOOK_URL:-}" ]]; then
    k -n "$namespace" create secret generic xetra-etl-webhook \
        --from-literal=url="$XETRA_WEBHOOK_URL" --dry-run=client -o yaml | k apply -f -
fi

log "MinIO and the buckets"
k apply -f "$here/minio.yaml"
k -n "$namespace" rollout status deployment minio --timeout "$wait_timeout"
k -n "$namespace" delete job xetra-buckets --ignore-not-found
k apply -f "$here/buckets-job.yaml"
k -n "$namespace" wait --for=condition=complete job/xetra-buckets --timeout "$wait_timeout"

log "step images ($registry, tag $tag) built inside minikube"
while IFS=$'\t' read -r _name dockerfile ref; do
    minikube --profile "$profile" image build --tag "$ref" --file "$dockerfile" "$root"
done < <("$python" "$root/images/build.py" list --registry "$registry" --tag "$tag")

log "templates and the weekly CronWorkflow"
rendered="$(mktemp -d)"
trap 'rm -rf "$rendered"' EXIT
"$xetra_etl" workflows render --out "$rendered" --registry "$registry" --tag "$tag" \
    --namespace "$namespace" >/dev/null
for manifest in "$rendered"/workflowtemplate-*.yaml "$rendered"/cronworkflow-*.yaml; do
    k apply -f "$manifest"
done

log "demo source data"
if ! k -n "$namespace" get job xetra-demo-data >/dev/null 2>&1; then
    sed "s|XETRA_EXTRACT_IMAGE|$registry/extract:$tag|" "$here/demo-data-job.yaml" | k apply -f -
fi
k -n "$namespace" wait --for=condition=complete job/xetra-demo-data --timeout "$wait_timeout"

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
MinIO console (buckets xetra-source and xetra-reports):
  kubectl --context $profile -n $namespace port-forward svc/minio 9001:9001
  then open http://localhost:9001, user xetra-minio, password:
  kubectl --context $profile -n $namespace get secret xetra-etl-s3 \\
    -o jsonpath='{.data.secret-access-key}' | base64 -d
Tear down: minikube/down.sh
HELP
