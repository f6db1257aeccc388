"""Reductions over axes: sum, mean and the log-sum-exp.

A reduction maps x of shape S to z with the reduced axes removed (or kept as size 1 with
keepdims=True). Its backward puts the removed axes back and broadcasts g over them: every x_i
that was summed into z_j receives dL/dz_j times its own partial derivative.
"""

from minivae.engine.function import Function
from minivae.errors import ShapeError


def normalize_axes(op, axis, ndim):
    """`axis` (None, an int or a tuple, negatives allowed) as a sorted tuple of axes."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    for a in axes:
        if not -ndim <= a < ndim:
            raise ShapeError(f"{op}: axis {a} is out of range for an array of {ndim} dimensions")
    return tuple(sorted(a % ndim for a in axes))


def _expand(xp, g, axes, keepdims, shape):
    """g with the reduced axes restored as size 1, broadcast to the input's shape."""
    if not keepdims:
        g = xp.expand_dims(g, axes)
    return xp.broadcast_to(g, shape)


class Sum(Function):
    """z = sum_i x_i over the axes.   dz/dx_i = 1.

    Gradient-checked: case "sum" in ops/gradcheck_cases.py.
    """

    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False):
        ctx.axes, ctx.keepdims, ctx.shape = normalize_axes("sum", axis, x.ndim), keepdims, x.shape
        return x.sum(axis=ctx.axes, keepdims=keepdims)

    @staticmethod
    def backward(ctx, g):
        return _expand(ctx.xp, g, ctx.axes, ctx.keepdims, ctx.shape)


class Mean(Function):
    """z = (1/n) sum_i x_i over the axes, n the number of elements reduced.   dz/dx_i = 1/n.

    Gradient-checked: case "mean" in ops/gradcheck_cases.py.
    """

    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False):
        ctx.axes, ctx.keepdims, ctx.shape = normalize_axes("mean", axis, x.ndim), keepdims, x.shape
        ctx.count = 1
        for a in ctx.axes:
            ctx.count *= x.shape[a]
        return x.mean(axis=ctx.axes, keepdims=keepdims)

    @staticmethod
    def backward(ctx, g):
        return _expand(ctx.xp, g / ctx.count, ctx.axes, ctx.keepdims, ctx.shape)


class LogSumExp(Function):
    """z = log sum_i e^(x_i), computed as m + log sum_i e^(x_i - m) with m = max_i x_i.

    Subtracting the maximum keeps every e^(x_i - m) in (0, 1], so nothing overflows.
    dz/dx_i = e^(x_i) / sum_j e^(x_j) = e^(x_i - z): the softmax of x.

    Gradient-checked: case "logsumexp" in ops/gradcheck_cases.py.
    """

    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False):
        xp = ctx.xp
        axes = normalize_axes("logsumexp", axis, x.ndim)
        m = x.max(axis=axes, keepdims=True)
        m = xp.where(xp.isfinite(m), m, 0)  # a row of all -inf gives -inf, not nan
        z = m + xp.log(xp.exp(x - m).sum(axis=axes, keepdims=True))  # keepdims shape
        ctx.axes, ctx.keepdims = axes, keepdims
        ctx.save_for_backward(x, z)
        return z if keepdims else z.squeeze(axis=axes)

    @staticmethod
    def backward(ctx, g):
        x, z = ctx.saved
        if not ctx.keepdims:
            g = ctx.xp.expand_dims(g, ctx.axes)
        return g * ctx.xp.exp(x - z)


def sum(x, axis=None, keepdims=False):  # noqa: A001 - the op is called sum everywhere
    return Sum.apply(x, axis=axis, keepdims=keepdims)


def mean(x, axis=None, keepdims=False):
    return Mean.apply(x, axis=axis, keepdims=keepdims)


def logsumexp(x, axis=None, keepdims=False):
    return LogSumExp.apply(x, axis=axis, keepdims=keepdims)
