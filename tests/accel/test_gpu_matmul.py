"""matmul.cu and column_sum.cu on a real GPU, through minivae.accel.matmul: against the sum in
order (bit for bit), against cuBLAS (the docs' bound), and inside a captured CUDA graph.

What the CPU tests cannot show: --fmad=false and -ftz=true leaving the GPU's sums equal to the
sum in order, the launch from Python (the sizes' C types, the null bias, the name expressions),
the agreement with cuBLAS, 64-bit offsets past 2^31 elements, that a stream capture records the
launches and a replay reads the memory as it is then, and that out= allocates nothing. Each test
runs on the GPU (skipped, with the reason, where CuPy or a GPU is missing) and on the CuPy
stand-in (tests/conftest.py: launches checked against the kernels' C signatures, the kernels
emulated on the CPU, NumPy's BLAS for cuBLAS; a test aid for CI, not a GPU). `pytest -s` prints
the measured figures.
"""

import numpy as np
import pytest
from support import cupy_stand_in
from support.agreement import assert_agrees, column_sum_scale, product_scale
from support.matmul_checks import COLUMN_SHAPES, MODEL, SHAPES, TRANSPOSES, operands

from minivae.accel import matmul as accel_matmul
from minivae.errors import DTypeError, MinivaeError, ShapeError

CASES = [(m, k, n, *flags) for m, k, n in SHAPES for flags in TRANSPOSES] + MODEL


def op(x, transposed):
    return x.T if transposed else x


def launch_and_compare(cupy, m, k, n, transpose_a, transpose_b, dtype, tile, with_bias=True):
    """The GPU's C against NumPy's sum in order (equal) and cuBLAS (the docs' bound)."""
    a, b, bias = operands(m, k, n, transpose_a, transpose_b, dtype, seed=m + 7 * k + 31 * n)
    bias = bias if with_bias else None
    gpu_a, gpu_b, gpu_bias = (None if x is None else cupy.asarray(x) for x in (a, b, bias))
    out = cupy.full((m, n), cupy.nan, dtype=dtype)  # an element left unwritten stays NaN
    c = accel_matmul.matmul(gpu_a, gpu_b, transpose_a, transpose_b, gpu_bias, out=out, tile=tile)
    assert c is out
    in_order = accel_matmul.matmul_in_order(a, b, transpose_a, transpose_b, bias)
    assert_agrees("matmul in order", c.get(), in_order)
    cublas = cupy.matmul(op(gpu_a, transpose_a), op(gpu_b, transpose_b))  # on views: no copies
    cublas = cublas if bias is None else cublas + gpu_bias
    scale = product_scale(op(a, transpose_a), op(b, transpose_b), bias)
    measured = assert_agrees("matmul", c.get(), cublas.get(), scale)
    print(f"measured matmul/cuBLAS {np.dtype(dtype)} {(m, k, n)} tile {tile}: c = {measured:.4f}")


@pytest.mark.parametrize("tile", [None, *accel_matmul.TILES])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("m, k, n, transpose_a, transpose_b", CASES, ids=str)
def test_matmul_matches_the_sum_in_order_and_cublas(cupy, m, k, n, transpose_a, transpose_b,
                                                    dtype, tile):
    launch_and_compare(cupy, m, k, n, transpose_a, transpose_b, dtype, tile)


@pytest.mark.parametrize("tile", accel_matmul.TILES)
@pytest.mark.parametrize("m, k, n", SHAPES, ids=str)
def test_matmul_without_bias_passes_a_null_pointer(cupy, m, k, n, tile):
    launch_and_compare(cupy, m, k, n, False, True, np.float32, tile, with_bias=False)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("rows, cols", COLUMN_SHAPES, ids=str)
def test_column_sums_match_the_sum_in_order_and_cupy(cupy, rows, cols, dtype):
    g = np.random.default_rng(rows + cols).standard_normal((rows, cols)).astype(dtype)
    sums = accel_matmul.column_sum(cupy.asarray(g)).get()
    assert_agrees("column_sum in order", sums, accel_matmul.column_sum_in_order(g))
    measured = assert_agrees("column_sum", sums, cupy.asarray(g).sum(axis=0).get(),
                             column_sum_scale(g))
    print(f"measured column_sum vs cupy {np.dtype(dtype)} {(rows, cols)}: c = {measured:.4f}")


def test_past_2_to_the_31_elements(cupy):
    """64-bit offsets: the last rows of a (65537, 32769) float32 A (8.6 GB), as it is and read
    transposed (the same memory as a (32769, 65537) A^T)."""
    m, k = 2**16 + 1, 2**15 + 1
    if cupy.cuda.Device().mem_info[0] < 2 * m * k * 4:
        pytest.skip(f"needs {2 * m * k * 4 / 2**30:.0f} GiB free on the GPU")
    a = cupy.random.default_rng(1).standard_normal((m, k), dtype=cupy.float32)
    b = cupy.random.default_rng(2).standard_normal((k, 3), dtype=cupy.float32)
    last = slice(m - 4, m)  # rows whose offsets i * k + kk pass 2^31
    c = accel_matmul.matmul(a, b)
    expected = accel_matmul.matmul_in_order(a[last].get(), b.get())
    assert_agrees("matmul in order", c[last].get(), expected)
    stored_transposed = a.reshape(k, m)  # memory holding A'^T for A' = stored_transposed.T
    c = accel_matmul.matmul(stored_transposed, b, transpose_a=True)
    expected = accel_matmul.matmul_in_order(stored_transposed[:, last].get().T.copy(), b.get())
    assert_agrees("matmul in order", c[last].get(), expected)


def dense_layer_buffers(cupy, dtype=np.float64):
    """x, W, b, G of the first layer (784 -> 400, batch 128) and the outputs y, dx, dW, db; on
    the stand-in, which runs every CUDA thread on the CPU, of a layer 40 -> 24, batch 16."""
    batch, fan_in, fan_out = (16, 40, 24) if cupy_stand_in.is_stand_in(cupy) else (128, 784, 400)
    draw = np.random.default_rng(5)
    inputs = [cupy.asarray(draw.standard_normal(s).astype(dtype)) for s in
              [(batch, fan_in), (fan_in, fan_out), (fan_out,), (batch, fan_out)]]
    outputs = [cupy.empty(s, dtype=dtype)
               for s in [(batch, fan_out), (batch, fan_in), (fan_in, fan_out), (fan_out,)]]
    return inputs, outputs


def dense_layer_step(x, w, b, g, y, dx, dw, db):
    """The layer's forward product and its three gradients, into the buffers given."""
    accel_matmul.matmul(x, w, bias=b, out=y)  # y = x W + b
    accel_matmul.matmul(g, w, transpose_b=True, out=dx)  # dL/dx = G W^T
    accel_matmul.matmul(x, g, transpose_a=True, out=dw)  # dL/dW = x^T G
    accel_matmul.column_sum(g, out=db)  # dL/db = sum over the batch of G


def test_a_captured_graph_replays_the_layer_with_the_values_at_replay(cupy):
    inputs, outputs = dense_layer_buffers(cupy)
    dense_layer_step(*inputs, *outputs)  # compiles and loads the modules outside the capture
    direct = [out.copy() for out in outputs]
    for out in outputs:
        out.fill(cupy.nan)
    cupy.cuda.Device().synchronize()  # the capture stream does not wait on the default stream
    stream = cupy.cuda.Stream(non_blocking=True)
    with stream:
        stream.begin_capture()
        dense_layer_step(*inputs, *outputs)
        graph = stream.end_capture()
    assert all(bool(cupy.isnan(out).all()) for out in outputs)  # recorded, not run
    graph.launch(stream=stream)
    stream.synchronize()
    for got, want in zip(outputs, direct, strict=True):
        cupy.testing.assert_array_equal(got, want)

    x, w, b, g = inputs
    x *= 2  # new values in the same memory: a replay reads them
    g[...] = -g
    cupy.cuda.Device().synchronize()
    graph.launch(stream=stream)
    stream.synchronize()
    again = [cupy.empty_like(out) for out in outputs]
    dense_layer_step(*inputs, *again)
    for got, want in zip(outputs, again, strict=True):
        cupy.testing.assert_array_equal(got, want)


def test_cupy_matmul_cannot_be_captured_which_is_why_these_kernels_exist(cupy):
    a = cupy.ones((4, 4), dtype=cupy.float32)
    stream = cupy.cuda.Stream(non_blocking=True)
    with stream:
        stream.begin_capture()
        with pytest.raises(NotImplementedError, match="cuBLAS"):
            cupy.matmul(a, a)
        stream.end_capture()


def test_with_out_the_launchers_allocate_nothing(cupy):
    class CountingHook(cupy.cuda.MemoryHook):
        name = "counting"

        def __init__(self):
            self.mallocs = 0

        def malloc_preprocess(self, **kwargs):
            self.mallocs += 1

    inputs, outputs = dense_layer_buffers(cupy)
    dense_layer_step(*inputs, *outputs)  # compiled and loaded
    with CountingHook() as hook:
        dense_layer_step(*inputs, *outputs)
    assert hook.mallocs == 0
    with CountingHook() as hook:
        accel_matmul.matmul(inputs[0], inputs[1])
    assert hook.mallocs == 1  # the output, and nothing else


def test_bad_arguments_are_refused_before_the_launch(cupy):
    a = cupy.zeros((4, 4), dtype=cupy.float32)
    with pytest.raises(DTypeError, match=r"a is a numpy.ndarray .*cupy.asarray"):
        accel_matmul.matmul(a.get(), a)
    with pytest.raises(DTypeError, match="all must be float32: convert b"):
        accel_matmul.matmul(a, a.astype(cupy.float64))
    with pytest.raises(ShapeError, match="b is a strided view"):
        accel_matmul.matmul(a, cupy.zeros((4, 8), cupy.float32)[:, ::2])
    with pytest.raises(ShapeError, match=r"out must have shape \(4, 4\)"):
        accel_matmul.matmul(a, a, out=cupy.zeros((4, 5), cupy.float32))
    with pytest.raises(DTypeError, match="all must be float32: convert out"):
        accel_matmul.matmul(a, a, out=cupy.zeros((4, 4)))
    with pytest.raises(MinivaeError, match="out shares memory with b"):
        accel_matmul.matmul(a.copy(), a, out=a)
    with pytest.raises(MinivaeError, match="out shares memory with g"):
        accel_matmul.column_sum(a, out=a[1])


def test_each_module_is_compiled_once_per_process(cupy):
    a = cupy.ones((3, 3))
    for dtype in (cupy.float32, cupy.float64):
        for tile in accel_matmul.TILES:
            accel_matmul.matmul(a.astype(dtype), a.astype(dtype), tile=tile)
        accel_matmul.column_sum(a.astype(dtype))
    info = accel_matmul._module.cache_info()
    assert info.currsize == info.misses == 2  # matmul.cu and column_sum.cu, once each
