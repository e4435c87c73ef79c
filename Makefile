# Two commands: `make run` (the whole stack) and `make test` (the whole suite).
# Both create .venv and install on first use; see scripts/stack.py for what they start.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: run test test-fast manage bench install lint format clean

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(PY) scripts/stack.py run

# pytest's exit 5 (no tests collected) is reported, not hidden, and not treated as a crash.
test: $(STAMP)
	@rc=0; $(PY) scripts/stack.py test $(ARGS) || rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make test: pytest collected no tests (exit 5)"; exit 0; fi; \
	exit $$rc

# While working: the suite over pytest-xdist workers (one per core, a test database and a Redis
# index each), without apt or lint; `make test` stays the full check before a commit.
test-fast: $(STAMP)
	@rc=0; $(PY) scripts/stack.py test-fast $(ARGS) || rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make test-fast: pytest collected no tests (exit 5)"; exit 0; fi; \
	exit $$rc

manage: $(STAMP)
	$(PY) scripts/stack.py manage $(ARGS)

# Needs `make run` in another terminal; see bench/realtime.py.
bench: $(STAMP)
	$(PY) scripts/stack.py bench $(ARGS)

# ruff, then the import contracts of .importlinter (the layering, docs/architecture.md).
lint: $(STAMP)
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check . && $(VENV)/bin/lint-imports --no-cache

format: $(STAMP)
	$(VENV)/bin/ruff format . && $(VENV)/bin/ruff check --fix .

clean:
	rm -rf var/ .pytest_cache .ruff_cache
