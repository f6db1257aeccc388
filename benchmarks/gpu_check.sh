#!/usr/bin/env bash
# The prepared GPU check: what only a GPU can prove about minivae, in one command and one log.
#
#     bash benchmarks/gpu_check.sh [LOG]          # LOG: default $OUT/gpu_check.log, or ./gpu_check.log
#
# Runs, on one H100/H200 with no network, in about 5 minutes (budget: under 8):
#   1. versions: GPU, driver, CUDA, Python, NumPy, CuPy, PyTorch;
#   2. the GPU test suite: the fused kernels against the NumPy reference (same noise, float32 and
#      float64, awkward sizes, NaN-poisoned outputs, backward in a fresh process, gradient check),
#      minivae's matrix-product kernel, every op on CuPy against NumPy, training, checkpoints
#      across devices, evaluation, figures and the CUDA-graph step (tests/accel);
#   3. minivae gradcheck --device gpu: every op and the whole loss, float64, as a table;
#   4. the benchmarks: the fused op against copy bandwidth, unfused CuPy, PyTorch eager and
#      torch.compile (benchmarks/sample_kl.py), the matrix-product kernel against cuBLAS
#      (benchmarks/matmul.py), the reference VAE's step and epoch times against PyTorch CUDA and
#      its 10-epoch -ELBO against the CPU's (benchmarks/vae_gpu.py; needs Fashion-MNIST: found in
#      --data-dir / $MINIVAE_DATA / ~/.cache/minivae / /usr/share/datasets, or in .data/ here).
# Installs nothing from the network: if minivae is not importable it is installed from this
# checkout with pip --no-index --no-deps. Without a GPU every GPU part is skipped with its reason,
# so the script can be tried anywhere first (tests/benchmarks/test_gpu_check.py runs it in CI).
set -uo pipefail
cd "$(dirname "$0")/.."
log=${1:-${OUT:-.}/gpu_check.log}
exec > >(tee "$log") 2>&1
export PYTHONUNBUFFERED=1 MPLBACKEND=Agg
python=${PYTHON:-python3}
failed=0
section() { echo; echo "=== $* ($(date +%H:%M:%S))"; }
step() {  # step NAME SECONDS COMMAND...: run it with a time limit, remember a failure
    local name=$1 limit=$2; shift 2
    section "$name"
    timeout "$limit" "$@" || { echo "*** $name FAILED (status $?)"; failed=1; }
}

section "versions"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1 || true
nvcc --version 2>/dev/null | tail -1 || true
$python - <<'PY'
import platform
import numpy
print("python", platform.python_version(), "| numpy", numpy.__version__)
for name in ("cupy", "torch"):
    try:
        module = __import__(name)
        print(name, module.__version__)
    except ImportError:
        print(name, "not installed")
PY

if ! $python -c "import minivae.kernels" 2>/dev/null; then
    section "install minivae from this checkout (no network)"
    $python -m pip install -q --no-index --no-deps --no-build-isolation -e . || failed=1
fi
if [ -d .data/fashion-mnist ] && [ -z "${MINIVAE_DATA:-}" ]; then
    export MINIVAE_DATA=$PWD/.data
fi

reason=$($python -c "from minivae import backend; print(backend.why_no_gpu() or '')")
if [ -n "$reason" ]; then
    section "no GPU here: $reason"
    echo "every GPU part of this check is skipped; on a machine with a GPU it runs them all"
    step "GPU tests (they skip, saying why)" 300 $python -m pytest -q -rs -p no:cacheprovider \
        tests/accel/test_gpu_sample_kl.py tests/accel/test_cupy_backend.py
    exit "$failed"
fi

step "GPU test suite" 240 $python -m pytest -q -rs -p no:cacheprovider tests/accel
step "gradcheck on the GPU" 120 $python -m minivae gradcheck --device gpu --draws 2
step "fused sample-and-KL op" 120 $python benchmarks/sample_kl.py
if [ -f benchmarks/matmul.py ]; then
    step "matrix-product kernel" 60 $python benchmarks/matmul.py
fi
step "reference VAE, GPU against PyTorch and the CPU" 300 $python benchmarks/vae_gpu.py --epochs 10

section "done: $([ "$failed" = 0 ] && echo 'every part passed' || echo 'SOME PARTS FAILED, see above')"
exit "$failed"
