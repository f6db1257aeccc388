"""Function: one differentiable op, its forward and its hand-written backward side by side.

An op is a subclass with two static methods that work on plain arrays (NumPy or CuPy):

    forward(ctx, *arrays, **params) -> array (or a tuple of arrays)
    backward(ctx, *grad_outputs)    -> one gradient per input (None where not needed)

`ctx` carries what backward needs: `ctx.save_for_backward(...)` / `ctx.saved`, any attribute set
on it, `ctx.xp` (the array module of the inputs) and `ctx.needs_input_grad` (one bool per input).
`Op.apply(...)` turns tensors into arrays, runs forward, wraps the result in tensors and, unless
inside `no_grad()`, records the node that `Tensor.backward` will later visit.

Plain forms and fast forms. An op's own `forward` and `backward` are the plain form, the math
as a textbook writes it. Where a backend has a faster way to compute the same thing (a NumPy
trick, a CUDA kernel), it is a subclass beside the op, listed in the op's `fast_forms` under the
array module's name, and `apply` runs it instead. Inside `plain_forms()` every op runs its plain
form, so a learner can step through the textbook math, or time what the fast forms buy.
"""

import contextlib
import types

from minivae import backend
from minivae.engine.tensor import Node, Tensor
from minivae.errors import DTypeError


class _Modes:
    """What the two context managers below switch, for the block they enclose."""

    grad = True  # record the graph for backward
    fast_forms = True  # run an op's fast form where its backend has one


@contextlib.contextmanager
def _switched_off(mode):
    previous = getattr(_Modes, mode)
    setattr(_Modes, mode, False)
    try:
        yield
    finally:
        setattr(_Modes, mode, previous)


def no_grad():
    """Inside this block ops build no graph: for evaluation, sampling and optimizer steps."""
    return _switched_off("grad")


def plain_forms():
    """Inside this block every op runs its plain (textbook) form, and `VAE.loss` its plain steps.

    The fast forms compute the same numbers, to rounding, from the same noise:

        with minivae.plain_forms():
            terms = model.loss(x)    # reparameterize + gaussian_kl + the plain likelihood
    """
    return _switched_off("fast_forms")


def fast_forms_enabled():
    """False inside `plain_forms()`."""
    return _Modes.fast_forms


class Context:
    """What one op application keeps between its forward and its backward pass."""

    def __init__(self, xp, needs_input_grad):
        self.xp = xp
        self.needs_input_grad = needs_input_grad
        self.saved = ()

    def save_for_backward(self, *arrays):
        self.saved = arrays


class Function:
    """Base class of every op. Subclasses define `forward` and `backward` (static methods)."""

    # array module name ("numpy", "cupy") -> a subclass computing the same, faster (see above)
    fast_forms = types.MappingProxyType({})

    @staticmethod
    def forward(ctx, *arrays, **params):
        raise NotImplementedError

    @staticmethod
    def backward(ctx, *grad_outputs):
        raise NotImplementedError

    @classmethod
    def apply(cls, *inputs, **params):
        tensors = as_tensors(cls.__name__, inputs)
        arrays = [t.data for t in tensors]
        needs_grad = tuple([t.requires_grad for t in tensors])
        record = _Modes.grad and True in needs_grad
        ctx = Context(backend.get_array_module(*arrays), needs_grad)
        op = cls.form_for(ctx.xp)
        result = op.forward(ctx, *arrays, **params)
        outputs = result if isinstance(result, tuple) else (result,)
        outputs = [o if backend.is_array(o) else ctx.xp.asarray(o) for o in outputs]  # scalars
        wrapped = [Tensor(out, requires_grad=record) for out in outputs]
        if record:
            node = Node(op, ctx, tensors, outputs)
            for i, out in enumerate(wrapped):
                out._node, out._output_index = node, i
        return tuple(wrapped) if isinstance(result, tuple) else wrapped[0]

    @classmethod
    def form_for(cls, xp):
        """The class whose forward and backward run on array module `xp`: the fast form for it,
        if there is one and we are not inside `plain_forms()`, else this op itself."""
        if _Modes.fast_forms:
            return cls.fast_forms.get(xp.__name__, cls)
        return cls


def as_tensors(op, inputs):
    """Turn an op's inputs into tensors of one floating dtype, or say clearly why not.

    Python numbers take the dtype of the tensors beside them (so `x * 2` keeps x float32);
    arrays become constant tensors; anything else is an error naming the op.
    """
    dtypes = {v.dtype for v in inputs if isinstance(v, Tensor) or backend.is_array(v)}
    if len(dtypes) > 1:
        _raise_mixed_dtypes(op, inputs)
    dtype = dtypes.pop() if dtypes else backend.numpy.float64
    xp = backend.get_array_module(
        *[v.data if isinstance(v, Tensor) else v for v in inputs if not isinstance(v, int | float)]
    )
    tensors = []
    for v in inputs:
        if isinstance(v, Tensor):
            tensors.append(v)
        elif backend.is_array(v):
            tensors.append(Tensor(v))
        elif isinstance(v, int | float) and not isinstance(v, bool):
            tensors.append(Tensor(xp.asarray(v, dtype=dtype)))
        else:
            raise DTypeError(
                f"{op}: expected a Tensor, an array or a number, got {type(v).__name__}"
            )
    return tensors


def _raise_mixed_dtypes(op, inputs):
    names = ", ".join(sorted({str(v.dtype) for v in inputs if hasattr(v, "dtype")}))
    shapes = ", ".join(str(getattr(v, "shape", "scalar")) for v in inputs)
    raise DTypeError(
        f"{op}: inputs have mixed dtypes ({names}; shapes {shapes}); minivae does not "
        "promote silently: convert one of them first, e.g. x.astype(numpy.float32)"
    )
