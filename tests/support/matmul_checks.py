"""What the matrix-product kernel tests share (emulated kernels, GPU, planted mistakes in copies
of the sources): the shapes, the operands, and the checks themselves."""

import numpy as np

from minivae.accel import matmul as accel_matmul
from support.agreement import assert_agrees, column_sum_scale, product_scale

SHAPES = [  # (M, K, N)
    (1, 1, 1),
    (1, 40, 1),  # a dot product: K spans three steps of 16, the last one part full
    (33, 17, 65),  # each one past a tile: 32, 16, 64
    (64, 32, 64),  # exact multiples: no padding anywhere
    (130, 3, 5),  # tall
    (2, 9, 131),  # wide
]

TRANSPOSES = [(False, False), (False, True), (True, False), (True, True)]

MODEL = [  # the products of the layers 784 -> 400 and 400 -> 20, batch 128: (M, K, N, flags)
    (128, 784, 400, False, False),  # y = x W
    (128, 400, 784, False, True),  # dL/dx = G W^T
    (784, 128, 400, True, False),  # dL/dW = x^T G
    (128, 400, 20, False, False),
    (128, 20, 400, False, True),
    (400, 128, 20, True, False),
]


def operands(m, k, n, transpose_a, transpose_b, dtype, seed=0):
    """a and b as memory holds them ((K, M) for A^T, (N, K) for B^T), and a bias (N,)."""
    draw = np.random.default_rng(seed)
    a = draw.standard_normal((k, m) if transpose_a else (m, k)).astype(dtype)
    b = draw.standard_normal((n, k) if transpose_b else (k, n)).astype(dtype)
    return a, b, draw.standard_normal(n).astype(dtype)


def check_matmul(emulated, m, k, n, transpose_a, transpose_b, dtype, tile, with_bias=True):
    """The kernel against the sum in order (bit for bit) and NumPy's @ (the docs' bound)."""
    a, b, bias = operands(m, k, n, transpose_a, transpose_b, dtype, seed=m + 7 * k + 31 * n)
    bias = bias if with_bias else None
    c = emulated.matmul(a, b, transpose_a, transpose_b, bias, tile=tile)
    in_order = accel_matmul.matmul_in_order(a, b, transpose_a, transpose_b, bias)
    assert_agrees("matmul in order", c, in_order)
    op_a, op_b = (a.T if transpose_a else a), (b.T if transpose_b else b)
    blas = op_a @ op_b if bias is None else op_a @ op_b + bias
    measured = assert_agrees("matmul", c, blas, product_scale(op_a, op_b, bias))
    print(f"measured matmul {np.dtype(dtype)} {(m, k, n)} tile {tile}: c = {measured:.4f}")

COLUMN_SHAPES = [(1, 1), (128, 400), (128, 784), (128, 20), (3, 600), (1000, 3), (300, 1)]


def check_column_sum(emulated, rows, cols, dtype):
    """The kernel, on a grid of 2 blocks (512 columns a sweep), against the sum in order and
    NumPy's sum(axis=0): equal for two or more columns, within the bound for one."""
    g = np.random.default_rng(rows + cols).standard_normal((rows, cols)).astype(dtype)
    sums = emulated.column_sum(g, max_blocks=2)
    assert_agrees("column_sum in order", sums, accel_matmul.column_sum_in_order(g))
    measured = assert_agrees("column_sum", sums, g.sum(axis=0), column_sum_scale(g))
    if cols >= 2:
        np.testing.assert_array_equal(sums, g.sum(axis=0))
    print(f"measured column_sum {np.dtype(dtype)} {(rows, cols)}: c = {measured:.4f}")
