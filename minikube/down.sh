#!/usr/bin/env bash
# Remove everything minikube/up.sh made: the pipeline namespace (workflows, MinIO and its data),
# Argo Workflows, and the minikube profile itself. Idempotent: missing pieces are skipped.
#
#   minikube/down.sh                  # delete the whole profile
#   KEEP_CLUSTER=1 minikube/down.sh   # keep the cluster, remove only what up.sh installed
set -euo pipefail

profile="${MINIKUBE_PROFILE:-xetra}"
argo_version="${ARGO_VERSION:-v4.0.10}"
argo_install="https://github.com/argoproj/argo-workflows/releases/download/${argo_version}/install.yaml"

k() { kubectl --context "$profile" "$@"; }

if ! minikube status --profile "$profile" >/dev/null 2>&1; then
    if [[ "${KEEP_CLUSTER:-0}" == 1 ]]; then
        echo "down.sh: minikube profile $profile is not running; nothing removed" >&2
    elif minikube profile list -o json 2>/dev/null | grep -q "\"Name\":\"$profile\""; then
        minikube delete --profile "$profile" >/dev/null
        echo "down.sh: deleted the stopped minikube profile $profile" >&2
    else
        echo "down.sh: there is no minikube profile $profile; nothing to remove" >&2
    fi
    exit 0
fi

if [[ "${KEEP_CLUSTER:-0}" == 1 ]]; then
    # Workflows first, while the controller still runs to remove their finalizers.
    k -n xetra delete workflows,cronworkflows,workflowtemplates --all --ignore-not-found \
        --wait=true --timeout=120s || true
    k delete namespace xetra --ignore-not-found --wait=true
    k delete -n argo -f "$argo_install" --ignore-not-found --wait=true || true
    k delete namespace argo --ignore-not-found --wait=true
    echo "down.sh: removed the pipeline and Argo from profile $profile" >&2
else
    minikube delete --profile "$profile"
    echo "down.sh: deleted minikube profile $profile" >&2
fi
