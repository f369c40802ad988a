# make run  — set everything up and start the bot (sandbox + web chat when BOT_TOKEN is not set)
# make test — set everything up and run the whole test suite
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
PO     := $(wildcard locales/*/LC_MESSAGES/messages.po)
MO     := $(PO:.po=.mo)
AXE    := node_modules/axe-core/axe.min.js
LANGID := .cache/langid/derived.stamp

.PHONY: run test soak setup locales extract check-data bench browser lint clean

run: setup
	$(PY) -m bot run

test: setup browser
	$(PY) -m pytest

# the long fault, kill -9, fuzz and flood runs (a quarter of an hour); prints the figures
soak: setup
	$(PY) benchmarks/soak.py

setup: $(STAMP) $(MO) $(AXE) $(LANGID)

# py3langid's model of uk, ru and en, derived from the installed package (bot/catalogue/langid_model.py)
$(LANGID): $(STAMP) bot/catalogue/langid_model.py
	$(PY) -m bot.catalogue.langid_model >/dev/null
	touch $(LANGID)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# axe-core from the npm registry (package.json) for the web chat's accessibility check; without npm it is skipped
$(AXE): package.json package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
	  npm ci --no-audit --no-fund --loglevel=error && touch $(AXE) \
	  || echo "could not install axe-core: the accessibility check will fail"; \
	else echo "npm is absent: axe-core is not installed and the accessibility check is skipped"; fi

locales/%/LC_MESSAGES/messages.mo: locales/%/LC_MESSAGES/messages.po $(STAMP)
	$(VENV)/bin/pybabel compile --use-fuzzy -d locales -D messages -l $* >/dev/null

locales: $(MO)

# Refresh the template and the catalogues after changing texts in code
extract: $(STAMP)
	$(VENV)/bin/pybabel extract -k _ -k __ -k ngettext:1,2 -k lazy_gettext -k N_ --no-location --sort-output -w 100 -o locales/messages.pot bot dialogs
	$(VENV)/bin/pybabel update -i locales/messages.pot -d locales -D messages --no-fuzzy-matching --ignore-obsolete -w 100

# Debian's Chromium for the browser test of the web chat
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian chromium for the browser test"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	  || echo "could not install chromium: the browser test will fail"; }
	@fc-list 2>/dev/null | grep -qi "Noto Color Emoji" || { \
	  echo "installing Debian fonts-noto-color-emoji: screenshots of the web chat show the emoji"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-noto-color-emoji >/dev/null) \
	  || echo "could not install fonts-noto-color-emoji: emoji in screenshots will be empty boxes"; }

lint: setup
	$(VENV)/bin/ruff check bot dialogs sandbox tests benchmarks

check-data: setup
	$(PY) -m bot check-data

bench: setup
	$(PY) benchmarks/search_quality.py

clean:
	rm -rf $(VENV) locales/*/LC_MESSAGES/*.mo .cache
