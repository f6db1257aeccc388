"""Matrix products: matmul and the dense (fully connected) layer.

For Z = A B with A (n, k) and B (k, m), each Z_ij = sum_l A_il B_lj, so
dL/dA = G B^T  (n, m)(m, k) -> (n, k)   and   dL/dB = A^T G  (k, n)(n, m) -> (k, m).
Batched inputs (..., n, k) broadcast over the leading axes like numpy.matmul.
"""

from minivae.errors import ShapeError
from minivae.function import Function
from minivae.tensor import unbroadcast


def _swap_last(xp, a):
    return xp.swapaxes(a, -1, -2)


class MatMul(Function):
    """Z = A @ B.   dL/dA = G B^T,  dL/dB = A^T G (summed over broadcast batch axes)."""

    @staticmethod
    def forward(ctx, a, b):
        if a.ndim < 2 or b.ndim < 2 or a.shape[-1] != b.shape[-2]:
            raise ShapeError(
                f"matmul: shapes {a.shape} @ {b.shape} do not fit: need (..., n, k) @ (..., k, m) "
                "with the same k; for a vector use x.reshape(1, -1) or x.reshape(-1, 1)"
            )
        ctx.save_for_backward(a, b)
        return a @ b

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved
        xp = ctx.xp
        grad_a = unbroadcast(g @ _swap_last(xp, b), a.shape) if ctx.needs_input_grad[0] else None
        grad_b = unbroadcast(_swap_last(xp, a) @ g, b.shape) if ctx.needs_input_grad[1] else None
        return grad_a, grad_b


class Linear(Function):
    """The dense layer y = x W + b, with x (B, I), W (I, O), b (O,) -> y (B, O).

    dL/dx = G W^T  (B, O)(O, I) -> (B, I)
    dL/dW = x^T G  (I, B)(B, O) -> (I, O)
    dL/db = sum_batch G         -> (O,)
    One op instead of matmul + add: one node in the graph and no broadcast temporary.
    """

    @staticmethod
    def forward(ctx, x, weight, bias):
        if x.ndim != 2 or weight.ndim != 2 or bias.shape != (weight.shape[1],):
            raise ShapeError(
                f"linear: x {x.shape}, W {weight.shape}, b {bias.shape} do not fit: need x (B, I), "
                "W (I, O) and b (O,)"
            )
        if x.shape[1] != weight.shape[0]:
            raise ShapeError(
                f"linear: x has {x.shape[1]} features (shape {x.shape}) but W expects "
                f"{weight.shape[0]} (shape {weight.shape}): check the layer's input size"
            )
        ctx.save_for_backward(x, weight)
        return x @ weight + bias

    @staticmethod
    def backward(ctx, g):
        x, weight = ctx.saved
        grad_x = g @ weight.T if ctx.needs_input_grad[0] else None
        grad_w = x.T @ g if ctx.needs_input_grad[1] else None
        grad_b = g.sum(axis=0) if ctx.needs_input_grad[2] else None
        return grad_x, grad_w, grad_b


def matmul(a, b):
    return MatMul.apply(a, b)


def linear(x, weight, bias):
    return Linear.apply(x, weight, bias)
