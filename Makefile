# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app app
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: run test serve install install-test translations extract update-translations lint clean

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

run: install
	$(FLASK) db upgrade
	$(FLASK) counties load
	$(FLASK) kinds load
	$(FLASK) seed-demo
	$(FLASK) run --debug --host $(HOST) --port $(PORT)

serve: install
	$(FLASK) db upgrade
	$(BIN)/gunicorn -c gunicorn.conf.py 'app:create_app()'

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .

test: install-test
	$(BIN)/ruff check .
	$(BIN)/python -m pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
	find translations -name '*.mo' -delete
