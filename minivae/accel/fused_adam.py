"""Adam's fast form on NumPy: kernels/cpu/adam.cpp, one compiled loop over each parameter.

    library, why = fused_adam()       # built once into native.default_cache_dir(), or why not
    done = update(library, g, m, v, theta, b1=..., b2=..., correction1=..., correction2=...,
                  eps=..., lr=...)    # False (nothing changed) for arrays the loop cannot take

The loop does the operations of `minivae.models.optim.Adam.update_arrays` in their order, one
element at a time, in the parameters' precision, built with -ffp-contract=off: the same bits as
the plain form, reading and writing each element once where the plain form's thirteen NumPy
lines pass over every array thirteen times (`benchmarks/step_phases.py` times both).
"""

import functools

import numpy

from minivae.accel import native
from minivae.errors import MinivaeError

# kernels/cpu/adam.cpp's loop for each dtype it takes: its name, and the native.load letter of
# its seven scalars; the four arrays come first, after the element count.
LOOPS = {numpy.dtype(numpy.float32): ("minivae_adam_float", "f"),
         numpy.dtype(numpy.float64): ("minivae_adam_double", "d")}
SIGNATURES = {name: "qPPPP" + scalar * 7 for name, scalar in LOOPS.values()}


@functools.cache
def fused_adam():
    """(library, None): kernels/cpu/adam.cpp built (once, into native.default_cache_dir) and
    loaded; or (None, why) where it cannot be built, e.g. no C++ compiler on PATH or no
    writable cache. Then Adam runs its plain form everywhere: the same numbers, slower."""
    try:
        path = native.build_library("cpu/adam.cpp", native.CPU_COMMAND)
        return native.load(path, SIGNATURES), None
    except (MinivaeError, OSError) as error:
        return None, str(error)


def status():
    """One line for a benchmark's header: which form Adam's steps take on NumPy."""
    library, why = fused_adam()
    return "Adam: the fused loop (kernels/cpu/adam.cpp)" if library else f"Adam: plain form ({why})"


def update(library, g, m, v, theta, *, b1, b2, correction1, correction2, eps, lr):
    """One Adam update of theta, m and v in place by the compiled loop; False (nothing done)
    for arrays it cannot take: all four must be NumPy arrays, C-contiguous, aligned, of theta's
    shape and dtype, float32 or float64, and m, v, theta writeable (the loop trusts this;
    ctypes checks nothing). correction1 = 1 - b1^t, correction2 = 1 - b2^t."""
    arrays = (g, m, v, theta)
    fits = theta.dtype in LOOPS and all(
        isinstance(a, numpy.ndarray) and a.dtype == theta.dtype and a.shape == theta.shape
        and a.flags.c_contiguous and a.flags.aligned for a in arrays
    ) and all(a.flags.writeable for a in arrays[1:])
    if not fits:
        return False
    loop = getattr(library, LOOPS[theta.dtype][0])
    loop(theta.size, *(a.ctypes.data for a in arrays), b1, 1 - b1, b2, 1 - b2, correction2, eps,
         lr / correction1)
    return True
