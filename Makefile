# The two commands a newcomer needs: `make serve` and `make test`.
# Both create .venv, install the pinned versions from requirements.lock, then act.
PY ?= $(shell for p in python3.12 python3.11 python3; do \
	command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(not (3,11) <= sys.version_info[:2] <= (3,12))' 2>/dev/null && { echo $$p; break; }; done)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: serve test lint lock bench clean

$(STAMP): requirements.lock pyproject.toml
	@test -n "$(PY)" || { echo "Redress needs Python 3.11 or 3.12 (durable-rules does not build on 3.13)"; exit 1; }
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	@touch $(STAMP)

# `make serve PORT=8080 DATA=/srv/redress` to choose the port and the data directory.
PORT ?= 8000
DATA ?= redress-data

serve: $(STAMP)
	$(BIN)/redress serve --port $(PORT) --data-dir $(DATA)

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

# Re-pin every dependency to the newest versions that fit pyproject.toml, with their hashes and
# without this machine's index or wheel locations (pip's own configuration says where to look).
lock: $(STAMP)
	$(BIN)/pip-compile --quiet --upgrade --extra dev --strip-extras --generate-hashes --allow-unsafe \
		--no-emit-index-url --no-emit-find-links --output-file requirements.lock pyproject.toml

bench: $(STAMP)
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
