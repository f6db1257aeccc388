"""A stand-in for CuPy in the tests: NumPy arrays and the kernels' CPU emulation behind the parts
of CuPy that minivae's launchers, the GPU path of its trainer and its CUDA-graph step use.

It is a test aid, never a substitute for the GPU run: it has no GPU's maths library, memory
model, warps or speed, and it can only be as right as its model of CuPy 14.2 and CUDA (read off
CuPy's source: cupy/cuda/stream.pyx, cupy/cuda/memory.pyx, cupy/cuda/function.pyx,
cupy_backends/cuda/libs/cublas.pyx). What it adds to CI is the mistakes it catches before the
rare GPU run:
  - launches (`kernels`): every raw kernel call checked against the kernel's C signature, read
    from its source: argument count, C types of values, dtypes and contiguity of arrays,
    null pointers, __restrict__ aliasing, the elements each array must hold, grid and block
    limits; then the kernel itself runs, emulated on the CPU, with the launch's grid;
  - captures (`device`, `arrays`): while a stream captures, work is recorded and not run, and
    what CuPy refuses is refused (copies to and from the host, cuBLAS, synchronizing), and a
    replay that writes memory a default pool could have lent away is refused;
  - stream order (`device`): work that may overtake work it depends on on another stream is
    refused (CUDA's rules: events, host synchronization, the legacy default stream).

    stand_in = install(monkeypatch)   # minivae.backend.cupy is the stand-in for one test
"""

import sys

from minivae import backend
from minivae.accel import matmul, sample_kl

from .errors import CaptureError, CUDARuntimeError, KernelLaunchError, StreamOrderError
from .module import make, make_cupyx

__all__ = ["CUDARuntimeError", "CaptureError", "KernelLaunchError", "StreamOrderError",
           "forget_compiled", "install", "is_stand_in"]


def install(monkeypatch):
    """Make minivae see the stand-in as CuPy with one GPU, until the test ends; returns it."""
    cupy = make()
    monkeypatch.setattr(backend, "cupy", cupy)
    monkeypatch.setattr(backend, "why_no_gpu", lambda: None)
    monkeypatch.setitem(sys.modules, "cupyx", make_cupyx())
    forget_compiled()
    return cupy


def forget_compiled():
    """Drop the launchers' compiled modules, so none outlives the CuPy that compiled it."""
    for cached in (sample_kl._module, matmul._module, matmul._multiprocessors):
        cached.cache_clear()


def is_stand_in(cupy):
    """True for the stand-in, False for the real CuPy."""
    return getattr(cupy, "stand_in", False)
