"""The dense layer's matrix products on the GPU: kernels/matmul.cu and kernels/column_sum.cu.

    y = matmul(x, w, bias=b)              # y = x W + b, one launch     (B, I)(I, O) -> (B, O)
    dx = matmul(g, w, transpose_b=True)   # dL/dx = G W^T               (B, O)(O, I) -> (B, I)
    dw = matmul(x, g, transpose_a=True)   # dL/dW = x^T G               (I, B)(B, O) -> (I, O)
    db = column_sum(g)                    # dL/db = sum over the batch  (B, O) -> (O,)

for CuPy arrays, float32 or float64; `out=` writes into a buffer given. Why not `cupy.matmul`:
CuPy refuses cuBLAS calls while a stream captures a CUDA graph (NotImplementedError, CuPy issue
#6290), and its reductions may run CUB on a workspace taken from the memory pool (docs/cuda.md,
"Capturing a CUDA graph"). These launchers check every argument on the host, make one kernel
launch, and allocate nothing but their output (nothing at all given `out=`), so they can run while
a stream captures. Call each once before capturing: the first call compiles and loads the module.

Each sum runs in one stated order, with fused multiply-adds off: k = 0, 1, ..., K-1 for matmul,
the rows in order for column_sum. So a result is the same bits whatever the tile or the grid, and
the same as the NumPy loops `matmul_in_order` and `column_sum_in_order` below, which the tests
compare the kernels with. Imports only `backend`, `errors`, `launches` and `kernel_sources`.
"""

import functools

import numpy

from minivae import backend
from minivae.accel import launches
from minivae.accel.kernel_sources import compile_module
from minivae.errors import MinivaeError, ShapeError

SIDE = 16  # matmul.cu's SIDE: a block is a 16 x 16 grid of threads
THREADS = SIDE * SIDE  # matmul.cu's THREADS
TILES = (32, 64)  # the tiles of C a block can compute: 16 threads x 2 or 4 elements a side
COLUMN_SUM_THREADS = 256  # column_sum.cu's COLUMN_SUM_THREADS
_FLOATS = ("float", "double")
NAME_EXPRESSIONS = {  # per file, the template instances RawModule compiles
    "matmul.cu": tuple(f"minivae::matmul<{t},{tile // SIDE}>" for t in _FLOATS for tile in TILES),
    "column_sum.cu": tuple(f"minivae::column_sum<{t}>" for t in _FLOATS),
}
NO_BIAS = numpy.uint64(0)  # a null `const T*`: RawKernel passes a NumPy scalar's 8 bytes as is


def matmul_in_order(a, b, transpose_a=False, transpose_b=False, bias=None):
    """The kernel's sum written in NumPy (or CuPy): over k = 0, 1, ..., K-1 in that order, each
    product and each addition rounded in the inputs' dtype, then + bias. Slow, exact twin."""
    xp = backend.get_array_module(a)
    a = a.T if transpose_a else a  # op(A): (M, K)
    b = b.T if transpose_b else b  # op(B): (K, N)
    c = xp.zeros((a.shape[0], b.shape[1]), dtype=a.dtype)
    for k in range(a.shape[1]):
        c = c + a[:, k, None] * b[None, k, :]  # (M, 1) * (1, N): step k of every element's sum
    return c if bias is None else c + bias


def column_sum_in_order(g):
    """The kernel's column sums in NumPy (or CuPy): the rows of g (B, O) added in order, from 0."""
    total = backend.get_array_module(g).zeros(g.shape[1], dtype=g.dtype)
    for row in g:
        total = total + row
    return total


def product_shape(op, a, b, transpose_a, transpose_b):
    """(M, K, N) of op(A) op(B), once a and b are known to be matrices whose K agree."""
    for name, x in (("a", a), ("b", b)):
        if len(getattr(x, "shape", ())) != 2:
            raise ShapeError(f"{op}: {name} is {launches.describe(x)}: need a 2-D matrix")
    for name, flag in (("transpose_a", transpose_a), ("transpose_b", transpose_b)):
        if not isinstance(flag, (bool, numpy.bool_)):
            raise MinivaeError(f"{op}: {name} is {flag!r}: pass True or False")
    m, k = a.shape[::-1] if transpose_a else a.shape  # memory holds A^T (K, M) or A (M, K)
    k_of_b, n = b.shape[::-1] if transpose_b else b.shape
    if k != k_of_b:
        raise ShapeError(
            f"{op}: a {launches.describe(a)} with transpose_a={transpose_a} makes op(A) {m} x {k}, "
            f"b {launches.describe(b)} with transpose_b={transpose_b} makes op(B) {k_of_b} x {n}: "
            "op(A)'s columns must be as many as op(B)'s rows"
        )
    return m, k, n


def product_operands(a, b, bias, n):
    """The (name, array, expected shape) triples that `launches.check_operands` checks."""
    operands = [("a", a, a.shape), ("b", b, b.shape)]
    return operands if bias is None else [*operands, ("bias", bias, (n,))]


def choose_tile(m, n, multiprocessors):
    """64 when 64 x 64 tiles of C (m, n) already give every multiprocessor a block, else 32.

    A 64 x 64 tile does 4 products per shared-memory read, a 32 x 32 tile 2, but the small
    products of the model make few 64-tiles: 14 for (128, 400), against 132 multiprocessors on
    an H100 or H200; 32-tiles make four times as many blocks (docs/cuda.md, "Matrix products").
    """
    return 64 if matmul_grid(m, n, 64) >= multiprocessors else 32


def check_tile(tile):
    if tile not in TILES:
        raise MinivaeError(f"matmul: tile={tile!r}: the kernels have tiles {TILES}")
    return tile


def matmul_grid(m, n, tile):
    """Blocks of a matmul launch: one per tile of C, ceil(m / tile) * ceil(n / tile), 0 if C is
    empty (no launch then). gridDim.x allows 2^31 - 1: 8 TB of float32 C at tile 32."""
    return -(-m // tile) * -(-n // tile)


def column_sum_grid(cols, max_blocks=launches.MAX_BLOCKS):
    """Blocks of a column_sum launch: a thread per column up to max_blocks, then grid-stride."""
    return min(-(-cols // COLUMN_SUM_THREADS), max_blocks)


def matmul(a, b, transpose_a=False, transpose_b=False, bias=None, out=None, *, tile=None):
    """C = op(A) op(B) (+ bias), one launch; op(X) is X, or X^T when transpose_x is True.

    a, b: CuPy matrices of one dtype (float32 or float64), C-contiguous, on the current GPU.
    Memory holds A (M, K), or A^T (K, M) with transpose_a; B (K, N), or B^T (N, K) with
    transpose_b: no transposed copy is made. bias: optional (N,), added to each row after the
    sum. out: optional (M, N) buffer to write, sharing no memory with a, b or bias; else a new
    array (the only allocation). tile: 32 or 64 to force the tile of C each block computes,
    else `choose_tile` picks. Returns C (M, N).
    """
    op = "matmul"
    m, k, n = product_shape(op, a, b, transpose_a, transpose_b)
    cupy, device_id = _gpu()
    operands = product_operands(a, b, bias, n)
    dtype = launches.check_operands(op, operands, cupy.ndarray, device_id)
    out = _output(op, operands, out, (m, n), device_id)
    tile = choose_tile(m, n, _multiprocessors(device_id)) if tile is None else check_tile(tile)
    grid = matmul_grid(m, n, tile)
    if grid:
        sizes = (numpy.int64(m), numpy.int64(n), numpy.int64(k))  # the kernel's i64 m, n, k
        flags = (numpy.int32(transpose_a), numpy.int32(transpose_b))  # its int flags
        kernel = _kernel("matmul.cu", f"minivae::matmul<{launches.CTYPES[dtype]},{tile // SIDE}>")
        kernel((grid,), (THREADS,), (a, b, NO_BIAS if bias is None else bias, *sizes, *flags, out))
    return out


def column_sum(g, out=None):
    """out[j] = sum_i g[i, j], the rows added in order: dL/db of a batch G (B, O) -> (O,).

    g: a CuPy float32 or float64 matrix, C-contiguous, on the current GPU. out: optional (O,)
    buffer not overlapping g; else a new array (the only allocation). One launch; returns out.
    """
    op = "column_sum"
    if len(getattr(g, "shape", ())) != 2:
        raise ShapeError(f"{op}: g is {launches.describe(g)}: need a (B, O) matrix")
    rows, cols = g.shape
    cupy, device_id = _gpu()
    operands = [("g", g, g.shape)]
    dtype = launches.check_operands(op, operands, cupy.ndarray, device_id)
    out = _output(op, operands, out, (cols,), device_id)
    grid = column_sum_grid(cols)
    if grid:
        kernel = _kernel("column_sum.cu", f"minivae::column_sum<{launches.CTYPES[dtype]}>")
        kernel((grid,), (COLUMN_SUM_THREADS,), (g, numpy.int64(rows), numpy.int64(cols), out))
    return out


def _gpu():
    cupy = backend.module_for_device("gpu")
    return cupy, cupy.cuda.Device().id


def _output(op, operands, out, shape, device_id):
    """`out` checked like the inputs and apart from them, or a new array of `shape`."""
    cupy = backend.module_for_device("gpu")
    first = operands[0][1]
    if out is None:
        return cupy.empty(shape, dtype=first.dtype)
    launches.check_operands(op, [operands[0], ("out", out, shape)], cupy.ndarray, device_id)
    for name, array, _ in operands:  # blocks still read the inputs while others write out
        if max(out.data.ptr, array.data.ptr) < min(
            out.data.ptr + out.nbytes, array.data.ptr + array.nbytes
        ):
            raise MinivaeError(f"{op}: out shares memory with {name}: give out a buffer of its own")
    return out


@functools.cache
def _multiprocessors(device_id):
    cupy = backend.module_for_device("gpu")
    return cupy.cuda.runtime.getDeviceProperties(device_id)["multiProcessorCount"]


@functools.cache
def _module(name):
    """kernels/`name` compiled once per process, for float and double."""
    return compile_module(name, NAME_EXPRESSIONS[name])


def _kernel(name, expression):
    return _module(name).get_function(expression)
