# Registry: the two commands a newcomer needs are `make run` and `make test` (see README).
PYTHON ?= python3
PIP ?= $(PYTHON) -m pip
LOCALE := src/registry/locale
DEBIAN_RUN_PACKAGES := fonts-dejavu-core softhsm2 tesseract-ocr tesseract-ocr-mon tesseract-ocr-eng
DEBIAN_TEST_PACKAGES := $(DEBIAN_RUN_PACKAGES) chromium fonts-noto-core gettext postgresql

.PHONY: install install-test debian-packages debian-run-packages debian-test-packages run test \
	test-fast pot catalogs bench assets

install: debian-run-packages
	$(PIP) install -e .

install-test: debian-test-packages
	$(PIP) install -e '.[test]'

# The demo's letters need a font with Cyrillic; SoftHSM lets the demo sign with e-Tokens.
debian-run-packages:
	@$(MAKE) --no-print-directory debian-packages PACKAGES="$(DEBIAN_RUN_PACKAGES)"

debian-packages:
	@missing=""; for p in $(PACKAGES); do \
	  dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $$missing; \
	fi

# Chromium for the browser tests (Playwright drives /usr/bin/chromium; it cannot download one),
# gettext for the catalog checks, SoftHSM as the e-Token, DejaVu for the demo letters' Cyrillic,
# PostgreSQL for the RelStorage tests (they start a cluster of their own with initdb and
# pg_ctl, as the `postgres` user when run as root). Installed only when missing.
debian-test-packages:
	@$(MAKE) --no-print-directory debian-packages PACKAGES="$(DEBIAN_TEST_PACKAGES)"

# Set up and run the registry on the embedded default, with demo data.
run: install
	registry serve --demo

# Set up and run every test (unit, functional, CLI, packaging, browser).
test: install-test assets
	$(PYTHON) -m pytest -n 2 tests

test-fast:
	$(PYTHON) -m pytest -n 2 -m "not slow" tests

# Re-extract the message ids and merge them into every catalog; then `make catalogs`.
pot:
	pot-create -c etc/lingua.cfg -d registry --package-name registry --no-linenumbers -s \
	  -o $(LOCALE)/registry.pot src/registry templates workflows
	for po in $(LOCALE)/*/LC_MESSAGES/registry.po; do msgmerge -q -U --backup=none $$po $(LOCALE)/registry.pot; done

# What the build takes from the npm registry, at the versions package-lock.json pins: axe-core,
# which the browser tests inject into every page of the journey (never served to users).
AXE := tests/vendor/axe.min.js
assets: $(AXE)

$(AXE): package.json package-lock.json
	npm ci --no-audit --no-fund
	mkdir -p $(dir $@)
	cp node_modules/axe-core/axe.min.js $@

catalogs:
	for po in $(LOCALE)/*/LC_MESSAGES/*.po; do msgfmt --check -o $${po%.po}.mo $$po; done

bench:
	$(PYTHON) bench/directory.py
