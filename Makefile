# Karvdash on JupyterHub. `make run` and `make test` set up everything they need.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STATE := .karvdash
PORT ?= 8000
export PATH := $(CURDIR)/node_modules/.bin:$(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: setup run test test-unit lint format docs cluster cluster-down cluster-status build-cluster clean screenshots benchmark benchmark-scale registry-gc labextension

setup: $(VENV)/.installed node_modules/.installed labextension build-cluster

$(VENV)/.installed: pyproject.toml localcluster/pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) is needed (Python 3.11 or newer)"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]' -e ./localcluster
	touch $@

node_modules/.installed: package.json
	@command -v npm >/dev/null || { echo "error: npm is needed for configurable-http-proxy"; exit 1; }
	npm install --no-audit --no-fund --loglevel=error
	touch $@

# The JupyterLab extension (the Karvdash side panel): TypeScript in karvdash_labext/lab,
# built with the venv's JupyterLab into karvdash_labext/labextension (what the wheel of
# packaging/labext ships), again only when its sources change; the dev venv's JupyterLab
# sees it through a link, as 'jupyter labextension develop' makes.
LAB := karvdash_labext/lab
LABEXT := karvdash_labext/labextension
LABEXT_LINK := $(VENV)/share/jupyter/labextensions/karvdash-labext
LAB_SOURCES := $(LAB)/package.json $(LAB)/tsconfig.json $(wildcard $(LAB)/src/*.ts $(LAB)/style/*.* $(LAB)/style/icons/*)

labextension: $(LABEXT)/package.json $(LABEXT_LINK)

$(LAB)/node_modules/.installed: $(LAB)/package.json $(LAB)/package-lock.json
	@command -v npm >/dev/null || { echo "error: npm is needed to build the JupyterLab extension"; exit 1; }
	cd $(LAB) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(LABEXT)/package.json: $(VENV)/.installed $(LAB)/node_modules/.installed $(LAB_SOURCES)
	cd $(LAB) && node_modules/.bin/tsc
	$(VENV)/bin/jupyter-builder build $(LAB)
	touch $@

$(LABEXT_LINK): | $(VENV)/.installed
	mkdir -p $(@D)
	ln -sfn $(CURDIR)/$(LABEXT) $@

build-cluster: $(VENV)/.installed
	$(PY) -m karvdash_localcluster build >/dev/null

cluster: setup
	$(PY) -m karvdash_localcluster --state-dir $(STATE)/cluster up

cluster-down:
	$(PY) -m karvdash_localcluster --state-dir $(STATE)/cluster down

cluster-status:
	$(PY) -m karvdash_localcluster --state-dir $(STATE)/cluster status

run: setup cluster
	KARVDASH_PORT=$(PORT) KARVDASH_STATE_DIR=$(STATE) $(VENV)/bin/jupyterhub -f jupyterhub_config.py

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(VENV)/.installed
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

docs: $(VENV)/.installed
	$(VENV)/bin/mkdocs build --strict --site-dir $(STATE)/site

test: setup lint docs
	$(VENV)/bin/pytest -ra $(PYTEST_ARGS)

# the unit tests alone: seconds, no cluster, no hub
test-unit: $(VENV)/.installed
	$(VENV)/bin/pytest -q tests/unit $(PYTEST_ARGS)

clean: cluster-down
	rm -rf $(STATE) $(VENV) node_modules $(LAB)/node_modules $(LAB)/lib $(LAB)/tsconfig.tsbuildinfo $(LABEXT)

# the user guide's screenshots: the browser journey and every page, as a user and an admin
screenshots: setup
	KARVDASH_SCREENSHOTS=$(CURDIR)/docs/images $(VENV)/bin/pytest -q tests/e2e/test_browser.py tests/e2e/test_pages.py tests/e2e/test_files_page.py tests/e2e/test_images_page.py tests/e2e/test_lab_panel.py tests/e2e/test_widgets_lab.py tests/e2e/test_identity_browser.py tests/e2e/test_launch_values.py tests/e2e/test_exec.py

benchmark: setup
	$(PY) benchmarks/provision.py
	$(PY) benchmarks/services.py
	$(PY) benchmarks/pages.py
	$(PY) benchmarks/node.py
	$(PY) benchmarks/images.py
	$(PY) benchmarks/registry.py
	$(PY) benchmarks/identity.py

# 1,000 users and 10,000 services on a kwok cluster, through the hub and the API (about
# 25 minutes on 2 cores): users and services made per second, login, home page, list and
# launch at 10 users / 100 services and at the full size, the hub's and dashboard's memory
benchmark-scale: setup
	$(PY) benchmarks/scale.py

# give back the space of deleted images: the registry's garbage collection, with the
# hub (and so the registry it runs) stopped; see docs/technical-overview.md
registry-gc:
	@test -f $(STATE)/registry.json || { echo "no registry configuration in $(STATE): run 'make run' once"; exit 1; }
	@! ss -ltn | grep -q ":$$(( $(PORT) + 4 )) " || { echo "the registry is running: stop 'make run' first"; exit 1; }
	docker-registry garbage-collect $(STATE)/registry.json
