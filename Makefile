# Portcullis: `make run` serves the portal with demo data; `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export DEBUG ?= 1
PORT ?= 8000
export PORTAL_URL ?= http://127.0.0.1:$(PORT)

.PHONY: run test check lint format bench bench-tokens bench-events bench-webhooks clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(PY) manage.py migrate --no-input
	$(PY) manage.py demo_data
	scripts/run.sh

test: $(STAMP) check
	$(PY) -m pytest $(PYTEST_ARGS)

check: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) manage.py makemigrations --check --dry-run
	DEBUG=0 SECRET_KEY=check-deploy-$$(date +%s)-not-a-real-secret-key-0123456789abcdef \
		FIELD_ENCRYPTION_KEYS=check-deploy-not-a-real-field-encryption-key \
		ALLOWED_HOSTS=portal.example.com $(PY) manage.py check --deploy --fail-level WARNING

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

bench: $(STAMP)
	$(PY) bench/catalog.py $(BENCH_ARGS)

bench-tokens: $(STAMP)
	$(PY) bench/tokens.py $(BENCH_ARGS)

bench-events: $(STAMP)
	$(PY) bench/events.py $(BENCH_ARGS)

bench-webhooks: $(STAMP)
	$(PY) bench/webhooks.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) var
