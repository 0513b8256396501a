# Two commands do all set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint fmt clean bench bench-smoke

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/ledgerbot demo

# the whole suite on SQLite, then again on a throwaway PostgreSQL server the tests start
test: $(STAMP)
	$(BIN)/pytest
	$(BIN)/pytest --db postgresql

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/hadolint Dockerfile
	LEDGERBOT_DB_PASSWORD=x LEDGERBOT_WEBHOOK_URL=https://example.invalid/t LEDGERBOT_WEBHOOK_SECRET=x \
		docker-compose -f compose.yaml config -q

# figures, not tests: prints a table with pass/fail and writes docs/benchmarks.md (~15 min at 1M; `--db both` adds PostgreSQL)
bench: $(STAMP)
	$(BIN)/python -m benchmarks.run --sizes 1000,10000,100000,1000000

# CI runs a tiny size so the script keeps working
bench-smoke: $(STAMP)
	$(BIN)/python -m benchmarks.run --sizes 300 --out ""

fmt: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
