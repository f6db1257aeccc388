"""The stand-in's `cupy` and `cupyx` modules: what minivae and its GPU tests call, over
`arrays.ndarray`, `device.DEVICE` and `kernels.RawModule`; any other NumPy function by name."""

import contextlib
import types

import numpy

from . import device as gpu
from .arrays import device_index, module_function, ndarray, result, unwrap
from .device import DEVICE
from .errors import CUDARuntimeError
from .kernels import RawModule

NAME = b"minivae's CuPy stand-in (NumPy and the kernels' CPU emulation; not a GPU)"
FREE, TOTAL = 2 * 2**30, 4 * 2**30  # what mem_info reports: enough for the tests, not for 2^31


def make():
    """A fresh stand-in GPU and a module named "cupy" over it."""
    gpu.reset()
    cupy = types.ModuleType("cupy", "the tests' stand-in for CuPy (tests/support/cupy_stand_in)")
    cupy.__version__ = "14.2.0 (stand-in)"
    cupy.stand_in = True  # what `is_stand_in` reads
    cupy.ndarray, cupy.RawModule = ndarray, RawModule
    cupy.asarray, cupy.array, cupy.ascontiguousarray = asarray, array, ascontiguousarray
    cupy.asnumpy = asnumpy
    cupy.get_array_module = lambda *arrays: (
        cupy if any(isinstance(a, ndarray) for a in arrays) else numpy)
    cupy.cuda = _cuda()
    cupy.random = types.SimpleNamespace(default_rng=Generator)
    cupy.testing = types.SimpleNamespace(**{
        name: _on_host(getattr(numpy.testing, name))
        for name in ("assert_array_equal", "assert_allclose", "assert_array_almost_equal")
    })
    cupy.__getattr__ = _numpy_attribute  # every other name: NumPy's function on device arrays
    return cupy


def make_cupyx():
    cupyx = types.ModuleType("cupyx", "the stand-in's cupyx: scatter_add")
    cupyx.scatter_add = scatter_add
    return cupyx


def asarray(value, dtype=None, order=None, **kwargs):
    if isinstance(value, ndarray):
        return value if dtype is None or value.dtype == numpy.dtype(dtype) else value.astype(dtype)
    return _from_host(value, dtype)


def array(value, dtype=None, copy=True, **kwargs):
    if isinstance(value, ndarray):
        return value.astype(dtype or value.dtype) if copy else asarray(value, dtype)
    return _from_host(value, dtype)


def ascontiguousarray(value, dtype=None):
    if not isinstance(value, ndarray):
        return _from_host(value, dtype)
    if value.flags.c_contiguous and (dtype is None or value.dtype == numpy.dtype(dtype)):
        return value
    return result("ascontiguousarray", lambda: numpy.ascontiguousarray(value._a, dtype),
                  [value._buffer])


def asnumpy(value, **kwargs):
    return value.get() if isinstance(value, ndarray) else numpy.asarray(value)


def scatter_add(target, index, values):
    """cupyx.scatter_add: target[index] += values, a repeated index added each time."""
    reads, array = [], target._a
    index, values = device_index(index, reads), unwrap(values, reads)
    DEVICE.queue("cupyx.scatter_add", lambda: numpy.add.at(array, index, values), reads,
                 [target._buffer])


def _from_host(value, dtype):
    """A copy of host data on the device: one number is a fill, which a capture records; more
    is a copy from the host, which CuPy refuses while the current stream captures."""
    host = numpy.array(value, dtype=dtype)
    if host.ndim and DEVICE.current_stream.capture is not None:
        raise RuntimeError("the current stream is capturing, so H2D transfers are disallowed")
    return result("a copy from the host" if host.ndim else "a fill", lambda: host, [], host.copy())


def _numpy_attribute(name):
    found = getattr(numpy, name)
    if callable(found) and not isinstance(found, type):
        return module_function(name, found)
    return found


def _on_host(check):
    return lambda *args, **kwargs: check(*[asnumpy(a) for a in args], **kwargs)


class Generator:
    """cupy.random.default_rng(seed): NumPy's generator's draws, made on the device."""

    def __init__(self, seed=None):
        self._numpy = numpy.random.default_rng(seed)

    def __getattr__(self, name):
        draw_on_host = getattr(self._numpy, name)

        def draw(*args, dtype=None, **kwargs):
            def values():
                drawn = numpy.asarray(draw_on_host(*args, **kwargs))
                return drawn if dtype is None else drawn.astype(dtype)

            return result(f"random.{name}", values, [], values())

        return draw


class Device:
    """cupy.cuda.Device: GPU 0, the only one."""

    id = 0
    compute_capability = "90"
    mem_info = (FREE, TOTAL)

    def __init__(self, device=None):
        if device not in (None, 0):
            raise CUDARuntimeError(f"cudaErrorInvalidDevice: invalid device ordinal {device}")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def use(self):
        return self

    def synchronize(self):
        DEVICE.refuse_while_capturing("device synchronize")
        for stream in DEVICE.streams:
            DEVICE.host_waits(stream.clock)


class MemoryPool:
    """cupy.cuda.MemoryPool: counts what it lends (its own memory, apart from the default)."""

    def __init__(self, allocator=None):
        self.lent = 0

    def malloc(self, size):
        self.lent += size
        return types.SimpleNamespace(ptr=0, size=size)

    def used_bytes(self):
        return self.lent

    total_bytes = used_bytes

    def free_all_blocks(self, stream=None):
        pass


class MemoryHook:
    """cupy.cuda.MemoryHook: told of each allocation while entered."""

    name = "MemoryHook"

    def __enter__(self):
        DEVICE.hooks.append(self)
        return self

    def __exit__(self, *exc):
        DEVICE.hooks.remove(self)
        return False

    def malloc_preprocess(self, **kwargs):
        pass


@contextlib.contextmanager
def using_allocator(allocator=None):
    DEVICE.allocators.append(allocator)
    try:
        yield
    finally:
        DEVICE.allocators.pop()


def _cuda():
    runtime = types.SimpleNamespace(
        CUDARuntimeError=CUDARuntimeError,
        getDeviceCount=lambda: 1,
        getDevice=lambda: 0,
        getDeviceProperties=lambda device=0: {
            "name": NAME, "multiProcessorCount": 132, "maxThreadsPerBlock": 1024,
            "maxGridSize": (2**31 - 1, 65535, 65535), "totalGlobalMem": TOTAL,
        },
        deviceSynchronize=lambda: Device().synchronize(),
        streamCaptureModeGlobal=0, streamCaptureModeThreadLocal=1, streamCaptureModeRelaxed=2,
    )
    return types.SimpleNamespace(
        Stream=gpu.Stream, Event=gpu.Event, Graph=gpu.Graph, Device=Device,
        MemoryPool=MemoryPool, MemoryHook=MemoryHook, using_allocator=using_allocator,
        get_current_stream=lambda device_id=-1: DEVICE.current_stream,
        get_elapsed_time=lambda start, end: 1e3 * (end.recorded_at - start.recorded_at),
        runtime=runtime,
    )
