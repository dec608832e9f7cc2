# The MFI platform. `make run` and `make test` are all a new user needs.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
STAMP_PY := $(VENV)/.installed-python
STAMP_JS := node_modules/.installed-assets
CHROMIUM ?= /usr/bin/chromium

.PHONY: install run test lint fmt worker beat migrate seed messages browser check-deploy clean bench backup restore fuzz

install: $(STAMP_PY) $(STAMP_JS) ## create .venv, install pinned Python deps and front-end assets

$(STAMP_PY): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $@

$(STAMP_JS): package.json package-lock.json
	@command -v npm >/dev/null || { echo "npm is needed for the front-end assets (apt-get install npm)"; exit 1; }
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

migrate: install
	$(BIN)/python manage.py migrate --noinput

seed: migrate
	$(BIN)/python manage.py seed_demo --quiet-logins

# The sandboxes stand in for the registries, banks and P2P platforms in the demo; these are their
# (public, sandbox-only) credentials. A real installation sets its own in the environment.
SANDBOX_ENV := INPS_API_TOKEN=sandbox-inps DNRE_API_TOKEN=sandbox-dnre \
	BANK_BCA_API_TOKEN=sandbox-bank-bca BANK_CECV_API_TOKEN=sandbox-bank-cecv \
	KIVA_API_BASE_URL=http://127.0.0.1:8110 KIVA_AUTH_URL=http://127.0.0.1:8110/oauth/token \
	KIVA_CLIENT_ID=demo-client KIVA_CLIENT_SECRET=demo-secret KIVA_PARTNER_ID=1 \
	P2P_FILES_DELIVERY_URL=http://127.0.0.1:8111 P2P_FILES_TOKEN=demo-files-token

run: seed ## install, migrate, load demo data, start the sandboxes, serve on http://$(HOST):$(PORT)
	@$(BIN)/python manage.py seed_demo | tail -n +2
	@$(BIN)/python -m sandbox --check >/dev/null || { echo "Sandbox ports 8101-8111 are busy"; exit 1; }
	@$(BIN)/python -m sandbox & SANDBOX=$$!; trap "kill $$SANDBOX" EXIT; \
	 for try in $$(seq 50); do $(BIN)/python -c "import httpx; \
	   httpx.get('http://127.0.0.1:8101/_sandbox/health').raise_for_status()" 2>/dev/null \
	   && break; sleep 0.2; done; \
	 echo "Live pull from the registry sandboxes:"; \
	 $(SANDBOX_ENV) $(BIN)/python manage.py pull_sources || true; \
	 echo "Serving on http://$(HOST):$(PORT)  (Ctrl+C to stop)"; \
	 $(SANDBOX_ENV) DEBUG=1 $(BIN)/python manage.py runserver $(HOST):$(PORT)

browser: ## Debian's chromium for the browser tests (installed with apt when root and missing)
	@if [ ! -x $(CHROMIUM) ] && [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null; then \
		echo "Installing chromium with apt-get for the browser tests"; \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
		|| echo "chromium could not be installed: browser tests will skip"; \
	fi

test: install browser ## the whole suite, browser tests included
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install ## ruff, migrations check, deploy check with production settings
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python manage.py makemigrations --check --dry-run
	DJANGO_SETTINGS_MODULE=mfi.settings.production SECRET_KEY=$$(printf 'x%.0s' {1..64})-lint-only \
		$(BIN)/python manage.py check --deploy --fail-level WARNING

fmt: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

worker: install ## a Celery worker (needs REDIS_URL)
	@test -n "$$REDIS_URL" || { echo "Set REDIS_URL (e.g. redis://127.0.0.1:6379/0) to run a worker"; exit 1; }
	$(BIN)/celery -A mfi worker --loglevel=INFO --concurrency=2

beat: install ## Celery beat, the scheduler (needs REDIS_URL)
	@test -n "$$REDIS_URL" || { echo "Set REDIS_URL (e.g. redis://127.0.0.1:6379/0) to run beat"; exit 1; }
	$(BIN)/celery -A mfi beat --loglevel=INFO --schedule var/celerybeat-schedule

SCALE_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/mfi_scale
SMALL_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/mfi_scale_small

bench: install ## performance at 100,000 loans: seeds the scale databases if missing, runs every benchmark, writes benchmarks/results/latest.json and BENCHMARKS.md
	SCALE_DATABASE_URL=$(SCALE_DATABASE_URL) SMALL_DATABASE_URL=$(SMALL_DATABASE_URL) $(BIN)/python benchmarks/run_all.py $(BENCH_ARGS)

fuzz: install ## schemathesis as every role: coverage phase + 100 random examples per operation (long)
	FUZZ_EXAMPLES=100 FUZZ_PHASES=examples,coverage,fuzzing $(BIN)/python -m pytest tests/security/test_api_fuzz.py $(PYTEST_ARGS)

backup: install ## pg_dump of the database (DATABASE_URL, else the embedded one) + uploaded files into var/backups/
	scripts/backup.sh

restore: install ## restore DUMP=var/backups/<stamp>.dump [DATABASE=fresh_db_name] [FORCE=1], then verify it reconciles
	@test -n "$(DUMP)" || { echo "Usage: make restore DUMP=var/backups/<stamp>.dump [DATABASE=name] [FORCE=1]"; exit 1; }
	scripts/restore.sh $(if $(DATABASE),--database $(DATABASE)) $(if $(FORCE),--force) $(DUMP)

messages: install ## compile translations
	$(BIN)/python manage.py compilemessages --ignore=.venv --ignore=node_modules

clean:
	rm -rf $(VENV) node_modules staticfiles .pytest_cache .ruff_cache
