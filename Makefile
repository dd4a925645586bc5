# Two commands set everything up on a fresh machine:
#   make run    installs the pinned stack into .venv and launches the app on http://127.0.0.1:8501
#   make test   installs the same stack (plus Chromium for the browser tests) and runs the whole suite
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install browser run test lint bench

$(STAMP): requirements.txt
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $(STAMP)

install: $(STAMP)

browser:
	bash scripts/install_browser.sh

run: install
	$(VENV)/bin/streamlit run app.py --server.address 127.0.0.1 --server.headless true

test: install browser lint
	$(PY) -m pytest -q

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports

bench: install
	$(PY) benchmarks/bench_retrieval_scifact.py
