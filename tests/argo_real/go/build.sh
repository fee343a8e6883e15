#!/usr/bin/env bash
# Builds the real-Argo lab's binaries (argo, workflow-controller, argoexec, kube-apiserver,
# kubectl, etcd) from the pinned Go modules beside this script, into a cache outside the clone
# keyed by the versions and our Go sources, so a second run (or a fresh clone on the same
# machine) starts at once. Prints the bin folder on its last line of stdout.
#
#   tests/argo_real/go/build.sh           build if needed, print the bin folder
#   tests/argo_real/go/build.sh --print   print the bin folder the sources would use, build nothing
#   tests/argo_real/go/build.sh --prepare only make the patched copy of the Argo module (go vet)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here"

ARGO_MODULE=github.com/argoproj/argo-workflows/v4
ARGO_VERSION=v4.0.5
KUBE_VERSION=v1.36.3
ETCD_VERSION=v3.6.16
# Raise when the build commands below change what the binaries are (flags, packages, patches).
RECIPE=1
export GOFLAGS=-buildvcs=false GOTOOLCHAIN=local

command -v go >/dev/null || { echo "build.sh: go not found; install Go 1.26 (https://go.dev/dl/)" >&2; exit 1; }

key=$( {
	echo "$ARGO_VERSION $KUBE_VERSION $ETCD_VERSION $RECIPE $(go env GOVERSION GOOS GOARCH)"
	find argo kube etcd -type f \( -name '*.go' -o -name 'go.mod' -o -name 'go.sum' \) \
		-print0 | sort -z | xargs -0 sha256sum
} | sha256sum | cut -c1-16)
cache=${XDG_CACHE_HOME:-$HOME/.cache}/xetra-etl/argo-lab/$key
bin=$cache/bin
binaries=(argo workflow-controller argoexec kube-apiserver kubectl etcd)

# The module zip of Argo v4.0.5 lacks workflow/executor/osspecific/signal_linux.go and the UI's
# dist/app folder that ui/embed.go embeds. A writable copy gets both; argo/go.mod replaces the
# module with that copy. GOMODCACHE itself cannot be overlaid.
prepare_argo() {
	local argo_dir copy=$here/.build/argo-workflows-$ARGO_VERSION
	argo_dir=$(cd "$(mktemp -d)" && GOFLAGS=-mod=mod go mod download -json "$ARGO_MODULE@$ARGO_VERSION" \
		| sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
	[ -d "$argo_dir" ] || { echo "build.sh: go mod download gave no folder for $ARGO_MODULE@$ARGO_VERSION" >&2; exit 1; }
	rm -rf "$copy"
	mkdir -p "$here/.build"
	cp -R "$argo_dir" "$copy"
	chmod -R u+w "$copy"
	cp argo/osspecific/signal_linux.go "$copy/workflow/executor/osspecific/signal_linux.go"
	mkdir -p "$copy/ui/dist/app"
	echo '<!doctype html><title>Argo UI not built</title>' >"$copy/ui/dist/app/index.html"
}

versions() {
	echo "build.sh: $("$bin/argo" version --short 2>&1 | head -1) (module $ARGO_MODULE $ARGO_VERSION);" \
		"kube-apiserver $("$bin/kube-apiserver" --version 2>&1 | head -1 | awk '{print $2}');" \
		"$("$bin/kubectl" version --client 2>&1 | head -1); $("$bin/etcd" --version 2>&1 | head -1)" >&2
}

if [ "${1:-}" = --print ]; then echo "$bin"; exit 0; fi
if [ "${1:-}" = --prepare ]; then prepare_argo; exit 0; fi

complete() { for b in "${binaries[@]}"; do [ -x "$bin/$b" ] || return 1; done; }
if complete; then
	echo "build.sh: cached binaries in $bin" >&2
	versions
	echo "$bin"
	exit 0
fi

mkdir -p "$cache"
staging=$(mktemp -d "$cache/bin.XXXXXX")
trap 'rm -rf "$staging"' EXIT
started=$(date +%s)
step() { echo "build.sh: $* ($(($(date +%s) - started)) s)" >&2; }

step "copying $ARGO_MODULE@$ARGO_VERSION into .build/ with signal_linux.go and ui/dist/app"
prepare_argo

now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
argo_ldflags="-X $ARGO_MODULE.version=$ARGO_VERSION -X $ARGO_MODULE.gitTag=$ARGO_VERSION -X $ARGO_MODULE.buildDate=$now"
kube_ldflags="-X k8s.io/component-base/version.gitVersion=$KUBE_VERSION -X k8s.io/component-base/version.gitMajor=1"
kube_ldflags+=" -X k8s.io/component-base/version.gitMinor=$(echo "$KUBE_VERSION" | cut -d. -f2) -X k8s.io/component-base/version.buildDate=$now"
kube_ldflags+=" -X k8s.io/client-go/pkg/version.gitVersion=$KUBE_VERSION"

step "building workflow-controller, argoexec, argo ($ARGO_MODULE $ARGO_VERSION)"
(cd argo && go build -ldflags "$argo_ldflags" -o "$staging/" \
	"$ARGO_MODULE/cmd/workflow-controller" "$ARGO_MODULE/cmd/argoexec" "$ARGO_MODULE/cmd/argo")
step "building kube-apiserver, kubectl (k8s.io/kubernetes $KUBE_VERSION)"
(cd kube && go build -ldflags "$kube_ldflags" -o "$staging/" \
	k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kubectl)
step "building etcd (go.etcd.io/etcd/server/v3 $ETCD_VERSION)"
(cd etcd && go build -o "$staging/etcd" go.etcd.io/etcd/server/v3)

rm -rf "$bin"
mv "$staging" "$bin"
trap - EXIT
step "built into $bin"
versions
echo "$bin"
