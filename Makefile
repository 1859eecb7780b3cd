# Two commands for a newcomer: `make demo` and `make test`. Each sets itself up on a fresh machine.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CHROMIUM := /usr/bin/chromium

.PHONY: demo test lint bench install test-deps bench-deps clean

$(STAMP): pyproject.toml
	@command -v $(PY) >/dev/null || { echo "cardwatch needs $(PY) (Python >= 3.11)"; exit 1; }
	test -d $(VENV) || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $(STAMP)

install: $(STAMP) bench-deps

# The service benchmark's --py-spy profiles the server with py-spy (a sampling profiler that
# attaches to the running process); it is a tool, not a dependency of cardwatch itself.
bench-deps: $(BIN)/py-spy

$(BIN)/py-spy: $(STAMP)
	$(BIN)/pip install -q py-spy

# Debian packages the tests need: chromium for the browser tests, Java for the Spark tests.
test-deps:
	@if [ ! -x $(CHROMIUM) ] || ! command -v java >/dev/null; then \
	  if [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null; then \
	    echo "installing Debian packages for the tests (chromium, java)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium default-jre-headless >/dev/null; \
	  else \
	    echo "NOTE: chromium or java missing and not root: browser / Spark tests will be skipped"; \
	  fi; \
	fi

demo: $(STAMP)
	$(BIN)/cardwatch demo

test: $(STAMP) test-deps bench-deps
	@[ -n "$$CARDWATCH_TEST_DATABASE_URL" ] || echo "NOTE: CARDWATCH_TEST_DATABASE_URL not set: PostgreSQL tests will be skipped"
	@echo "NOTE: profile state lives in process for now: there is no Redis backend (nor Redis test) yet"
	$(BIN)/ruff check src tests bench
	$(BIN)/pytest -q

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

clean:
	rm -rf $(VENV) .pytest_cache .cardwatch
