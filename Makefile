# ShareGuard developer commands. `make run` and `make test` do all the set-up.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed

.PHONY: run test bench lint signatures package clean

$(STAMP): pyproject.toml
	bash tools/ensure-python.sh $(PYTHON)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

## run: create .venv, install, start the guard (tray + warnings with a display, console mode without)
run: $(STAMP)
	$(BIN)/shareguard run

## test: install test dependencies and run every test
test: $(STAMP)
	$(BIN)/python -m pytest -ra $(PYTEST_ARGS)

## bench: measure engine, collector, sinks and warning latency (figures go to benchmarks/README.md)
bench: $(STAMP)
	$(BIN)/python benchmarks/run.py
	$(BIN)/python benchmarks/sinks.py
	$(BIN)/python benchmarks/warning_latency.py --tries 20 --json benchmarks/results/warning_latency.json

## signatures: regenerate signatures/remote_control_lolrmm.yaml from ../shared/data/lolrmm
signatures: $(STAMP)
	$(BIN)/python tools/gen_lolrmm.py ../shared/data/lolrmm/yaml signatures/remote_control_lolrmm.yaml

## package: build the Linux .deb into dist/
package: $(STAMP)
	bash installer/linux/build-deb.sh

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache
