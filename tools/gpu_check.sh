#!/usr/bin/env bash
# One GPU check of the engine for a lent GPU machine (no network there): a Moonlight-shaped
# model with random weights in bf16 through our engine; decode tokens/s at 1 and 8 streams,
# prefill tokens/s, peak GPU memory. JSON on stdout and, when $OUT is set, $OUT/gpu_check.json.
# See model_core/gpu_check.py. Arguments pass through, e.g. `--layers 4`, `--device cpu --tiny`
# (the CPU dry run the tests use). Exits 2 when torch is missing or cannot reach CUDA.
set -euo pipefail
cd "$(dirname "$0")/.."

# The project's venv when it came along, else whatever python3 has torch.
PYTHON=${PYTHON:-}
if [ -z "$PYTHON" ]; then
    if [ -x .venv/bin/python ]; then PYTHON=.venv/bin/python; else PYTHON=python3; fi
fi
# The import package lives in src/ (model_core/ is linked into it): works without an install.
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}"

if ! "$PYTHON" - <<'PY' >&2
import importlib.util, sys
if importlib.util.find_spec("torch") is None:
    print(f"gpu_check: torch is not installed for {sys.executable}; nothing to measure")
    sys.exit(2)
import torch
cuda = torch.cuda.is_available()
print(f"gpu_check: torch {torch.__version__}, CUDA build {torch.version.cuda or 'none (CPU-only wheel)'},"
      f" CUDA available: {cuda}, devices: {torch.cuda.device_count()}"
      + (f" ({torch.cuda.get_device_name(0)})" if cuda else ""))
PY
then
    exit 2
fi

exec "$PYTHON" -m twincore.model_core.gpu_check "$@"
