# Two commands on a fresh machine with Python 3.9+ and make:
#   make demo   create .venv, install, run the whole study on the built-in synthetic cohort, write the report
#   make test   create .venv if needed, install, run ruff and the whole test suite (slow tests included)
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_OUT ?= demo-output

.PHONY: demo test test-py39 lint install bench clean browser dicom3tools

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check .

# Headless Chromium for the report rendering test (Testing/test_report_html.py, test_cli_end_to_end.py).
# Installed with apt only when running as root with apt-get available; otherwise the command is printed.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	  else \
	    echo "headless Chromium is missing: run 'sudo apt-get install -y chromium' (the report tests need it)"; \
	  fi; }

# Debian's dicom3tools (dciodvfy) for the DICOM SEG/SR validation test (Testing/test_dicom_export.py).
# Installed with apt only when running as root with apt-get available; otherwise the command is printed.
dicom3tools:
	@command -v dciodvfy >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dicom3tools; \
	  else \
	    echo "dciodvfy is missing: run 'sudo apt-get install -y dicom3tools' (the DICOM export test needs it)"; \
	  fi; }

test: lint browser dicom3tools
	$(BIN)/python -m pytest -n 2 --durations=15

# The oldest supported stack (Slicer 5.8: Python 3.9, numpy 1.26) in its own environment, .venv39.
# PYTHON39=/path/to/python3.9 make test-py39 if python3.9 is not on PATH.
PYTHON39 ?= python3.9
VENV39 := .venv39

$(VENV39)/.installed: pyproject.toml
	$(PYTHON39) -m venv $(VENV39)
	$(VENV39)/bin/python -m pip install --quiet --upgrade pip
	$(VENV39)/bin/python -m pip install --quiet "numpy==1.26.4" -e ".[test]"
	touch $@

test-py39: $(VENV39)/.installed browser dicom3tools
	$(VENV39)/bin/python -m pytest -n 2 -W ignore::DeprecationWarning

demo: $(STAMP)
	$(BIN)/nacresistance demo --out $(DEMO_OUT)

bench: $(STAMP)
	for script in benchmarks/*.py; do $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) $(VENV39) $(DEMO_OUT) .pytest_cache .ruff_cache
