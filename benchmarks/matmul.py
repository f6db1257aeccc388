"""minivae's matrix-product kernels against cuBLAS and cupy.sum, at the model's sizes, on one GPU.

    python benchmarks/matmul.py [--repeats 25]

The model's layers 784 -> 400 and 400 -> 20 at batch 128 each make three products: y = x W + b,
dL/dx = G W^T, dL/dW = x^T G. For each, in float32 and float64: the median GPU time of one launch
(CUDA events around bursts of back-to-back launches, after warm-up) of accel_matmul.matmul with
the tile it chooses and with each tile forced, and of cupy.matmul (cuBLAS) on the same memory
(transposes as views, outputs given; for y, cuBLAS's product plus CuPy's `+= b`, two launches).
Then the bias gradient, column_sum against cupy.sum(axis=0), and last the whole layer (the four
launches) run eagerly, replayed from a captured CUDA graph, and eagerly with cuBLAS and cupy.sum,
with the host's time per step beside each. Without CuPy or a GPU it says so and exits.
"""

import functools
import sys

import numpy as np
from sample_kl import gpu_time, host_time, start

from minivae.accel import matmul as accel_matmul

BATCH = 128
LAYERS = [(784, 400), (400, 20)]  # (inputs, outputs) of the model's encoder layers


def layer_arrays(cupy, inputs, outputs, dtype):
    """x (B, I), W (I, O), b (O,), G (B, O) with random values, as the layer holds them."""
    draw = cupy.random.default_rng(0)
    shapes = [(BATCH, inputs), (inputs, outputs), (outputs,), (BATCH, outputs)]
    return [draw.standard_normal(shape, dtype=dtype) for shape in shapes]


def products(cupy, x, w, b, g):
    """[(name, (M, K, N), ours, cublas)]: ours(tile) and cublas() launch one product into a
    buffer of its own, on the layer's memory as it lies (transposes are views, not copies)."""
    (batch, inputs), outputs = x.shape, w.shape[1]
    y, dx, dw = (cupy.empty(s, dtype=x.dtype) for s in [(batch, outputs), x.shape, w.shape])
    return [
        ("x W + b", (batch, inputs, outputs),
         lambda tile: accel_matmul.matmul(x, w, bias=b, out=y, tile=tile),
         lambda: cupy.add(cupy.matmul(x, w, out=y), b, out=y)),
        ("G W^T", (batch, outputs, inputs),
         lambda tile: accel_matmul.matmul(g, w, transpose_b=True, out=dx, tile=tile),
         lambda: cupy.matmul(g, w.T, out=dx)),
        ("x^T G", (inputs, batch, outputs),
         lambda tile: accel_matmul.matmul(x, g, transpose_a=True, out=dw, tile=tile),
         lambda: cupy.matmul(x.T, g, out=dw)),
    ]


def product_rows(cupy, dtype, repeats):
    rows = []
    for inputs, outputs in LAYERS:
        arrays = layer_arrays(cupy, inputs, outputs, dtype)
        for name, (m, k, n), ours, cublas in products(cupy, *arrays):
            times = {tile: gpu_time(cupy, functools.partial(ours, tile), repeats, 20)
                     for tile in (None, 32, 64)}
            rows.append({"product": name, "mkn": f"{m} x {k} x {n}", "dtype": np.dtype(dtype).name,
                         "tile": accel_matmul.choose_tile(m, n, multiprocessors(cupy)),
                         "us": times[None], "us32": times[32], "us64": times[64],
                         "cublas": gpu_time(cupy, cublas, repeats, 20),
                         "gflops": 2 * m * k * n / times[None] / 1e3})
    return rows


def column_sum_rows(cupy, dtype, repeats):
    rows = []
    for _, outputs in LAYERS:
        g = cupy.random.default_rng(0).standard_normal((BATCH, outputs), dtype=dtype)
        sums, cupy_sums = cupy.empty(outputs, dtype=dtype), cupy.empty(outputs, dtype=dtype)
        rows.append({"shape": f"{BATCH} x {outputs}", "dtype": np.dtype(dtype).name,
                     "us": gpu_time(cupy, functools.partial(accel_matmul.column_sum, g, out=sums),
                                    repeats, 20),
                     "cupy": gpu_time(cupy, functools.partial(g.sum, axis=0, out=cupy_sums),
                                      repeats, 20)})
    return rows


def layer_step_rows(cupy, dtype, repeats):
    """The first layer's four launches: eager, replayed from a graph, and eager with cuBLAS."""
    x, w, b, g = layer_arrays(cupy, *LAYERS[0], dtype)
    y, dx, dw = (cupy.empty(s, dtype=dtype) for s in [(BATCH, w.shape[1]), x.shape, w.shape])
    db = cupy.empty(w.shape[1], dtype=dtype)

    def ours():
        accel_matmul.matmul(x, w, bias=b, out=y)
        accel_matmul.matmul(g, w, transpose_b=True, out=dx)
        accel_matmul.matmul(x, g, transpose_a=True, out=dw)
        accel_matmul.column_sum(g, out=db)

    def cublas():
        cupy.add(cupy.matmul(x, w, out=y), b, out=y)
        cupy.matmul(g, w.T, out=dx)
        cupy.matmul(x.T, g, out=dw)
        g.sum(axis=0, out=db)

    ours()  # compiled and loaded before the capture
    cupy.cuda.Device().synchronize()
    stream = cupy.cuda.Stream(non_blocking=True)
    with stream:
        stream.begin_capture()
        ours()
        graph = stream.end_capture()
    ways = {"eager": ours, "graph replay": graph.launch, "eager, cuBLAS": cublas}
    return [{"way": way, "dtype": np.dtype(dtype).name, "us": gpu_time(cupy, work, repeats, 20),
             "host_us": host_time(cupy, work)} for way, work in ways.items()]


def multiprocessors(cupy):
    return cupy.cuda.runtime.getDeviceProperties(cupy.cuda.Device().id)["multiProcessorCount"]


def print_tables(products_, sums, steps):
    print(f"{'product':>8} {'M x K x N':>16} {'dtype':>7} {'tile':>4} {'us':>8} {'tile 32':>8} "
          f"{'tile 64':>8} {'cuBLAS':>8} {'ratio':>6} {'GFLOP/s':>8}")
    for r in products_:
        print(f"{r['product']:>8} {r['mkn']:>16} {r['dtype']:>7} {r['tile']:>4} {r['us']:8.1f} "
              f"{r['us32']:8.1f} {r['us64']:8.1f} {r['cublas']:8.1f} {r['us'] / r['cublas']:6.2f} "
              f"{r['gflops']:8.0f}")
    print(f"\n{'dL/db of':>12} {'dtype':>7} {'us':>8} {'cupy.sum':>9}")
    for r in sums:
        print(f"{r['shape']:>12} {r['dtype']:>7} {r['us']:8.1f} {r['cupy']:9.1f}")
    print(f"\n{'layer 784 -> 400, one step':>28} {'dtype':>7} {'GPU us':>8} {'host us':>8}")
    for r in steps:
        print(f"{r['way']:>28} {r['dtype']:>7} {r['us']:8.1f} {r['host_us']:8.1f}")


def main():
    args, cupy = start("matmul.py", __doc__)
    if cupy is None:
        return 0
    name = cupy.cuda.runtime.getDeviceProperties(0)["name"].decode()
    print(f"{name}, {multiprocessors(cupy)} multiprocessors, CuPy {cupy.__version__}\n")
    products_, sums, steps = [], [], []
    for dtype in (np.float32, np.float64):
        products_ += product_rows(cupy, dtype, args.repeats)
        sums += column_sum_rows(cupy, dtype, args.repeats)
        steps += layer_step_rows(cupy, dtype, args.repeats)
    print_tables(products_, sums, steps)
    return 0


if __name__ == "__main__":
    sys.exit(main())
