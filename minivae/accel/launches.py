"""What every raw kernel launch shares: its arrays checked on the host, the C type of each
dtype, and the cap on its grid.

CuPy's RawKernel checks none of its arguments: it passes each array's address, whatever its
dtype, strides or device. `check_operands` refuses what a kernel would misread (a wrong dtype,
a strided view, a wrong shape, an array on the host or another GPU), in one line naming the op
and every operand. The GPU launchers (`sample_kl`, `matmul`) and the host builds
(`host_builds`, with NumPy arrays) check their arrays here.
"""

import numpy

from minivae import backend
from minivae.errors import DTypeError, MinivaeError, ShapeError

CTYPES = {numpy.dtype(numpy.float32): "float", numpy.dtype(numpy.float64): "double"}  # dtype -> T
MAX_BLOCKS = 4096  # a few times what an H100 holds at once; grid-stride loops do the rest


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

