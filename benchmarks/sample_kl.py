"""The fused sample-and-KL kernels against a copy, the unfused CuPy op and PyTorch, on one GPU.

    python benchmarks/sample_kl.py [--repeats 25]

For B x L = 128 x 20, 4096 x 256, 65536 x 1024 and 2^22 x 20, float32 and float64, forward and
backward, one table, each row printed as it is measured: the median GPU time of a launch (CUDA
events around back-to-back launches, after warm-up), its effective bandwidth over the minimal
bytes, and beside it, timed the same way in the same run, a device-to-device copy of as many
bytes, minivae's plain SampleKL on CuPy arrays (the unfused composition the kernel replaces:
counter_normal, then the formulas), and, where PyTorch sees the GPU, PyTorch eager (randn_like
plus the formula) of the same functions. PyTorch's backward reads the eps its forward stored,
one array more than the kernel, which draws eps again. The last column is the host's time for
one launcher call, argument checks included. Then the targets of docs/cuda.md, met or not.
torch.compile comes last, in a table of its own, row by row: it compiles each function on first
use, which can take minutes on a machine with cold caches, so a time limit there loses none of
the rows above.

Minimal bytes, s the size of a float: forward reads mu, logvar and writes z, kl:
(3 B L + B) s; backward reads mu, logvar, gz, gk and writes dmu, dlogvar: (5 B L + B) s.
Without CuPy or a GPU it says so and exits.
"""

import argparse
import functools
import statistics
import sys
import time

import numpy as np

from minivae import backend
from minivae.accel import sample_kl
from minivae.engine.function import Context
from minivae.ops.vae import SampleKL

SIZES = [(128, 20), (4096, 256), (65536, 1024), (2**22, 20)]


def gpu_or_reason():
    reason = backend.why_no_gpu()
    return (None, reason) if reason else (backend.cupy, None)


def torch_on_gpu():
    try:
        import torch  # noqa: PLC0415 - optional
    except ImportError:
        return None
    return torch if torch.cuda.is_available() else None


def gpu_time(cupy, work, repeats, inner):
    """Median microseconds of one call of `work`, over `repeats` timings of `inner` calls."""
    for _ in range(3):
        work()
    start, end, times = cupy.cuda.Event(), cupy.cuda.Event(), []
    for _ in range(repeats):
        start.record()
        for _ in range(inner):
            work()
        end.record()
        end.synchronize()
        times.append(cupy.cuda.get_elapsed_time(start, end) * 1000 / inner)
    return statistics.median(times)


def host_time(cupy, work, calls=200):
    """Microseconds of host time per call (launches queue up; one sync at the end)."""
    work()
    cupy.cuda.Device().synchronize()
    begin = time.perf_counter()
    for _ in range(calls):
        work()
    elapsed = time.perf_counter() - begin
    cupy.cuda.Device().synchronize()
    return elapsed * 1e6 / calls


def torch_functions(torch):
    def forward(mu, logvar):
        eps = torch.randn_like(mu)
        sigma = torch.exp(0.5 * logvar)
        return mu + sigma * eps, 0.5 * (mu * mu + sigma * sigma - 1 - logvar).sum(dim=1), eps

    def backward(mu, logvar, eps, gz, gk):
        sigma, gk = torch.exp(0.5 * logvar), gk[:, None]
        return gz + gk * mu, gz * eps * sigma / 2 + gk * (sigma * sigma - 1) / 2

    return forward, backward


def passes(cupy, arrays, outputs):
    """{pass: (fused, unfused)}: callables running one pass each way."""
    mu, logvar, gz, gk = arrays
    z, kl, dmu, dlogvar = outputs
    saved = Context(cupy, (True, True))
    SampleKL.forward(saved, mu, logvar, 1, 0)  # what the plain backward reads (eps, sigma, ...)

    def fused_forward():
        sample_kl.sample_kl_forward(mu, logvar, 1, 0, out=(z, kl))

    def unfused_forward():
        SampleKL.forward(Context(cupy, (True, True)), mu, logvar, 1, 0)

    def fused_backward():
        sample_kl.sample_kl_backward(mu, logvar, gz, gk, 1, 0, out=(dmu, dlogvar))

    def unfused_backward():
        SampleKL.backward(saved, gz, gk)

    return {
        "forward": (fused_forward, unfused_forward),
        "backward": (fused_backward, unfused_backward),
    }


def copier(cupy, size):
    """A callable copying `size` bytes from one device buffer to another."""
    source, target = cupy.empty(size, dtype=cupy.uint8), cupy.empty(size, dtype=cupy.uint8)

    def copy():
        target[...] = source

    return copy


def inputs(cupy, rows, length, dtype):
    """mu, logvar, gz (B, L) and gk (B,), standard normal, on the device."""
    draw = cupy.random.default_rng(0)
    return [draw.standard_normal(shape, dtype=dtype) for shape in [(rows, length)] * 3 + [rows]]


def bursts(rows, length):
    return max(1, min(100, 2**24 // (rows * length)))  # short launches are timed in bursts


def measure(cupy, torch, rows, length, dtype, repeats):
    """The table's forward row and backward row for one size and dtype, as dicts (PyTorch
    eager's time too, given torch; torch.compile's is `measure_compiled`'s)."""
    arrays = inputs(cupy, rows, length, dtype)
    outputs = [
        cupy.empty(shape, dtype=dtype) for shape in [(rows, length), rows] + [(rows, length)] * 2
    ]
    inner = bursts(rows, length)
    minimal = {"forward": 3 * rows * length + rows, "backward": 5 * rows * length + rows}
    results = []
    for direction, (fused, unfused) in passes(cupy, arrays, outputs).items():
        moved = minimal[direction] * np.dtype(dtype).itemsize
        copy = copier(cupy, moved // 2)  # a copy reads n and writes n bytes
        row = {"size": f"{rows} x {length}", "dtype": np.dtype(dtype).name, "pass": direction,
               "us": gpu_time(cupy, fused, repeats, inner),
               "copy_us": gpu_time(cupy, copy, repeats, inner),
               "unfused_us": gpu_time(cupy, unfused, repeats, inner),
               "host_us": host_time(cupy, fused), "bytes": moved}
        if torch is not None:
            function, args = torch_pass(torch, direction, arrays)
            with torch.no_grad():
                row["torch_us"] = gpu_time(cupy, functools.partial(function, *args), repeats,
                                           inner)
        results.append(row)
    return results


def measure_compiled(cupy, torch, rows, length, dtype, repeats):
    """{pass: microseconds} of torch.compile of PyTorch's pass (compiled during the warm-up)."""
    arrays, inner, times = inputs(cupy, rows, length, dtype), bursts(rows, length), {}
    for direction in ("forward", "backward"):
        function, args = torch_pass(torch, direction, arrays)
        compiled = torch.compile(function)
        with torch.no_grad():
            times[direction] = gpu_time(cupy, functools.partial(compiled, *args), repeats, inner)
    return times


def torch_pass(torch, direction, arrays):
    """PyTorch's function for one pass and its arguments, on the same memory (through DLPack)."""
    mu, logvar, gz, gk = (torch.from_dlpack(a) for a in arrays)
    forward, backward = torch_functions(torch)
    if direction == "forward":
        return forward, (mu, logvar)
    return backward, (mu, logvar, torch.randn_like(mu), gz, gk)


HEADER = (f"{'B x L':>13} {'dtype':>7} {'pass':>8} {'us':>8} {'GB/s':>7} {'% copy':>6} "
          f"{'unfused':>8} {'torch':>8} {'host us':>8}")


def print_row(r):
    bandwidth = r["bytes"] / r["us"] / 1e3
    copy_share = 100 * r["copy_us"] / r["us"]
    torch_us = f" {r['torch_us']:8.1f}" if "torch_us" in r else f" {'-':>8}"
    start = f"{r['size']:>13} {r['dtype']:>7} {r['pass']:>8} {r['us']:8.1f} {bandwidth:7.0f}"
    print(f"{start} {copy_share:6.0f} {r['unfused_us']:8.1f}{torch_us} {r['host_us']:8.1f}")


def print_table(results):
    print(HEADER)
    for r in results:
        print_row(r)


def print_targets(results):
    largest = [r for r in results if r["size"] in ("65536 x 1024", f"{2**22} x 20")]
    print("\ntargets (docs/cuda.md):")
    worst_copy = min(100 * r["copy_us"] / r["us"] for r in largest)
    print(f"  >= 90% of copy bandwidth at the largest sizes: worst {worst_copy:.0f}%")
    small = [r["us"] for r in results if r["size"] == "128 x 20"]
    print(f"  at most 10 us at 128 x 20, one launch each way: worst {max(small):.1f} us")


def print_compiled(cupy, torch, results, repeats):
    """torch.compile's row for each row of `results`, each printed as it is measured, then the
    target of docs/cuda.md: the fused kernel no slower than torch.compile."""
    print("\ntorch.compile of PyTorch's passes (compiled on first use: last, as it can be slow)")
    print(f"{'B x L':>13} {'dtype':>7} {'pass':>8} {'us':>8} {'compile':>8} {'ratio':>6}")
    worst = 0.0
    for rows, length in SIZES:
        for dtype in (np.float32, np.float64):
            compiled = measure_compiled(cupy, torch, rows, length, dtype, repeats)
            for r in results:
                if r["size"] == f"{rows} x {length}" and r["dtype"] == np.dtype(dtype).name:
                    ratio = r["us"] / compiled[r["pass"]]
                    worst = max(worst, ratio)
                    print(f"{r['size']:>13} {r['dtype']:>7} {r['pass']:>8} {r['us']:8.1f} "
                          f"{compiled[r['pass']]:8.1f} {ratio:6.2f}")
    print(f"  target: no slower than torch.compile: worst time ratio {worst:.2f} (<= 1 is met)")


def start(script, doc):
    """Parse --repeats; return (args, cupy), cupy None (after saying why) without a GPU."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=25, help="timings per median")
    args = parser.parse_args()
    cupy, reason = gpu_or_reason()
    if cupy is None:
        print(f"benchmarks/{script} needs a GPU: {reason}")
    return args, cupy


def main():
    args, cupy = start("sample_kl.py", __doc__)
    if cupy is None:
        return 0
    torch = torch_on_gpu()
    print(f"{cupy.cuda.runtime.getDeviceProperties(0)['name'].decode()}, CuPy {cupy.__version__}, "
          f"PyTorch {torch.__version__ if torch else 'not on the GPU'}\n")
    print(HEADER)
    results = []
    for rows, length in SIZES:
        for dtype in (np.float32, np.float64):
            for row in measure(cupy, torch, rows, length, dtype, args.repeats):
                print_row(row)
                results.append(row)
    print_targets(results)
    if torch is not None:
        print_compiled(cupy, torch, results, args.repeats)
    return 0


if __name__ == "__main__":
    sys.exit(main())
