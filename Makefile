# Two commands set everything up on a fresh machine:
#   make run    installs the pinned stack into .venv and launches the app on http://127.0.0.1:8501
#   make test   installs the same stack (plus Chromium for the browser tests and a real Milvus 2.3.5
#               standalone server in .venv-milvus) and runs the whole suite
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

MILVUS_VENV ?= .venv-milvus
MILVUS_STAMP := $(MILVUS_VENV)/.installed

.PHONY: install browser milvus-server run test lint bench

$(STAMP): requirements.txt
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $(STAMP)

install: $(STAMP)

$(MILVUS_STAMP): requirements-milvus-server.txt
	python3 -m venv $(MILVUS_VENV)
	$(MILVUS_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-milvus-server.txt
	touch $(MILVUS_STAMP)

milvus-server: $(MILVUS_STAMP)

browser:
	bash scripts/install_browser.sh

run: install
	$(VENV)/bin/streamlit run app.py --server.address 127.0.0.1 --server.headless true

test: install browser milvus-server lint
	$(PY) -m pytest -q

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports

bench: install
	$(PY) benchmarks/bench_retrieval_scifact.py
