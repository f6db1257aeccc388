"""Matrix products: matmul and the dense (fully connected) layer.

For Z = A B with A (n, k) and B (k, m), each Z_ij = sum_l A_il B_lj, so
dL/dA = G B^T  (n, m)(m, k) -> (n, k)   and   dL/dB = A^T G  (k, n)(n, m) -> (k, m).
Batched inputs (..., n, k) broadcast over the leading axes like numpy.matmul.
"""

from minivae.engine.function import Function
from minivae.engine.tensor import unbroadcast
from minivae.errors import ShapeError


def _swap_last(xp, a):
    return xp.swapaxes(a, -1, -2)


class MatMul(Function):
    """Z = A @ B.   dL/dA = G B^T,  dL/dB = A^T G (summed over broadcast batch axes).

    Gradient-checked: case "matmul" in ops/gradcheck_cases.py.
    """

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

    Gradient-checked: case "linear" in ops/gradcheck_cases.py.
    """

    @staticmethod
    def forward(ctx, x, weight, bias):
        check_linear(x, weight, bias)
        ctx.save_for_backward(x, weight)
        y = x @ weight  # (B, I) (I, O) -> (B, O)
        y += bias  # in place: no second (B, O) array
        return y

    @staticmethod
    def backward(ctx, g):
        x, weight = ctx.saved
        grad_x = g @ weight.T if ctx.needs_input_grad[0] else None
        grad_w = x.T @ g if ctx.needs_input_grad[1] else None
        grad_b = g.sum(axis=0) if ctx.needs_input_grad[2] else None
        return grad_x, grad_w, grad_b


class LinearCUDA(Linear):
    """Linear on CuPy: the same products, by cuBLAS (CuPy's @) as Linear computes them, except
    while the current stream is capturing a CUDA graph (--cuda-graph). CuPy refuses cuBLAS calls
    during a capture, so there the three products and the bias gradient run minivae's own kernels
    (kernels/matmul.cu and column_sum.cu, through minivae.accel.matmul), which allocate nothing
    but their outputs and which a graph can hold. They sum in a stated order (docs/cuda.md), so a
    captured step agrees with an eager one to rounding, not to the bit.
    """

    @staticmethod
    def forward(ctx, x, weight, bias):
        from minivae.accel import matmul as kernels  # noqa: PLC0415 - the kernels' loader

        if not capturing(ctx.xp):
            return Linear.forward(ctx, x, weight, bias)
        check_linear(x, weight, bias)
        x = ctx.xp.ascontiguousarray(x)
        ctx.save_for_backward(x, weight)
        return kernels.matmul(x, weight, bias=bias)  # x W + b, one launch

    @staticmethod
    def backward(ctx, g):
        from minivae.accel import matmul as kernels  # noqa: PLC0415

        if not capturing(ctx.xp):
            return Linear.backward(ctx, g)
        x, weight = ctx.saved
        g = ctx.xp.ascontiguousarray(g)
        needs = ctx.needs_input_grad
        grad_x = kernels.matmul(g, weight, transpose_b=True) if needs[0] else None  # G W^T
        grad_w = kernels.matmul(x, g, transpose_a=True) if needs[1] else None  # x^T G
        grad_b = kernels.column_sum(g) if needs[2] else None  # sum_batch G
        return grad_x, grad_w, grad_b


Linear.fast_forms = {"cupy": LinearCUDA}


def capturing(xp):
    """True while CuPy's current stream records a CUDA graph."""
    return xp.cuda.get_current_stream().is_capturing()


def check_linear(x, weight, bias):
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


def matmul(a, b):
    return MatMul.apply(a, b)


def linear(x, weight, bias):
    return Linear.apply(x, weight, bias)
