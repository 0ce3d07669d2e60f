# The README's two commands are `make run` and `make test`; the rest are helpers.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip --disable-pip-version-check

.PHONY: run run-tiny test test-gpu lint fetch bench browser nginx clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit("Python 3.11+ is required, found " + sys.version.split()[0]) if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(PIP) install -q -r requirements.txt
	@touch $@

$(VENV)/.installed-dev: requirements-dev.txt $(VENV)/.installed
	$(PIP) install -q -r requirements-dev.txt
	@touch $@

## Set up and serve the studio on http://127.0.0.1:7860 (STUDIO_PROFILE=tiny for random-weight miniatures).
run: $(VENV)/.installed
	$(BIN)/python app.py

## Serve the tiny profile: every tab works with no GPU and no downloads.
run-tiny: $(VENV)/.installed
	STUDIO_PROFILE=tiny $(BIN)/python app.py

## Set up and run the whole test suite (lint, unit, end-to-end, browser).
test: $(VENV)/.installed-dev browser nginx
	$(BIN)/python -m ruff check .
	$(BIN)/lint-imports
	scripts/with-postgres.sh $(BIN)/python -m pytest

browser:
	@scripts/ensure-browser.sh

# The replica tests (tests/deploy) put Debian's nginx in front of two studios; they skip, saying why, without it.
nginx:
	@scripts/ensure-nginx.sh

## On a machine with a CUDA GPU: every miniature on the GPU in fp16/bf16 (no network needed).
test-gpu: $(VENV)/.installed-dev
	STUDIO_RUN_GPU=1 $(BIN)/python -m pytest -m gpu tests/gpu

lint: $(VENV)/.installed-dev
	$(BIN)/python -m ruff check .
	$(BIN)/lint-imports

## Download a model's weights into the Hugging Face cache: make fetch MODEL=t2i/kolors
fetch: $(VENV)/.installed
	@test -n "$(MODEL)" || (echo "usage: make fetch MODEL=<registry key>, e.g. MODEL=t2i/kolors" >&2; exit 2)
	$(BIN)/python app.py --fetch $(MODEL)

## Benchmarks: each prints a ratio against a baseline measured in the same run.
bench: $(VENV)/.installed-dev nginx
	$(BIN)/python bench/startup.py
	$(BIN)/python bench/t2i_overhead.py
	$(BIN)/python bench/leaderboard.py
	$(BIN)/python bench/vote_ingestion.py
	scripts/with-postgres.sh $(BIN)/python bench/replicas.py
	$(BIN)/python bench/detection.py
	$(BIN)/python bench/hand_repair.py
	$(BIN)/python bench/metrics.py
	$(BIN)/python bench/codecs.py
	$(BIN)/python bench/tokenizers_research.py
	$(BIN)/python bench/face.py
	$(BIN)/python bench/tryon.py
	$(BIN)/python bench/omnimamba.py
	$(BIN)/python bench/ray_executor.py
	$(BIN)/python bench/pregenerate.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
