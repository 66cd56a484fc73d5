# FixRoute: `make run` to try it, `make test` to check it.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 5000
PG_TEST_URL ?= postgresql://postgres@127.0.0.1:5432/test

.PHONY: install run test test-sqlite test-postgres browser translations messages lint imports types clean

install: $(VENV)/.installed translations

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[pg,redis,server,dev]'
	touch $@

translations: $(VENV)/.installed
	$(BIN)/python scripts/i18n.py compile

messages: $(VENV)/.installed  ## refresh the zh catalogs after adding strings
	$(BIN)/python scripts/i18n.py update

run: install
	$(BIN)/fixroute demo ensure
	$(BIN)/fixroute run --host 127.0.0.1 --port $(PORT)

# Debian's Chromium for the browser tests (Playwright cannot download browsers here).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian's chromium for the browser tests"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	  || { echo "could not install chromium (needs root and Debian's package lists)"; exit 1; }; }

test: install browser
	$(BIN)/python scripts/i18n.py check
	$(MAKE) --no-print-directory lint
	$(MAKE) --no-print-directory imports
	$(MAKE) --no-print-directory types
	$(MAKE) --no-print-directory test-sqlite
	$(MAKE) --no-print-directory test-postgres

test-sqlite:
	FIXROUTE_TEST_DB=sqlite $(BIN)/pytest -q -p no:cacheprovider

# The same suite on PostgreSQL (only the tests that touch a database). Set
# FIXROUTE_REQUIRE_POSTGRES=1 (CI does) to fail instead of skipping when it is down.
test-postgres:
	@if $(BIN)/python scripts/pg_ready.py "$(PG_TEST_URL)"; then \
	  FIXROUTE_TEST_DB=postgresql FIXROUTE_PG_ADMIN_URL=$(PG_TEST_URL) $(BIN)/pytest -q -p no:cacheprovider; \
	elif [ -n "$$FIXROUTE_REQUIRE_POSTGRES" ]; then \
	  echo "PostgreSQL at $(PG_TEST_URL) does not answer"; exit 1; \
	else \
	  echo "NOTE: PostgreSQL at $(PG_TEST_URL) does not answer: the PostgreSQL pass did not run"; \
	fi

lint:
	$(BIN)/ruff check .

# the direction of dependencies (README "Layout"), as import-linter contracts in pyproject.toml
imports:
	$(BIN)/lint-imports

# mypy on the packages listed in pyproject.toml ([tool.mypy] files)
types:
	$(BIN)/mypy

clean:
	rm -rf $(VENV) instance *.egg-info
