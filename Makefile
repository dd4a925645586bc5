# Two commands set everything up on a fresh machine:
#   make run    installs what the app needs (requirements.txt, pinned) into .venv, plus the `workbench`
#               command (pip install -e .), and launches the app on http://127.0.0.1:8501
#   make test   adds the test and lint tools (requirements-dev.txt), Chromium for the browser tests and a
#               real Milvus 2.3.5 standalone server in .venv-milvus, and runs the whole suite in two
#               pytest-xdist workers: whole modules per worker, longest first (tests/support/xdist_schedule.py);
#               `.venv/bin/python -m pytest -q` alone runs it in one process
#   make screenshots   refreshes the README's pictures in docs/screenshots/ (tests write elsewhere)
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev

MILVUS_VENV ?= .venv-milvus
MILVUS_STAMP := $(MILVUS_VENV)/.installed

.PHONY: install dev browser milvus-server run test lint bench screenshots

$(STAMP): requirements.txt pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $(STAMP)

$(DEV_STAMP): $(STAMP) requirements-dev.txt
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $(DEV_STAMP)

install: $(STAMP)

dev: $(DEV_STAMP)

$(MILVUS_STAMP): requirements-milvus-server.txt
	python3 -m venv $(MILVUS_VENV)
	$(MILVUS_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-milvus-server.txt
	touch $(MILVUS_STAMP)

milvus-server: $(MILVUS_STAMP)

browser:
	bash scripts/install_browser.sh

run: install
	$(VENV)/bin/streamlit run app.py --server.address 127.0.0.1 --server.headless true

test: dev browser milvus-server lint
	$(PY) -m pytest -q -n 2 --dist loadfile

screenshots: dev browser
	WORKBENCH_SCREENSHOTS=docs/screenshots $(PY) -m pytest -q tests/e2e/test_demo.py tests/e2e/test_pages_in_chinese.py tests/e2e/test_pages_chinese_browser.py

lint: dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports

bench: dev
	$(PY) benchmarks/bench_retrieval_scifact.py
