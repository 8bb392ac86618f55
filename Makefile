# lingxi — `make demo` runs the main job (a cited answer over samples/docs) on the embedded defaults, `make test` runs the tests.
# Both create .venv and install on first use; later runs reuse it (and pip's cache, which
# keeps the llama-cpp-python wheel that takes 10-20 minutes to compile the first time).

VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip --disable-pip-version-check
# ray: the distributed-ingest tests run in CI (ray[data,client] 2.60.0: +260 MB, 3 packages, ~30 s)
EXTRAS ?= dev,all,ray
STAMP  := $(VENV)/.installed
export CMAKE_BUILD_PARALLEL_LEVEL ?= $(shell nproc 2>/dev/null || echo 2)

.PHONY: install engine demo test bench clean

install: $(STAMP)

$(STAMP): pyproject.toml requirements/models.txt scripts/setup.sh scripts/engine.py src/lingxi/models/engine.py
	@scripts/setup.sh $(VENV) $(EXTRAS)
	@touch $(STAMP)

# rebuild or reinstall only the llama.cpp engine (portable flags; LINGXI_ENGINE_FLAGS=native opts in to a host build)
engine:
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) scripts/engine.py

# the main job: ingest the shipped sample docs and answer one question with verified citations
demo: install
	@$(PY) -m lingxi.models.engine $(VENV)/bin/lingxi demo

# OMP_WAIT_POLICY=PASSIVE: torch's spinning OpenMP threads starve everything else on 2 cores
test: install
	OMP_WAIT_POLICY=PASSIVE $(PY) -m pytest -q

bench: install
	$(PY) bench/generation.py

clean:
	rm -rf $(VENV) .pytest_cache
