"""The stand-in's ndarray: a NumPy array in the stand-in GPU's memory, behaving as CuPy's does
where minivae could tell the difference.

  - Every operation is device work (`device.Device.queue`): a ufunc, a method, a module function,
    indexing. A result is a 0-d array, never a Python or NumPy scalar, as in CuPy.
  - Reading values on the host is explicit: `get()`, and float(), int(), bool(), repr(), item(),
    which call it. `numpy.asarray(a)` raises TypeError, as CuPy's does, and so does handing a
    NumPy array (not a scalar) to an operation: CuPy takes no host arrays there.
  - While the current stream captures, work is recorded and not run: a new result holds NaN
    (floats; other dtypes keep what was computed to learn its shape) until a replay writes it,
    and in-place work changes nothing until then. CuPy's refusals hold: a copy to the host
    (`the current stream is capturing, so D2H transfers are disallowed`), a copy from the host
    of more than a scalar (H2D), and cuBLAS (matmul, dot, einsum, ...: NotImplementedError).
"""

import numpy
from numpy.lib.mixins import NDArrayOperatorsMixin

from .device import DEVICE

CUBLAS = {"matmul", "dot", "vdot", "inner", "tensordot", "einsum"}  # what CuPy runs on cuBLAS
IN_PLACE = {"fill", "sort", "partition", "put"}  # methods that write their array
HOST_READS = {"item", "tolist", "tobytes"}  # methods that copy values to the host
METADATA_ONLY = {"empty_like", "zeros_like", "ones_like", "full_like"}  # read no values


class Memory:
    """`a.data`: the address of the array's first element, on device 0."""

    def __init__(self, array):
        self.ptr = array.__array_interface__["data"][0]
        self.device = GPU_ZERO


class DeviceId:
    id = 0


GPU_ZERO = DeviceId()


class ndarray(NDArrayOperatorsMixin):  # noqa: N801 - CuPy's name
    """An array on the stand-in GPU: `_a`, a view into the NumPy memory of `_buffer`."""

    def __init__(self, array, buffer):
        self._a, self._buffer = array, buffer
        buffer.views += 1

    def __del__(self):
        self._buffer.views -= 1

    # what an array is, without reading its values
    shape = property(lambda self: self._a.shape)
    dtype = property(lambda self: self._a.dtype)
    ndim = property(lambda self: self._a.ndim)
    size = property(lambda self: self._a.size)
    itemsize = property(lambda self: self._a.itemsize)
    nbytes = property(lambda self: self._a.nbytes)
    strides = property(lambda self: self._a.strides)
    flags = property(lambda self: self._a.flags)
    data = property(lambda self: Memory(self._a))
    device = property(lambda self: GPU_ZERO)
    T = property(lambda self: ndarray(self._a.T, self._buffer))

    def __len__(self):
        return len(self._a)

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    # values on the host, by a copy that waits for the device
    def get(self, stream=None, order="C", out=None, blocking=True):
        stream = stream or DEVICE.current_stream
        if stream.capture is not None:
            raise RuntimeError("the current stream is capturing, so D2H transfers are disallowed")
        copied = []
        DEVICE.queue("a copy to the host", lambda: copied.append(numpy.array(self._a, order=order)),
                     reads=[self._buffer], stream=stream)
        if blocking:
            stream.synchronize()
        if out is not None:
            out[...] = copied[0]
            return out
        return copied[0]

    def set(self, array, stream=None):
        self[...] = array

    def __array__(self, dtype=None, copy=None):
        raise TypeError("Implicit conversion to a NumPy array is not allowed. Please use "
                        "`.get()` to construct a NumPy array explicitly.")

    def __float__(self):
        return float(self.get())

    def __int__(self):
        return int(self.get())

    def __bool__(self):
        return bool(self.get())

    def __complex__(self):
        return complex(self.get())

    def __repr__(self):
        return repr(self.get())

    def __str__(self):
        return str(self.get())

    def __format__(self, spec):
        return format(self.get(), spec)

    # device work
    def __array_ufunc__(self, ufunc, method, *inputs, out=None, **kwargs):
        return apply_ufunc(ufunc, method, inputs, out, kwargs)

    def __array_function__(self, function, types, args, kwargs):
        return module_function(function.__name__, function)(*args, **kwargs)

    def __getitem__(self, key):
        reads = [self._buffer]
        index = device_index(key, reads)
        if _has_mask(key):  # a boolean mask: the result's size is known only on the device
            _refuse_d2h_while_capturing()
        array = self._a  # what recorded work keeps: the memory, not this array object
        found = array[index]
        if isinstance(found, numpy.generic):  # CuPy gives a 0-d view, not a scalar
            found = array[(*index, ...) if isinstance(index, tuple) else (index, ...)]
        return result("indexing", lambda: array[index], reads, found)

    def __setitem__(self, key, value):
        reads = []
        index = device_index(key, reads)
        value, array = operand(value, reads), self._a
        DEVICE.queue("an assignment", lambda: array.__setitem__(index, value), reads,
                     [self._buffer])

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        found = getattr(self._a, name)
        if not callable(found):
            return ndarray(found, self._buffer) if isinstance(found, numpy.ndarray) else found
        if name in HOST_READS:
            return lambda *args, **kwargs: getattr(self.get(), name)(*args, **kwargs)

        def method(*args, **kwargs):
            reads = [self._buffer]
            args, kwargs = unwrap(args, reads), unwrap(kwargs, reads)
            call = getattr(self._a, name)
            if name in IN_PLACE:
                DEVICE.queue(f"ndarray.{name}", lambda: call(*args, **kwargs), reads,
                             [self._buffer])
                return None
            return result(f"ndarray.{name}", lambda: call(*args, **kwargs), reads)

        return method


def wrap_new(array):
    """A new device array holding `array` (copied unless it owns its memory)."""
    array = numpy.asarray(array)
    if array.base is not None or not array.flags.owndata:
        array = array.copy()
    return ndarray(array, DEVICE.allocate(array))


def result(what, compute, reads, value=None):
    """What `compute()` returns, as device arrays: views of the memory they were cut from, or
    new arrays that device work fills (recorded if the current stream captures).

    value: compute()'s result, when the caller has it already."""
    if value is None:
        with numpy.errstate(all="ignore"):
            value = compute()
    if isinstance(value, (tuple, list)):
        return type(value)(
            result(what, lambda i=i: compute()[i], reads, v) for i, v in enumerate(value)
        )
    if not isinstance(value, (numpy.ndarray, numpy.generic)):
        return value  # not values on the device: a dtype, a shape, a flag
    if isinstance(value, numpy.ndarray):
        owner = next((b for b in reads if b.array is _root(value)), None)
        if owner is not None:
            return ndarray(value, owner)  # a view: no work
    out = wrap_new(value)
    target = out._a  # recorded work keeps the memory alive, not the array object

    def run():
        with numpy.errstate(all="ignore"):
            numpy.copyto(target, compute())

    if DEVICE.current_stream.capture is not None:
        _poison(target)
    DEVICE.queue(what, run, reads, [out._buffer], now=lambda: None)
    return out


def apply_ufunc(ufunc, method, inputs, out, kwargs):
    """A NumPy ufunc (or its reduce, accumulate, at) as device work."""
    if ufunc.__name__ in CUBLAS:
        refuse_cublas()
    what = ufunc.__name__ if method == "__call__" else f"{ufunc.__name__}.{method}"
    reads = []
    args, kwargs = unwrap(list(inputs), reads), unwrap(kwargs, reads)
    call = getattr(ufunc, method)
    if method == "at":
        DEVICE.queue(what, lambda: call(*args, **kwargs), reads, [inputs[0]._buffer])
        return None
    if out is None:
        return result(what, lambda: call(*args, **kwargs), reads)
    for target in out:
        if not isinstance(target, ndarray):
            raise TypeError(f"{what}: out= must be a cupy.ndarray, not {type(target).__name__}")
    targets = tuple(target._a for target in out)

    def run():
        with numpy.errstate(all="ignore"):
            call(*args, out=targets, **kwargs)

    DEVICE.queue(what, run, reads, [target._buffer for target in out])
    return out[0] if len(out) == 1 else out


def module_function(name, function):
    """numpy.`name` on device arrays, as a function of the stand-in module (cupy.`name`)."""
    if isinstance(function, numpy.ufunc):
        return lambda *inputs, out=None, **kwargs: apply_ufunc(
            function, "__call__", inputs, None if out is None else _as_tuple(out), kwargs)

    def call(*args, **kwargs):
        if name in CUBLAS:
            refuse_cublas()
        reads = []
        args, kwargs = unwrap(args, reads), unwrap(kwargs, reads)
        return result(f"cupy.{name}", lambda: function(*args, **kwargs),
                      [] if name in METADATA_ONLY else reads)

    return call


def unwrap(value, reads):
    """`value` as NumPy code takes it: each device array's NumPy view (its buffer added to
    `reads`), inside tuples, lists and dicts too; a host array is refused, as CuPy refuses it."""
    if isinstance(value, ndarray):
        reads.append(value._buffer)
        return value._a
    if isinstance(value, numpy.ndarray):
        raise TypeError(f"Unsupported type {type(value)}: a NumPy array where CuPy takes device "
                        "arrays (cupy.asarray copies it to the GPU)")
    if isinstance(value, (tuple, list)):
        return type(value)(unwrap(v, reads) for v in value)
    if isinstance(value, dict):
        return {k: unwrap(v, reads) for k, v in value.items()}
    return value


def operand(value, reads):
    """The value of an assignment: a device array, a scalar, or host data, which takes a copy
    to the device (refused while capturing unless it is one number)."""
    if isinstance(value, (numpy.ndarray, list, tuple)) and numpy.ndim(value) > 0:
        if DEVICE.current_stream.capture is not None:
            raise RuntimeError("the current stream is capturing, so H2D transfers are disallowed")
        return numpy.array(value)
    if isinstance(value, numpy.ndarray):
        return value[()]
    return unwrap(value, reads)


def device_index(key, reads):
    """An index as NumPy takes it: device arrays unwrapped; host arrays and lists in it are
    copied to the device first, as CuPy does (refused while capturing)."""
    if isinstance(key, tuple):
        return tuple(device_index(k, reads) for k in key)
    if isinstance(key, (numpy.ndarray, list)):
        return operand(key, reads)
    return unwrap(key, reads)


def refuse_cublas():
    if DEVICE.current_stream.capture is not None:
        raise NotImplementedError("calling cuBLAS API during stream capture is currently "
                                  "unsupported")


def _refuse_d2h_while_capturing():
    if DEVICE.current_stream.capture is not None:
        raise RuntimeError("the current stream is capturing, so D2H transfers are disallowed")


def _has_mask(key):
    keys = key if isinstance(key, tuple) else (key,)
    return any(isinstance(k, ndarray) and k.dtype == bool for k in keys)


def _poison(array):
    """Recorded, not run: a new float result holds NaN until a replay writes it."""
    if array.dtype.kind in "fc":
        array.fill(numpy.nan)


def _root(array):
    while isinstance(array.base, numpy.ndarray):
        array = array.base
    return array


def _as_tuple(out):
    return out if isinstance(out, tuple) else (out,)
