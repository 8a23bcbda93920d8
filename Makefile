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

# System tools some tests need, from Debian: installed with apt only when running as root with apt-get
# available; otherwise the command to run is printed. $(call apt_tool,COMMAND,PACKAGE,WHAT NEEDS IT)
apt_tool = command -v $(1) >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(2); \
	  else \
	    echo "$(1) is missing: run 'sudo apt-get install -y $(2)' ($(3) needs it)"; \
	  fi; }

# Headless Chromium for the report rendering test (Testing/test_report_html.py, test_cli_end_to_end.py).
browser:
	@$(call apt_tool,chromium,chromium,the report-rendering test)

# Debian's dicom3tools (dciodvfy) for the DICOM SEG/SR validation test (Testing/test_dicom_export.py).
dicom3tools:
	@$(call apt_tool,dciodvfy,dicom3tools,the DICOM export test)

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
