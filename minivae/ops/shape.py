"""Ops that move elements around without changing them: reshape, transpose, indexing,
concatenate and split.

Each is a permutation (or a selection) of elements, so its backward sends every gradient back to
the place its element came from: the inverse reshape, the inverse permutation, a scatter into
zeros, a split of the concatenated gradient, a concatenation of the split gradients.
"""

import itertools

from minivae import backend
from minivae.engine.function import Function
from minivae.engine.tensor import Tensor
from minivae.errors import ShapeError


class Reshape(Function):
    """z = x viewed with a new shape (same elements, same order).   dL/dx = g reshaped back.

    Gradient-checked: case "reshape" in ops/gradcheck_cases.py.
    """

    @staticmethod
    def forward(ctx, x, shape):
        ctx.shape = x.shape
        try:
            return x.reshape(shape)
        except ValueError:
            raise ShapeError(
                f"reshape: cannot reshape an array of shape {x.shape} ({x.size} elements) "
                f"into {shape}: the number of elements must stay the same"
            ) from None

    @staticmethod
    def backward(ctx, g):
        return g.reshape(ctx.shape)


class Transpose(Function):
    """z = x with its axes permuted: z[..j..] = x[..perm(j)..].

    dL/dx = g permuted back by the inverse permutation (argsort of `axes`).
    With axes=None the axes are reversed (a matrix transpose for 2-D x).

    Gradient-checked: case "transpose" in ops/gradcheck_cases.py.
    """

    @staticmethod
    def forward(ctx, x, axes=None):
        axes = tuple(reversed(range(x.ndim))) if axes is None else tuple(axes)
        if sorted(a % x.ndim for a in axes) != list(range(x.ndim)):
            raise ShapeError(
                f"transpose: axes {axes} are not a permutation of the {x.ndim} axes of shape "
                f"{x.shape}"
            )
        ctx.inverse = tuple(sorted(range(x.ndim), key=lambda i: axes[i] % x.ndim))
        return x.transpose(axes)

    @staticmethod
    def backward(ctx, g):
        return g.transpose(ctx.inverse)


class GetItem(Function):
    """z = x[index] for any NumPy index (ints, slices, arrays of indices, boolean masks).

    dL/dx is zero except where elements were picked; an element picked k times gets the sum of
    its k gradients (a scatter-add, so repeated indices are counted each time).

    Gradient-checked: case "getitem" in ops/gradcheck_cases.py.
    """

    @staticmethod
    def forward(ctx, x, index):
        ctx.shape, ctx.index = x.shape, index
        try:
            return x[index]
        except IndexError as err:
            raise ShapeError(
                f"getitem: index {index!r} does not fit shape {x.shape}: {err}"
            ) from None

    @staticmethod
    def backward(ctx, g):
        grad = ctx.xp.zeros(ctx.shape, dtype=g.dtype)
        backend.scatter_add(grad, ctx.index, g)
        return grad


class Concatenate(Function):
    """z = [x_1, x_2, ...] joined along `axis`.   dL/dx_k = the slice of g where x_k landed.

    Gradient-checked: case "concatenate" in ops/gradcheck_cases.py.
    """

    @staticmethod
    def forward(ctx, *xs, axis=0):
        shapes = [x.shape for x in xs]
        try:
            z = ctx.xp.concatenate(xs, axis=axis)
        except (ValueError, IndexError):
            raise ShapeError(
                f"concatenate: shapes {shapes} do not fit together along axis {axis}: every "
                "other axis must match"
            ) from None
        ctx.axis = axis % z.ndim
        ctx.cuts = list(itertools.accumulate(s[ctx.axis] for s in shapes))[:-1]
        return z

    @staticmethod
    def backward(ctx, g):
        return tuple(ctx.xp.split(g, ctx.cuts, axis=ctx.axis))


class Split(Function):
    """(z_1, ..., z_k) = x cut along `axis` at the given positions (or into k equal pieces).

    The inverse of concatenate: dL/dx = [g_1, ..., g_k] concatenated along `axis`
    (a piece nothing depended on sends back zeros).

    Gradient-checked: case "split" in ops/gradcheck_cases.py.
    """

    @staticmethod
    def forward(ctx, x, indices_or_sections, axis=0):
        try:
            pieces = ctx.xp.split(x, indices_or_sections, axis=axis)
        except (ValueError, IndexError) as err:
            raise ShapeError(
                f"split: cannot split shape {x.shape} by {indices_or_sections} along axis "
                f"{axis}: {err}"
            ) from None
        ctx.axis = axis
        return tuple(pieces)

    @staticmethod
    def backward(ctx, *gs):
        return ctx.xp.concatenate(gs, axis=ctx.axis)


def reshape(x, shape):
    return Reshape.apply(x, shape=shape)


def transpose(x, axes=None):
    return Transpose.apply(x, axes=axes)


def getitem(x, index):
    if isinstance(index, Tensor):  # x[idx] with a tensor of indices or a mask
        index = index.data
    return GetItem.apply(x, index=index)


def concatenate(xs, axis=0):
    return Concatenate.apply(*xs, axis=axis)


def split(x, indices_or_sections, axis=0):
    return Split.apply(x, indices_or_sections=indices_or_sections, axis=axis)
