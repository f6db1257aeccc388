#!/usr/bin/env bash
# The prepared GPU check: what only a GPU can prove about minivae, in two parts, each one command
# that fits one call on a GPU machine lent for minutes (at most 600 s a call), each one log.
#
#     bash benchmarks/gpu_check.sh first  [LOG]   # the essentials: limits add up to 290 s
#     bash benchmarks/gpu_check.sh second [LOG]   # the long benchmarks: limits add up to 390 s
#     bash benchmarks/gpu_check.sh        [LOG]   # both, one after the other
#
# LOG: default $OUT/gpu_check_<part>.log where OUT is set (the GPU machine's folder that comes
# back), else a new file in ${TMPDIR:-/tmp}; never in this checkout. Its path is printed first.
#
# The first part, on one H100/H200 with no network and no dataset but the built-in sprites:
#   1. versions: GPU, driver, CUDA, Python, NumPy, CuPy, PyTorch (and minivae installed from this
#      checkout with pip --no-index --no-deps if it is not importable);
#   2. compile: a short training run (float32, --cuda-graph, 1,024 sprites), which makes NVRTC
#      compile minivae's kernels and CuPy's for a training step on a bare machine, where CuPy's
#      kernel cache (~/.cupy/kernel_cache) is empty: its time is printed; what the later steps
#      compile (float64, every op) is in their own limits;
#   3. the GPU tests (pytest -m gpu tests/accel): the fused kernels against NumPy within
#      docs/cuda.md's bounds, the matrix-product kernels against the sum in order and cuBLAS,
#      every op on CuPy, training, checkpoints across devices, evaluation, figures, the CUDA
#      graph (their stand-in twins ran in CI; these are the GPU's own);
#   4. minivae gradcheck --device gpu: every op and the whole loss, float64;
#   5. benchmarks/vae_gpu.py --epochs 2 on the sprites: ms per training step (minivae eager,
#      minivae graph, PyTorch eager: the timing table) and the GPU runs' test -ELBO against the
#      CPU's (the agreement);
#   6. notebook 9 (notebooks/09_on_the_gpu.py) run as a plain Python script: its GPU cells.
# The second part: benchmarks/sample_kl.py (the fused op against copy bandwidth, unfused CuPy,
# PyTorch, torch.compile last), benchmarks/matmul.py (the matrix kernels against cuBLAS) and
# benchmarks/vae_gpu.py --epochs 10 --dataset auto (Fashion-MNIST where its files are, else the
# sprites; it says which).
#
# Every step has a time limit (`timeout`), reports passed, FAILED or TIMED OUT with its seconds,
# and prints its results as they come; the part ends with the sum of its limits and the time it
# took. Installs nothing from the network. Without a GPU the steps that need one are skipped with
# the reason and the others run, so the script can be tried anywhere first
# (tests/benchmarks/test_gpu_check.py runs it in CI).
set -uo pipefail
cd "$(dirname "$0")/.."
part=${1:-all}
case $part in
    first | second | all) shift || true ;;
    *) part=all ;;  # the one argument is the log
esac
if [ -n "${1:-}" ]; then
    log=$1
elif [ -n "${OUT:-}" ]; then
    log=$OUT/gpu_check_$part.log
else
    log=$(mktemp "${TMPDIR:-/tmp}/gpu_check_$part.XXXXXX")
fi
export PYTHONUNBUFFERED=1 MPLBACKEND=Agg
python=${PYTHON:-python3}
failed=0
limits=0  # the sum of the time limits of the steps so far, in seconds

section() { echo; echo "=== $* ($(date +%H:%M:%S))"; }

step() {  # step NAME LIMIT COMMAND...: run it with a time limit, say how it went
    local name=$1 limit=$2 started=$SECONDS status
    shift 2
    limits=$((limits + limit))
    section "$name (limit $limit s)"
    timeout "$limit" "$@"
    status=$?
    if [ "$status" = 0 ]; then
        echo "--- $name: passed in $((SECONDS - started)) s"
    elif [ "$status" = 124 ]; then
        echo "*** $name: TIMED OUT after $limit s"
        failed=1
    else
        echo "*** $name: FAILED (status $status) after $((SECONDS - started)) s"
        failed=1
    fi
}

gpu_step() {  # like step, but where there is no GPU skipped, saying why
    if [ -n "$no_gpu" ]; then
        limits=$((limits + $2))
        section "$1"
        echo "--- skipped: no GPU here ($no_gpu)"
        return
    fi
    step "$@"
}

versions() {
    section "versions"
    echo "log: $log"
    timeout 5 nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
    timeout 5 nvcc --version | tail -1
    timeout 5 $python - <<'PY'
import platform
import numpy
print("python", platform.python_version(), "| numpy", numpy.__version__)
for name in ("cupy", "torch"):
    try:
        print(name, __import__(name).__version__)
    except ImportError:
        print(name, "not installed")
PY
    limits=$((limits + 15))
    if ! $python -c "import minivae.kernels" 2>/dev/null; then
        step "install minivae from this checkout (no network)" 30 \
            $python -m pip install -q --no-index --no-deps --no-build-isolation -e .
    else
        limits=$((limits + 30))  # counted all the same: a bare GPU machine takes this step
    fi
    no_gpu=$($python -c "from minivae import backend; print(backend.why_no_gpu() or '')")
    if [ -n "$no_gpu" ]; then
        section "no GPU here: $no_gpu"
        echo "the steps that need a GPU are skipped; on a machine with one they all run"
    fi
}

compile_step() {  # the first CuPy work on a bare machine: NVRTC compiles each kernel once
    local run
    run=$(mktemp -d)
    gpu_step "compile: minivae's and CuPy's kernels for a training step (cold cache)" 40 \
        $python -m minivae train --device gpu --cuda-graph --dtype float32 --limit 1024 \
        --epochs 1 --no-figures --quiet --out "$run/float32"
    rm -rf "$run"
}

first_part() {
    compile_step
    step "GPU tests (pytest -m gpu)" 85 \
        $python -m pytest -q -rs -p no:cacheprovider -m gpu --durations=5 tests/accel
    gpu_step "gradcheck on the GPU" 20 $python -m minivae gradcheck --device gpu --draws 2
    step "reference VAE on the sprites: step times, -ELBO against the CPU" 60 \
        $python benchmarks/vae_gpu.py --epochs 2
    step "notebook 9 as a script (notebooks/09_on_the_gpu.py)" 40 \
        bash -c "cd notebooks && exec $python 09_on_the_gpu.py"
}

second_part() {
    step "fused sample-and-KL op (torch.compile last)" 150 $python benchmarks/sample_kl.py
    step "matrix-product kernels against cuBLAS" 45 $python benchmarks/matmul.py
    step "reference VAE, 10 epochs (Fashion-MNIST where it is here, else sprites)" 150 \
        $python benchmarks/vae_gpu.py --epochs 10 --dataset auto
}

main() {
    versions
    case $part in
        first) first_part ;;
        second) second_part ;;
        all) first_part; second_part ;;
    esac
    section "$part: the time limits of its steps (versions included) add up to $limits s;" \
        "it took $SECONDS s"
    section "done: $([ "$failed" = 0 ] && echo 'every step passed' || echo 'SOME STEPS FAILED')"
    return "$failed"
}

main 2>&1 | tee "$log"  # a pipeline: bash waits for tee, so the log is whole when this ends
exit "${PIPESTATUS[0]}"
