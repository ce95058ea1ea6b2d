# ShareGuard developer commands. `make run` and `make test` do all the set-up.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed

.PHONY: run test bench lint signatures package package-windows clean

$(STAMP): pyproject.toml
	bash tools/ensure-python.sh $(PYTHON)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

## run: create .venv, install, start the guard (tray + warnings with a display, console mode without)
run: $(STAMP)
	$(BIN)/shareguard run

## test: install test dependencies, lint, and run every test
test: lint
	$(BIN)/python -m pytest -ra $(PYTEST_ARGS)

## lint: ruff over agent/, tests/, tools/ and benchmarks/, mypy over agent/ and tests/ (configured in pyproject.toml); `ruff check --fix` sorts imports
lint: $(STAMP)
	$(BIN)/ruff check agent tests tools benchmarks
	$(BIN)/mypy

## bench: one run, one table: snapshot CPU vs the naive scan at 100/300/5,000 processes, idle agent CPU and RSS,
##        warning latency (100 tries, Xvfb), UI helper RSS, replay throughput (benchmarks/README.md; minutes of CPU);
##        then the browser companion's tab switch -> agent snapshot round trip in a real Chromium (median, p95)
bench: $(STAMP)
	$(BIN)/python benchmarks/run.py
	$(BIN)/python benchmarks/companion.py --tries 30 --json benchmarks/results/companion.json

## signatures: regenerate signatures/remote_control_lolrmm.yaml from ../shared/data/lolrmm
signatures: $(STAMP)
	$(BIN)/python tools/gen_lolrmm.py ../shared/data/lolrmm/yaml signatures/remote_control_lolrmm.yaml

## package: build the Linux .deb into dist/
package: $(STAMP)
	bash installer/linux/build-deb.sh

## package-windows: shareguard.exe (PyInstaller) and the 64-bit NSIS installer in dist/, built, installed,
## checked and uninstalled under Wine (needs wine64; Windows Python and wheels are cached in build/wine/)
package-windows: $(STAMP)
	$(BIN)/python tools/package_windows.py --check

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache
