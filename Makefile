# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app app
HOST ?= 127.0.0.1
PORT ?= 5000

MIGRATE ?= 1
# Test processes (pytest-xdist): one more than the CPUs, since a worker often waits on
# PostgreSQL, a gunicorn or Chromium of its own (on 2 CPUs: 3 workers, 5 min 27 s, against
# 5 min 47 s with 2; 4 workers measured slower, 7 min 53 s against 6 min 57 s with 3, on
# 2026-12-04); each gets its own PostgreSQL database.
TEST_WORKERS ?= $(shell echo $$(( $$(nproc) + 1 )))

# Fuzzing in make test (tests/test_fuzz.py): FUZZ_EXAMPLES submissions a form (50), or as many
# as FUZZ_SECONDS of generating allow (5 s a form), whichever ends first; each form's count is
# printed at the end. Quiet, every form reaches its count; on a busy machine the budget keeps
# the fuzzing far from its timeout. Set either on the command line: make test FUZZ_SECONDS=60.
# make test-long: 2,000 a form and no budget.

.PHONY: run test test-long test-loaded serve install install-test translations extract update-translations lint clean \
	design screenshots bench bench-catalog bench-burst bench-staff bench-certificates bench-signing

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed translations

install-test: $(VENV)/.installed-test translations

## Compile the committed .po catalogs into .mo files (never committed).
translations: $(VENV)/.installed
	$(BIN)/pybabel compile -d translations 2>&1 | grep -v '^compiling catalog' || true
	@test -n "$$(find translations -name '*.mo')" || (echo 'no catalog compiled' && exit 1)

## Extract every translatable string into translations/messages.pot.
extract: $(VENV)/.installed
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -k ngettext:1,2 --ignore-dirs='.* _* tests bench instance build' -o translations/messages.pot --no-location --sort-output --project Kursportal --copyright-holder Statsforvaltaren .

## Merge new strings into the three catalogs (then translate them; `make test` checks).
update-translations: extract
	$(BIN)/pybabel update -i translations/messages.pot -d translations --no-fuzzy-matching --ignore-obsolete

## Development: debug mode throughout, so links may come from the request's own address
## (PUBLIC_BASE_URL is required everywhere else).
run: export FLASK_DEBUG := 1
run: install
	$(FLASK) db upgrade
	$(FLASK) counties load
	$(FLASK) kinds load
	$(FLASK) rates load
	$(FLASK) seed-demo
	$(FLASK) certificates keys create --if-missing
	$(FLASK) run --debug --host $(HOST) --port $(PORT)

## Pictures of the main pages for the README, desktop and phone size, into docs/screenshots/
## (tools/screenshots.py): the demo data in a temporary SQLite database, the app on a free local
## port, Debian's Chromium through Playwright (a test extra, hence install-test).
## SCREENSHOTS_ARGS=--check resolves the pages without a browser.
screenshots: install-test
	$(BIN)/python tools/screenshots.py $(SCREENSHOTS_ARGS)

## Production: migrate (MIGRATE=0 on all but one of several servers), then gunicorn with
## gunicorn.conf.py against DATABASE_URL (BIND, WEB_CONCURRENCY: see docs/deployment.md).
serve: install
	@if [ "$(MIGRATE)" != 0 ]; then $(FLASK) db upgrade; fi
	exec $(BIN)/gunicorn -c gunicorn.conf.py 'app:create_app()'

## Benchmarks against PostgreSQL (BENCH_DATABASE_URL; see bench/README.md). `make bench` runs
## every one with a short profile (a few minutes, figures rougher than the full runs'); each
## keeps going after a missed goal, and the target fails at the end if any missed one.
BENCH_SHORT_CATALOG ?= --rounds 1 --seconds 4
BENCH_SHORT_BURST ?= --repeat 3
BENCH_SHORT_STAFF ?= --rounds 1 --seconds 4 --claims 20000 --enrollments 10000 --people 4000
BENCH_SHORT_CERTIFICATES ?= --n 200 --repeat 2 --baseline-n 50 --weasyprint-n 10
BENCH_SHORT_SIGNING ?= --n 60 --repeat 2 --baseline-n 15
bench: install
	@status=0; \
	$(BIN)/python bench/catalog.py $(BENCH_SHORT_CATALOG) || status=1; \
	$(BIN)/python bench/burst.py $(BENCH_SHORT_BURST) || status=1; \
	$(BIN)/python bench/staff.py $(BENCH_SHORT_STAFF) || status=1; \
	$(BIN)/python bench/certificate_pdfs.py $(BENCH_SHORT_CERTIFICATES) || status=1; \
	$(BIN)/python bench/certificate_signing.py $(BENCH_SHORT_SIGNING) || status=1; \
	exit $$status

bench-catalog: install
	$(BIN)/python bench/catalog.py $(BENCH_ARGS)

bench-burst: install
	$(BIN)/python bench/burst.py $(BENCH_ARGS)

bench-staff: install
	$(BIN)/python bench/staff.py $(BENCH_ARGS)

## The certificates benchmark's baseline (b) needs WeasyPrint (and Debian's libpango-1.0-0).
bench-certificates: install
	$(BIN)/pip install --quiet -e '.[bench]'
	$(BIN)/python bench/certificate_pdfs.py $(BENCH_ARGS)

## Signed certificates per second, each its own PDF, against pyHanko used the obvious way.
bench-signing: install
	$(BIN)/python bench/certificate_signing.py $(BENCH_ARGS)

## Designsystemet and the Inter font into static/vendor/ (committed, so make run needs no Node):
## npm ci from design/package-lock.json (exact versions, integrity-checked; no install scripts),
## then design/build.py copies what the pages use, with each package's licence and version.
design:
	cd design && npm ci --ignore-scripts --no-audit --no-fund
	$(PYTHON) design/build.py

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .

## Subprocesses of the suite (gunicorn, the flask commands, inner pytest runs) reuse compiled
## bytecode even where the environment asks Python not to write any (PYTHONDONTWRITEBYTECODE;
## empty means unset):
## each would otherwise compile the whole application again.
test: export PYTHONDONTWRITEBYTECODE :=
test: install-test
	$(BIN)/ruff check .
	$(BIN)/bandit -q -c pyproject.toml -r app.py core enrollment certificates refunds -lll
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist worksteal $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
	find translations -name '*.mo' -delete

## The fuzzing of every form at full length: 2,000 examples a form, no time budget (make test
## runs 200 or 20 s a form), and a timeout to match (a form takes about a minute quiet).
test-long: install-test
	FUZZ_EXAMPLES=2000 FUZZ_SECONDS=0 $(BIN)/python -m pytest -n $(TEST_WORKERS) --timeout=1200 \
		tests/test_fuzz.py $(PYTEST_ARGS)

## make test twice back to back, with CI=true, while a busy process runs on every CPU
## (bench/loaded.py): both wall times, pass/fail counts, the slowest tests against their
## timeouts. It needs the whole machine. PYTEST_ARGS narrows what each run runs; LOADED_ARGS
## passes options to the script (--runs 1, --busy 1, --log-dir DIR).
test-loaded: install-test
	$(BIN)/python bench/loaded.py $(LOADED_ARGS)
