"""Which array module does the math: NumPy on the CPU, CuPy on the GPU.

The choice is read off the arrays themselves (as Chainer's `get_array_module` does), never from a
global switch: an op given CuPy arrays computes with CuPy, an op given NumPy arrays with NumPy, and
the op code is the same for both. This is the only module that imports cupy.
"""

import functools

import numpy

from minivae.errors import MinivaeError

try:  # cupy is an optional extra: `pip install "minivae[gpu-cuda13]"` (or gpu-cuda12)
    import cupy
except ImportError:  # pragma: no cover - depends on the machine
    cupy = None

DEVICES = ("cpu", "gpu")  # what module_for_device takes


def get_array_module(*arrays):
    """Return `cupy` if any of `arrays` lives on the GPU, else `numpy`."""
    if cupy is not None:
        for array in arrays:
            if isinstance(array, cupy.ndarray):
                return cupy
    return numpy


def is_array(value):
    """True for a NumPy or CuPy ndarray."""
    if isinstance(value, numpy.ndarray):
        return True
    return cupy is not None and isinstance(value, cupy.ndarray)


def module_for_device(device):
    """The array module for `device` ("cpu" or "gpu"), with a clear error if it cannot be had."""
    if device == "cpu":
        return numpy
    if device == "gpu":
        if cupy is None:
            raise MinivaeError(
                'device "gpu" needs CuPy and a GPU: pip install "minivae[gpu-cuda13]" '
                '(CUDA 13 driver) or "minivae[gpu-cuda12]" (CUDA 12)'
            )
        problem = why_no_gpu()
        if problem:
            raise MinivaeError(
                f'device "gpu": {problem}: check the NVIDIA driver (nvidia-smi lists the GPUs '
                "it sees), or use --device cpu"
            )
        return cupy
    raise MinivaeError(f'unknown device {device!r}: use "cpu" or "gpu"')


@functools.cache
def why_no_gpu():
    """None when CuPy is installed and sees a GPU; otherwise why not, in words."""
    if cupy is None:
        return 'CuPy is not installed (pip install "minivae[gpu-cuda13]")'
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except cupy.cuda.runtime.CUDARuntimeError as err:
        return f"CuPy is installed but finds no usable GPU ({err})"
    return None if count else "CuPy is installed but finds no GPU"


def step_scalar(xp, value, dtype):
    """A number that changes at every training step (a noise stream, Adam's step count).

    On the CPU a Python number. On the GPU a 0-d array of `dtype` in device memory: a captured
    CUDA graph freezes the arguments of every launch but reads memory afresh at each replay, so
    a step that updates this array in place sees the new value each time, and reading it never
    makes the host wait for the device.
    """
    if xp is numpy:
        return numpy.dtype(dtype).type(value).item()
    return xp.full((), value, dtype=dtype)


def to_numpy(array):
    """`array` as a NumPy array (for printing, plotting and saving): a NumPy array is returned
    as it is, not copied; a CuPy array is copied from the GPU."""
    if isinstance(array, numpy.ndarray):
        return array
    return array.get()


def scatter_add(target, index, values):
    """target[index] += values, adding repeated indices once each (np.add.at semantics)."""
    xp = get_array_module(target)
    if xp is numpy:
        numpy.add.at(target, index, values)
    else:
        import cupyx  # noqa: PLC0415 - installed together with cupy

        cupyx.scatter_add(target, index, values)
