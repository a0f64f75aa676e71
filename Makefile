# Two commands on a fresh machine: `make run` (the product on the embedded default) and
# `make test` (the whole suite). Both create or update the virtual environment first.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1:8000

# `make model` trains the recommended segmentation model on this folder (images/, masks/,
# metadata.csv) and makes it analyse new photos; override with `make model DATA=/path`.
DATA ?= ../shared/data/vitiligo

.PHONY: run test lint venv venv-dev browser clean model

$(VENV)/.runtime: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: requirements-dev.txt $(VENV)/.runtime
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

venv: $(VENV)/.runtime
venv-dev: $(VENV)/.dev

# Browser tests drive Debian's Chromium (no browser download); install it when it is missing.
browser:
	@test -x /usr/bin/chromium || { \
	  echo "Installing Debian's chromium for the browser tests"; \
	  $$(command -v sudo >/dev/null && [ "$$(id -u)" != 0 ] && echo sudo) apt-get update -qq && \
	  $$(command -v sudo >/dev/null && [ "$$(id -u)" != 0 ] && echo sudo) \
	    env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

# The embedded default keeps its SQLite database and media in var/, which a fresh clone lacks.
# Debug and a development key are asked for here, explicitly: the settings default to neither.
# The key is drawn once and kept in var/, so admin sessions survive a restart of `make run`.
RUN_ENV = DJANGO_DEBUG=true DJANGO_SECRET_KEY="$$(cat var/dev-secret-key)"

var/dev-secret-key:
	mkdir -p var/media
	$(PYTHON) -c "import secrets; print('dev-' + secrets.token_urlsafe(48))" > $@

run: venv var/dev-secret-key
	mkdir -p var/media
	$(RUN_ENV) $(PY) manage.py migrate --noinput
	$(RUN_ENV) $(PY) manage.py seed_demo
	$(RUN_ENV) $(PY) manage.py runserver $(HOST)

model: venv
	@test -f "$(DATA)/metadata.csv" || { \
	  echo "make model: no training data at $(DATA) (need images/, masks/ and metadata.csv)."; \
	  echo "Pass DATA=/path/to/folder. Until a model is trained, photos are analysed by the"; \
	  echo "colour threshold, labelled baseline:colour-threshold-v1."; exit 2; }
	mkdir -p var/media
	$(PY) manage.py migrate --noinput
	$(PY) manage.py train_model --data "$(DATA)" --preset recommended --val-folds none --activate $(MODEL_ARGS)

test: venv-dev browser
	$(PY) -m pytest $(PYTEST_ARGS)

lint: venv-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

clean:
	rm -rf $(VENV) var .pytest_cache
