# Everything a fresh clone needs: `make demo` to try it, `make test` to check it.

SHELL := /bin/bash
# pipefail keeps a command's failure visible through the output filter below.
.SHELLFLAGS := -o pipefail -ec
.DEFAULT_GOAL := help

VENV := .venv
PYTHON := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed

HTMX_VERSION := 2.0.11
HTMX := static/vendor/htmx.min.js
# Named by version, so changing HTMX_VERSION fetches and copies the new one.
HTMX_DIST := .build/htmx-$(HTMX_VERSION).min.js

CHROMIUM := /usr/bin/chromium
POSTGRES_URL := postgresql://postgres@127.0.0.1:5432/test
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

# pip prints a warning per configured local index it cannot use; they are noise here.
PIP_QUIET := { grep -v 'Location .* is ignored' || true; }

.PHONY: help install chromium demo test lint clean distclean

help:
	@echo "make demo     serve the seed articles at http://127.0.0.1:5000 (login demo/demo)"
	@echo "make test     run the test suite (SQLite, plus PostgreSQL when it answers at 127.0.0.1:5432)"
	@echo "make lint     check style with ruff"
	@echo "make install  create .venv and install the package with its test tools"
	@echo "make clean    remove build and test leftovers (keeps .venv and instance/)"

install: $(INSTALLED)

$(INSTALLED): pyproject.toml
	test -x $(PYTHON) || python3 -m venv $(VENV)
	$(PYTHON) -m pip install --progress-bar off -e '.[test]' 2>&1 | $(PIP_QUIET)
	touch $@

$(HTMX_DIST):
	npm install --no-save --no-package-lock --no-audit --no-fund --ignore-scripts \
		--prefix .build/npm htmx.org@$(HTMX_VERSION)
	cp .build/npm/node_modules/htmx.org/dist/htmx.min.js $@.tmp
	grep -q 'version:"$(HTMX_VERSION)"' $@.tmp
	mv $@.tmp $@

$(HTMX): $(HTMX_DIST)
	mkdir -p $(@D)
	cp $< $@

chromium:
	@if [ -x $(CHROMIUM) ]; then exit 0; fi; \
	echo "$(CHROMIUM) is missing; installing Debian's chromium for the browser tests."; \
	$(SUDO) apt-get update -q; \
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q --no-install-recommends chromium

demo: install $(HTMX)
	$(VENV)/bin/annotator demo $(if $(PORT),--port $(PORT))

test: install $(HTMX) chromium
	@if [ -z "$${ANNOTATOR_TEST_POSTGRES_URL:-}" ] && python3 -c \
		'import socket; socket.create_connection(("127.0.0.1", 5432), timeout=1).close()' 2>/dev/null; then \
		export ANNOTATOR_TEST_POSTGRES_URL=$(POSTGRES_URL); \
	fi; \
	echo "Backends: sqlite$${ANNOTATOR_TEST_POSTGRES_URL:+ and postgresql ($$ANNOTATOR_TEST_POSTGRES_URL)}"; \
	$(PYTHON) -m pytest $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

clean:
	rm -rf .build static/vendor build dist .pytest_cache .ruff_cache .hypothesis test-results
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV)
