"""The fused sample-and-KL kernels of `kernels/` on the GPU: source, checks, launch, compile.

    z, kl = sample_kl_forward(mu, logvar, seed, stream)               # CuPy (B, L) -> (B, L), (B,)
    dmu, dlogvar = sample_kl_backward(mu, logvar, gz, gk, seed, stream)

compute what `minivae.ops.vae.SampleKL` computes, with eps drawn inside the kernel from the same
Philox counters as `minivae.rng`, so the two agree to the bounds stated in docs/cuda.md. Instead
of the integers, both launchers take `seed_stream=`, a CuPy uint64 array (seed, stream) that the
kernels read on the device: a CUDA graph captured around a launch keeps reading that array, so
writing a new stream into it before each replay draws new noise.

On the way to a launch:
  - `kernel_source` reads a `.cu` file of the package (`minivae/kernels`, the repository's
    `kernels/`, found through importlib.resources) and pastes in every `#include "..."` with
    `#line` markers, so compiler errors name the right file and line, and so CuPy's compile
    cache, which keys on the source text alone, sees every header edit;
  - `check_operands` refuses what a raw kernel would misread (a wrong dtype, a strided view, a
    wrong shape, an array on the host or another GPU): RawKernel checks none of it;
  - `forward_launch` and `backward_launch` choose the grid (docs/cuda.md, "Thread mapping");
  - `compile_module` hands the source to CuPy's RawModule, and `_module` keeps it, so it is
    compiled once per process for float and double (`name_expressions`).
Integers go to the kernel as NumPy scalars of its C types: RawKernel would pass a Python int
as 64 bits and a float as a double, unchecked. Imports only `backend` and `errors`.
"""

import functools
import importlib.resources
import posixpath
import re

import numpy

from minivae import backend
from minivae.errors import DTypeError, MinivaeError, ShapeError

BLOCK_THREADS = 256  # sample_kl.cu's BLOCK_THREADS: the threads of every block
MAX_BLOCKS = 4096  # a few times what an H100 holds at once; grid-stride loops do the rest
COMPILE_OPTIONS = ("--std=c++17", "--fmad=false")  # no fused multiply-adds: NumPy's roundings
NAME_EXPRESSIONS = tuple(
    f"minivae::sample_kl_{direction}<{ctype}>"
    for direction in ("forward", "backward")
    for ctype in ("float", "double")
)
CTYPES = {numpy.dtype(numpy.float32): "float", numpy.dtype(numpy.float64): "double"}  # dtype -> T
_INCLUDE = re.compile(r'\s*#\s*include\s+"([^"]+)"\s*$')  # only "local" includes, not <system>


def kernel_root():
    """The folder of kernel sources inside the installed package (a Traversable)."""
    return importlib.resources.files("minivae.kernels")


def kernel_source(name, root=None):
    """The text of kernels/`name` with each local header pasted in place of its `#include`.

    Every file starts with `#line 1 "its name"` and the text after an include with
    `#line N "including file"`, so errors point at the original line. A header included twice is
    pasted once (what its `#pragma once` asks; the pragma itself becomes a blank line).
    """
    return _assemble(kernel_root() if root is None else root, name, set())


def _assemble(root, name, pasted):
    if name in pasted:
        return ""
    pasted.add(name)
    lines = [f'#line 1 "{name}"']
    text = _read(root, name)
    for number, line in enumerate(text.splitlines(), start=1):
        include = _INCLUDE.fullmatch(line)
        if include:
            lines.append(_assemble(root, _join(name, include[1]), pasted))
            lines.append(f'#line {number + 1} "{name}"')
        else:
            lines.append("" if line.strip() == "#pragma once" else line)
    return "\n".join(lines)


def _join(including, included):
    name = posixpath.normpath(posixpath.join(posixpath.dirname(including), included))
    if name.startswith(".."):
        raise MinivaeError(f'{including}: #include "{included}" points outside kernels/')
    return name


def _read(root, name):
    place = root
    for part in name.split("/"):
        place = place / part
    return place.read_text(encoding="utf-8")


def check_operands(op, operands, array_type, device_id=None):
    """Refuse operands a kernel would misread; returns the common dtype.

    operands: (name, array, expected shape) triples; the first sets the dtype (float32 or
    float64) that all must have. Each must be an `array_type` (numpy.ndarray in the host tests,
    cupy.ndarray on the GPU), C-contiguous (the kernels index row * length + j and ignore
    strides), of its expected shape, and, given device_id, on that GPU.
    """
    listing = ", ".join(f"{n} {describe(a)}" for n, a, _ in operands)
    dtype = getattr(operands[0][1], "dtype", None)
    if dtype not in CTYPES:
        raise DTypeError(f"{op}: {listing}: the kernels take float32 or float64")
    for name, array, shape in operands:
        if not isinstance(array, array_type):
            wanted = f"{array_type.__module__}.{array_type.__name__}"
            hint = ": cupy.asarray(x) moves an array to the GPU" if "cupy" in wanted else ""
            raise DTypeError(
                f"{op}: {name} is a {type(array).__module__}.{type(array).__name__} "
                f"({listing}), not a {wanted}{hint}"
            )
        if array.dtype != dtype:
            raise DTypeError(f"{op}: {listing}: all must be {dtype}: convert {name} first")
        if tuple(array.shape) != tuple(shape):
            raise ShapeError(f"{op}: {listing}: {name} must have shape {tuple(shape)}")
        if not array.flags.c_contiguous:
            raise ShapeError(
                f"{op}: {listing}: {name} is a strided view; the kernels read dense row-major "
                f"arrays: pass {name}.copy() (or ascontiguousarray)"
            )
        if device_id is not None and array.device.id != device_id:
            raise MinivaeError(
                f"{op}: {name} is on GPU {array.device.id}, the launch on GPU {device_id}: "
                "move it there (with cupy.cuda.Device(...)) first"
            )
    return dtype


def describe(array):
    """An operand for an error message: its dtype and shape, or its type if not an array."""
    if backend.is_array(array):
        return f"{array.dtype}{tuple(array.shape)}"
    return type(array).__name__


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


def compile_module(name, name_expressions):
    """kernels/`name`, headers pasted in, as a CuPy RawModule instantiating `name_expressions`.

    CuPy compiles it with NVRTC on first use (and caches the binary on disk under a hash of the
    text and options); callers keep the module, so that happens once per process.
    """
    cupy = backend.module_for_device("gpu")
    return cupy.RawModule(
        code=kernel_source(name), options=COMPILE_OPTIONS, name_expressions=name_expressions
    )


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
