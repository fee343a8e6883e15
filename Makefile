# Everything a fresh machine with Python 3.11+ and make needs: `make demo`, `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEMO_LAST_DATE := 2024-03-15

.PHONY: install demo test test-quick test-images lint format render bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

install: $(STAMP)

## demo: write demo source data, run the whole pipeline on local directories, show the report
demo: $(STAMP)
	rm -rf demo
	$(BIN)/xetra-etl demo-data --out demo/source --first-date 2024-03-04 --days 12
	XETRA_LOG_FORMAT=text $(BIN)/xetra-etl run --config config/demo.yaml --last-date $(DEMO_LAST_DATE)
	$(BIN)/xetra-etl status --config config/demo.yaml
	$(BIN)/xetra-etl show --config config/demo.yaml --rows 8

## test: the whole suite but the image builds (starts its own S3 servers)
test: $(STAMP)
	$(BIN)/pytest -m "not images"

## test-quick: unit tests only
test-quick: $(STAMP)
	$(BIN)/pytest -m "not images and not e2e and not slow"

## test-images: build every image with buildah and run the pipeline through them
test-images: $(STAMP)
	$(BIN)/pytest -m images

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

## render: regenerate the committed Argo manifests
render: $(STAMP)
	$(BIN)/xetra-etl workflows render --out workflows/manifests

clean:
	rm -rf demo $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
