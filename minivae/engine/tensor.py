"""Tensor: an array, the op that made it, and reverse-mode differentiation over the graph.

Every op applied to tensors (see `function.py`) records a `Node`: which op ran, what it saved for
its backward pass, and which tensors went in. `Tensor.backward` walks those nodes from the output
back to the leaves in topological order, calling each op's hand-written backward once, after every
op that used its result has sent its gradient back:

    dL/dx = sum over every use u of x:  (dL/du) (du/dx)

The walk is a loop, not a recursion, so a chain of 10,000 ops is fine. Only leaves (tensors you
made with `requires_grad=True`, such as a model's parameters) keep their `.grad`.
"""

from minivae import backend
from minivae.errors import DTypeError, GraphError, ShapeError


class Node:
    """One application of an op: the op, its saved context, its inputs and its outputs' layout."""

    __slots__ = ("function", "ctx", "inputs", "output_specs")

    def __init__(self, function, ctx, inputs, outputs):
        self.function = function
        self.ctx = ctx
        self.inputs = inputs
        self.output_specs = [(out.shape, out.dtype) for out in outputs]


class Tensor:
    """An n-dimensional array that remembers how it was computed.

    Tensor(data, requires_grad=False): `data` is a NumPy or CuPy array (kept, not copied), or a
    Python number or nested list (turned into a NumPy array; floats become float64).
    """

    __array_priority__ = 1000  # so that `ndarray + Tensor` calls Tensor.__radd__

    def __init__(self, data, requires_grad=False):
        if not backend.is_array(data):
            if isinstance(data, Tensor):
                raise DTypeError("Tensor(data): data is already a Tensor; use it, or .detach() it")
            if not isinstance(data, int | float | list | tuple):
                raise DTypeError(
                    f"Tensor(data): expected an array, number or list, got {type(data).__name__}"
                )
            data = backend.numpy.asarray(data)
            if data.dtype.kind in "iub" and requires_grad:
                data = data.astype(backend.numpy.float64)
        if requires_grad and data.dtype.kind != "f":
            raise DTypeError(
                f"requires_grad=True needs a floating dtype, got {data.dtype}: "
                "gradients are only defined for real numbers; cast with .astype(float)"
            )
        self.data = data
        self.requires_grad = requires_grad
        self.grad = None
        self._node = None  # the Node that produced this tensor; None for a leaf
        self._output_index = 0  # which of that node's outputs this tensor is

    # -- what it holds -------------------------------------------------------------------
    shape = property(lambda self: self.data.shape)
    dtype = property(lambda self: self.data.dtype)
    ndim = property(lambda self: self.data.ndim)
    size = property(lambda self: self.data.size)
    xp = property(lambda self: backend.get_array_module(self.data))

    def __len__(self):
        return len(self.data)

    def __iter__(self):  # rows, each a tensor in the graph: `mu, logvar = pair` works too
        return (self[i] for i in range(len(self)))

    def __repr__(self):
        grad = ", requires_grad=True" if self.requires_grad else ""
        op = f", op={self._node.function.__name__}" if self._node is not None else ""
        return f"Tensor(shape={self.shape}, dtype={self.dtype}{grad}{op})"

    def item(self):
        """The value of a one-element tensor as a Python number."""
        return self.data.item()

    def numpy(self):
        """The data as a NumPy array (copied from the GPU if it lives there)."""
        return backend.to_numpy(self.data)

    def detach(self):
        """A new leaf sharing this data, cut from the graph: no gradient flows through it."""
        return Tensor(self.data)

    def zero_grad(self):
        """Forget the accumulated gradient (the next backward starts from zero)."""
        self.grad = None

    # -- differentiation -----------------------------------------------------------------
    def backward(self, grad=None):
        """Accumulate dL/dleaf into `.grad` of every leaf this tensor depends on.

        L is this tensor if it holds one number; otherwise pass `grad`, the upstream gradient
        dL/dself, an array of this tensor's shape (L = sum(grad * self)).
        """
        if not self.requires_grad:
            raise GraphError(
                "backward() on a tensor that does not require grad: none of its inputs had "
                "requires_grad=True, or it was computed inside no_grad()"
            )
        grad = self._upstream_gradient(grad)
        if self._node is None:
            _accumulate(self, grad)
            return
        pending = {self._node: [None] * len(self._node.output_specs)}
        pending[self._node][self._output_index] = grad
        for node in _topological_order(self._node):
            grads_out = _fill_missing(node, pending.pop(node))
            grads_in = node.function.backward(node.ctx, *grads_out)
            if not isinstance(grads_in, tuple):
                grads_in = (grads_in,)
            _check_backward_result(node, grads_in)
            for tensor, g in zip(node.inputs, grads_in, strict=True):
                if g is None or not tensor.requires_grad:
                    continue
                if tensor._node is None:
                    _accumulate(tensor, g)
                else:
                    producer = tensor._node
                    slots = pending.setdefault(producer, [None] * len(producer.output_specs))
                    i = tensor._output_index
                    slots[i] = g if slots[i] is None else slots[i] + g

    def _upstream_gradient(self, grad):
        if grad is None:
            if self.size != 1:
                raise GraphError(
                    f"backward() on a tensor of shape {self.shape} needs an upstream gradient: "
                    "reduce it to one number first (e.g. loss.mean()), or pass "
                    "backward(grad=array of the same shape)"
                )
            return self.xp.ones_like(self.data)
        if isinstance(grad, Tensor):
            grad = grad.data
        if not backend.is_array(grad) or grad.shape != self.shape or grad.dtype != self.dtype:
            found = f"{getattr(grad, 'shape', type(grad).__name__)} {getattr(grad, 'dtype', '')}"
            raise ShapeError(
                f"backward(grad): grad must be an array of shape {self.shape} and dtype "
                f"{self.dtype}, like the tensor; got {found.strip()}"
            )
        return grad

    # -- Python operators: sugar over the ops in minivae.ops -----------------------------
    # (imported when called, because the ops themselves are built on Tensor)
    def __add__(self, other):
        return _ops().add(self, other)

    def __radd__(self, other):
        return _ops().add(other, self)

    def __sub__(self, other):
        return _ops().sub(self, other)

    def __rsub__(self, other):
        return _ops().sub(other, self)

    def __mul__(self, other):
        return _ops().mul(self, other)

    def __rmul__(self, other):
        return _ops().mul(other, self)

    def __truediv__(self, other):
        return _ops().div(self, other)

    def __rtruediv__(self, other):
        return _ops().div(other, self)

    def __pow__(self, exponent):
        return _ops().pow(self, exponent)

    def __rpow__(self, base):
        return _ops().pow(base, self)

    def __matmul__(self, other):
        return _ops().matmul(self, other)

    def __rmatmul__(self, other):
        return _ops().matmul(other, self)

    def __neg__(self):
        return _ops().neg(self)

    def __getitem__(self, index):
        return _ops().getitem(self, index)

    def sum(self, axis=None, keepdims=False):
        return _ops().sum(self, axis=axis, keepdims=keepdims)

    def mean(self, axis=None, keepdims=False):
        return _ops().mean(self, axis=axis, keepdims=keepdims)

    def reshape(self, *shape):
        return _ops().reshape(self, shape[0] if len(shape) == 1 else shape)

    def transpose(self, *axes):
        return _ops().transpose(self, axes[0] if len(axes) == 1 else (axes or None))

    T = property(lambda self: _ops().transpose(self))

    def exp(self):
        return _ops().exp(self)

    def log(self):
        return _ops().log(self)


def _ops():
    from minivae import ops  # noqa: PLC0415 - see the comment above the operators

    return ops


def unbroadcast(grad, shape):
    """Sum `grad` down to `shape`: the backward pass of NumPy broadcasting.

    If x of shape `shape` was broadcast to grad.shape in the forward pass, every copy of x_i
    received a gradient, and dL/dx_i is their sum: over the leading axes broadcasting added, and
    over the axes where x had size 1.
    """
    if grad.shape == tuple(shape):
        return grad
    extra = grad.ndim - len(shape)  # e.g. grad (B, L), shape (L,): one leading axis added
    axes = tuple(range(extra)) + tuple(
        extra + i for i, n in enumerate(shape) if n == 1 and grad.shape[extra + i] != 1
    )
    summed = grad.sum(axis=axes, keepdims=True) if axes else grad  # (B, L) -> (1, L)
    return summed.reshape(shape)  # (1, L) -> (L,)


def _accumulate(tensor, grad):
    """Set or add to a leaf's .grad. Never in place: the first gradient may be an array that
    another op also holds (Add hands the same g to both inputs), so minivae treats gradient
    arrays as read-only, and so should code that reads .grad."""
    tensor.grad = grad if tensor.grad is None else tensor.grad + grad


def _topological_order(root):
    """Nodes reachable from `root`, each one before the nodes that produced its inputs.

    An iterative depth-first search (no recursion, so deep graphs are fine). Post-order puts each
    node after its producers; reversed, a node's backward runs only once every op that consumed
    its outputs has sent its gradient back.
    """
    post_order, visited = [], {root}
    stack = [(root, iter(root.inputs))]
    while stack:
        node, inputs = stack[-1]
        for tensor in inputs:
            parent = tensor._node
            if parent is not None and tensor.requires_grad and parent not in visited:
                visited.add(parent)
                stack.append((parent, iter(parent.inputs)))
                break
        else:
            stack.pop()
            post_order.append(node)
    return reversed(post_order)


def _fill_missing(node, grads_out):
    """Outputs nothing depended on (e.g. one piece of a split) send back zeros."""
    if all(g is not None for g in grads_out):
        return grads_out
    xp = backend.get_array_module(*[g for g in grads_out if g is not None])
    return [
        xp.zeros(shape, dtype) if g is None else g
        for g, (shape, dtype) in zip(grads_out, node.output_specs, strict=True)
    ]


def _check_backward_result(node, grads_in):
    """The tripwire for broadcasting bugs: each gradient must have its input's shape."""
    name = node.function.__name__
    if len(grads_in) != len(node.inputs):
        raise GraphError(
            f"{name}.backward returned {len(grads_in)} gradients for {len(node.inputs)} inputs"
        )
    for i, (tensor, g) in enumerate(zip(node.inputs, grads_in, strict=True)):
        if g is not None and tensor.requires_grad and g.shape != tensor.shape:
            raise GraphError(
                f"{name}.backward returned a gradient of shape {g.shape} for input {i} of shape "
                f"{tensor.shape}: a gradient must have the shape of its tensor "
                "(a missing unbroadcast or transpose in the backward pass)"
            )
        if g is not None and tensor.requires_grad and g.dtype != tensor.dtype:
            raise GraphError(
                f"{name}.backward returned a {g.dtype} gradient for input {i} of dtype "
                f"{tensor.dtype}: a constant in the backward pass promoted the dtype"
            )
