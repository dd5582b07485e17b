# The two commands: `make demo` and `make test`. Each builds .venv with plain pip when it is
# missing or older than pyproject.toml, then runs. Torch is pinned to the builds that lie on
# this workplace's disk (a CUDA build that also runs on the CPU; see README "Setup").
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.boxfix-installed
TORCH_PINS := torch==2.14.1 torchvision==0.29.1
export YOLO_OFFLINE := 1
export YOLO_AUTOINSTALL := 0

.PHONY: setup demo test bench package lint clean

setup: $(STAMP)

$(STAMP): pyproject.toml Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -c "import torch, torchvision" 2>/dev/null || $(PY) -m pip install --quiet $(TORCH_PINS)
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/boxfix demo

lint: $(STAMP)
	$(VENV)/bin/lint-imports

test: $(STAMP) lint
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q

bench: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q -s tests/benchmarks -p no:cacheprovider --override-ini="addopts=" -o python_files="bench_*.py"

package: $(STAMP)
	$(PY) -m pip install --quiet 'pyinstaller>=6'
	$(VENV)/bin/pyinstaller --noconfirm --distpath dist --workpath build/pyinstaller packaging/boxfix.spec

clean:
	rm -rf $(VENV) build dist .pytest_cache
