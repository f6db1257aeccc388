"""matmul.cu's and column_sum.cu's kernels run on the CPU (kernels/host/emulate.hpp), against NumPy.

Each CUDA thread is a host thread and __syncthreads a barrier, so these check the tiles'
indexing, the zero padding at every edge, the transposed loads, the bias, both tile sizes and
the column sums' grid-stride loop. Two comparisons each (docs/cuda.md, "Matrix products: what
is equal and what only close"): bit for bit with the sum in order (accel_matmul.matmul_in_order),
and within the docs' bound of NumPy's own product. Outputs start as NaN, so an element no
thread writes fails both. `pytest -s` prints the measured figures for the docs.
"""

import numpy as np
import pytest
from support.builds import emulated_matmul
from support.matmul_checks import (
    COLUMN_SHAPES,
    MODEL,
    SHAPES,
    TRANSPOSES,
    check_column_sum,
    check_matmul,
    operands,
)

from minivae.accel import matmul as accel_matmul
from minivae.engine.function import Function
from minivae.engine.gradcheck import gradcheck


@pytest.mark.parametrize("tile", accel_matmul.TILES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("transpose_a, transpose_b", TRANSPOSES, ids=str)
@pytest.mark.parametrize("m, k, n", SHAPES, ids=str)
def test_matmul_equals_the_sum_in_order(m, k, n, transpose_a, transpose_b, dtype, tile):
    check_matmul(emulated_matmul(), m, k, n, transpose_a, transpose_b, dtype, tile)


@pytest.mark.parametrize("tile", accel_matmul.TILES)
@pytest.mark.parametrize("m, k, n", SHAPES, ids=str)
def test_matmul_without_bias(m, k, n, tile):
    check_matmul(emulated_matmul(), m, k, n, True, False, np.float64, tile, with_bias=False)


@pytest.mark.parametrize("m, k, n, transpose_a, transpose_b", MODEL, ids=str)
def test_the_models_products(m, k, n, transpose_a, transpose_b):
    """At the tile the GPU launcher picks for them (32); SHAPES try 64 at every edge."""
    check_matmul(emulated_matmul(), m, k, n, transpose_a, transpose_b, np.float32, tile=32)


@pytest.mark.parametrize("m, k, n", [(0, 4, 3), (3, 4, 0), (3, 0, 4)], ids=str)
def test_empty_matrices(m, k, n):
    """An empty C is no launch; K = 0 is an empty sum: C = 0 + bias."""
    a, b, bias = operands(m, k, n, False, False, np.float32)
    c = emulated_matmul().matmul(a, b, bias=bias, tile=32)
    np.testing.assert_array_equal(c, np.zeros((m, n), np.float32) + bias)


def test_the_tile_is_64_only_when_that_fills_the_multiprocessors():
    for m, _, n, *_ in MODEL:
        assert accel_matmul.choose_tile(m, n, multiprocessors=132) == 32  # an H100 / H200
    assert accel_matmul.choose_tile(1024, 1024, 132) == 64  # 256 blocks of 64 x 64
    assert accel_matmul.matmul_grid(128, 400, 64) == 2 * 7
    assert accel_matmul.matmul_grid(0, 9, 32) == 0


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("rows, cols", COLUMN_SHAPES, ids=str)
def test_column_sums_add_the_rows_in_order(rows, cols, dtype):
    check_column_sum(emulated_matmul(), rows, cols, dtype)


def test_an_empty_batch_sums_to_zero():
    np.testing.assert_array_equal(emulated_matmul().column_sum(np.zeros((0, 5))), np.zeros(5))
    assert emulated_matmul().column_sum(np.zeros((4, 0))).shape == (0,)  # no columns: no launch


def kernel_linear(emulated):
    """The dense layer y = x W + b as a Function over the emulated kernels, for gradcheck."""

    class KernelLinear(Function):
        @staticmethod
        def forward(ctx, x, weight, bias):
            ctx.save_for_backward(x, weight)
            return emulated.matmul(x, weight, bias=bias, tile=32)  # x W + b

        @staticmethod
        def backward(ctx, g):
            x, weight = ctx.saved
            g = np.ascontiguousarray(g)
            return (
                emulated.matmul(g, weight, transpose_b=True, tile=32),  # dL/dx = G W^T
                emulated.matmul(x, g, transpose_a=True, tile=64),  # dL/dW = x^T G
                emulated.column_sum(g),  # dL/db = sum over the batch of G
            )

    return KernelLinear


def test_a_dense_layer_on_the_kernels_passes_gradcheck():
    draw = np.random.default_rng(3)
    x, weight, bias = (draw.standard_normal(shape) for shape in [(5, 7), (7, 3), (3,)])
    report = gradcheck(kernel_linear(emulated_matmul()).apply, [x, weight, bias])
    assert report.passed, report
