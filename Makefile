# The two commands of the README: `make run` and `make test`. Both create the
# virtual environment themselves (Python 3.11+ must be on PATH as python3).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test lint demo install clean

$(BIN)/deportwatch: pyproject.toml
	$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "deportwatch needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $@

install: $(BIN)/deportwatch

run: install            ## the service on the embedded default (SQLite in data/)
	$(BIN)/deportwatch run

demo: install           ## bundled samples, offline, in seconds
	$(BIN)/deportwatch demo

test: install           ## the whole test suite (no internet needed)
	$(BIN)/python -m pytest -q

lint: install
	$(BIN)/ruff check bot feeds storage tests bench
	$(BIN)/mypy

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
