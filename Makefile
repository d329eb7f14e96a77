# Two commands do all set-up: `make run` (install + start the server) and `make test` (install + run the tests).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install run test lint bench clean

$(STAMP): pyproject.toml Makefile
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "shenggu needs Python 3.11"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,gpl]'
	# resemblyzer only carries the GE2E speaker-encoder weights (run by shenggu in numpy); --no-deps keeps its
	# declared torch dependency (gigabytes) out.
	$(BIN)/pip install --quiet --no-deps 'resemblyzer==0.1.4'
	scripts/ensure-npm.sh
	scripts/ensure-chromium.sh
	scripts/ensure-fonts.sh
	$(BIN)/shenggu prepare
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/shenggu serve --host $(HOST) --port $(PORT)

lint: install
	$(BIN)/ruff check shenggu tests

test: install lint
	scripts/with-postgres.sh $(BIN)/python -m pytest -q --durations=25

bench: install
	$(BIN)/shenggu bench asr --manifest ../shared/eval/manifest.tsv --baseline --out bench-out/asr

clean:
	rm -rf $(VENV) bench-out .pytest_cache
