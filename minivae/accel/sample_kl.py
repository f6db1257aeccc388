"""The fused sample-and-KL kernels of kernels/sample_kl.cu, launched on the GPU.

    z, kl = sample_kl_forward(mu, logvar, seed, stream)               # CuPy (B, L) -> (B, L), (B,)
    dmu, dlogvar = sample_kl_backward(mu, logvar, gz, gk, seed, stream)

compute what `minivae.ops.vae.SampleKL` computes, with eps drawn inside the kernel from the same
Philox counters as `minivae.rng`, so the two agree to the bounds stated in docs/cuda.md. The
per-element math is kernels/sample_kl.cuh; this module only launches it (`SampleKLCUDA`, the
op's fast form on CuPy, calls these two). Instead of the integers, both launchers take
`seed_stream=`, a CuPy uint64 array (seed, stream) that the kernels read on the device: a CUDA
graph captured around a launch keeps reading that array, so writing a new stream into it before
each replay draws new noise.

On the way to a launch: the source is read and compiled once per process, for float and double
(`kernel_sources`); every array is checked (`launches.check_operands`: RawKernel checks
nothing); `forward_launch` and `backward_launch` choose the grid (docs/cuda.md, "Thread
mapping"). Integers go to the kernel as NumPy scalars of its C types: RawKernel would pass a
Python int as 64 bits and a float as a double, unchecked.
"""

import functools

import numpy

from minivae import backend
from minivae.accel.kernel_sources import compile_module
from minivae.accel.launches import CTYPES, MAX_BLOCKS, check_operands, describe
from minivae.errors import DTypeError, MinivaeError, ShapeError

BLOCK_THREADS = 256  # sample_kl.cu's BLOCK_THREADS: the threads of every block
NAME_EXPRESSIONS = tuple(
    f"minivae::sample_kl_{direction}<{ctype}>"
    for direction in ("forward", "backward")
    for ctype in ("float", "double")
)


def latent_shape(op, mu):
    """(rows, length) of mu, which must be a (B, L) array."""
    shape = getattr(mu, "shape", None)
    if shape is None or len(shape) != 2:
        raise ShapeError(f"{op}: mu is {describe(mu)}: need a (B, L) array")
    return shape


def forward_launch(rows, length, max_blocks=MAX_BLOCKS):
    """(grid, threads_per_row) of the forward kernel.

    One thread per quad of 4 elements; a row's team is the power of two at or above its number
    of quads, at most one block, so a block holds BLOCK_THREADS / threads_per_row rows.
    """
    quads = -(-length // 4)
    threads_per_row = min(BLOCK_THREADS, 1 << max(quads - 1, 0).bit_length())
    row_groups = -(-rows // (BLOCK_THREADS // threads_per_row))
    return max(1, min(row_groups, max_blocks)), threads_per_row


def backward_launch(rows, length, max_blocks=MAX_BLOCKS):
    """The grid of the backward kernel: one thread per quad of the batch, then grid-stride."""
    quads = rows * -(-length // 4)
    return max(1, min(-(-quads // BLOCK_THREADS), max_blocks))


def seed_stream_array(seed, stream):
    """A CuPy uint64 array (seed, stream) for the launchers' `seed_stream=`."""
    _check_counter(seed, stream, 0)
    return backend.module_for_device("gpu").array([seed, stream], dtype=numpy.uint64)


def _check_counter(seed, stream, rows):
    if not (0 <= seed < 2**64 and 0 <= stream and stream + rows <= 2**64):
        raise MinivaeError(
            f"sample_kl: seed {seed}, streams {stream} .. {stream + rows - 1}: both must lie "
            "in [0, 2^64), the counter's 64-bit words"
        )


def _counter_operand(op, seed, stream, seed_stream, rows):
    """The device array the kernels read (seed, stream) from, and its check triple."""
    cupy = backend.module_for_device("gpu")
    if seed_stream is None:
        if seed is None or stream is None:
            raise MinivaeError(f"{op}: pass seed and stream, or seed_stream=")
        _check_counter(int(seed), int(stream), rows)
        seed_stream = cupy.array([int(seed), int(stream)], dtype=numpy.uint64)
    elif seed is not None or stream is not None:
        raise MinivaeError(f"{op}: pass seed and stream, or seed_stream=, not both")
    if not (isinstance(seed_stream, cupy.ndarray) and seed_stream.dtype == numpy.uint64):
        raise DTypeError(f"{op}: seed_stream is {describe(seed_stream)}: need cupy uint64 (2,)")
    if seed_stream.shape != (2,) or not seed_stream.flags.c_contiguous:
        raise ShapeError(f"{op}: seed_stream is {describe(seed_stream)}: need shape (2,)")
    return seed_stream


@functools.cache
def _module():
    """sample_kl.cu compiled once per process, for float and double."""
    return compile_module("sample_kl.cu", NAME_EXPRESSIONS)


def _kernel(direction, dtype):
    return _module().get_function(f"minivae::sample_kl_{direction}<{CTYPES[dtype]}>")


def _outputs(out, dtype, shapes):
    """The output buffers: `out` when given (checked with the inputs), else new ones."""
    cupy = backend.module_for_device("gpu")
    if out is None:
        return tuple(cupy.empty(shape, dtype=dtype) for shape in shapes)
    return tuple(out)


def sample_kl_forward(mu, logvar, seed=None, stream=None, *, seed_stream=None, out=None):
    """z = mu + exp(logvar / 2) eps and kl[r] = 1/2 sum_j (mu^2 + exp(logvar) - 1 - logvar).

    mu, logvar: CuPy (B, L), float32 or float64, C-contiguous, on the current GPU. eps of row r
    is stream `stream + r` under `seed` (Python ints), or, instead of both, `seed_stream`, a
    CuPy uint64 array (seed, stream) read on the device. out: optional (z, kl) buffers to write,
    (B, L) and (B,), not overlapping the inputs. One launch; returns (z, kl).
    """
    op = "sample_kl_forward"
    rows, length = latent_shape(op, mu)
    counter = _counter_operand(op, seed, stream, seed_stream, rows)
    z, kl = _outputs(out, mu.dtype, ((rows, length), (rows,)))
    matrix = (rows, length)
    operands = [
        ("mu", mu, matrix),
        ("logvar", logvar, matrix),
        ("z", z, matrix),
        ("kl", kl, (rows,)),
    ]
    _check_on_gpu(op, operands, counter)
    grid, threads_per_row = forward_launch(rows, length)
    sizes = (numpy.int64(rows), numpy.int64(length), numpy.int32(threads_per_row))  # i64, i64, int
    _kernel("forward", mu.dtype)((grid,), (BLOCK_THREADS,), (mu, logvar, counter, *sizes, z, kl))
    return z, kl


def sample_kl_backward(mu, logvar, gz, gk, seed=None, stream=None, *, seed_stream=None, out=None):
    """dmu = gz + gk mu and dlogvar = gz eps sigma / 2 + gk (sigma^2 - 1) / 2, eps drawn again.

    mu, logvar, gz: CuPy (B, L); gk: (B,); all of one dtype, C-contiguous, on the current GPU.
    (seed, stream) or seed_stream must be the forward pass's: eps is regenerated from them,
    never stored. out: optional (dmu, dlogvar) buffers. One launch; returns (dmu, dlogvar).
    """
    op = "sample_kl_backward"
    rows, length = latent_shape(op, mu)
    counter = _counter_operand(op, seed, stream, seed_stream, rows)
    dmu, dlogvar = _outputs(out, mu.dtype, ((rows, length), (rows, length)))
    matrix = (rows, length)
    operands = [("mu", mu, matrix), ("logvar", logvar, matrix), ("gz", gz, matrix)]
    operands += [("gk", gk, (rows,)), ("dmu", dmu, matrix), ("dlogvar", dlogvar, matrix)]
    _check_on_gpu(op, operands, counter)
    grid = backward_launch(rows, length)
    sizes = (numpy.int64(rows), numpy.int64(length))  # the kernel's i64 rows, length
    arguments = (mu, logvar, gz, gk, counter, *sizes, dmu, dlogvar)
    _kernel("backward", mu.dtype)((grid,), (BLOCK_THREADS,), arguments)
    return dmu, dlogvar


def _check_on_gpu(op, operands, counter):
    cupy = backend.module_for_device("gpu")
    device_id = cupy.cuda.Device().id
    check_operands(op, operands, cupy.ndarray, device_id)
    if counter.device.id != device_id:
        raise MinivaeError(f"{op}: seed_stream is on GPU {counter.device.id}, not {device_id}")
