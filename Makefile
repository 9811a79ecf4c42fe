# GridGov — the two commands are `make demo` and `make test` (see README.md).
VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON ?= $(shell command -v python3.11 || command -v python3)
PRESET ?= small
SEED ?= 1
PORT ?= 8000

.PHONY: install demo test bench lint format messages clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

demo: install
	PRESET=$(PRESET) SEED=$(SEED) PORT=$(PORT) scripts/demo.sh

test: install
	scripts/test.sh

bench: install
	$(PY) -m pip install -q -e '.[dev,bench]'
	$(PY) benchmarks/grid_at.py --output benchmarks/results/grid_at.json
	$(PY) benchmarks/registry.py --output benchmarks/results/registry.json
	$(PY) benchmarks/cases.py --output benchmarks/results/cases.json
	$(PY) benchmarks/pages.py --output benchmarks/results/pages.json
	$(PY) benchmarks/tasks.py --output benchmarks/results/tasks.json
	$(PY) benchmarks/dashboard.py --output benchmarks/results/dashboard.json
	$(PY) benchmarks/microgrids.py --demo jiaozhou --output benchmarks/results/gridding.json

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy gridding gridgov

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

messages: install
	$(PY) manage.py makemessages -l en --ignore=.venv --ignore=var
	$(PY) manage.py compilemessages --ignore=.venv

clean:
	rm -rf $(VENV) var
