"""Arithmetic, one element at a time, with NumPy broadcasting forward and backward.

For z = f(a, b) broadcast to a common shape, the chain rule gives, element by element,
dL/da = dL/dz * df/da, then `unbroadcast` sums that back to a's shape (every copy of a
broadcast element collects its share). Notation: g = dL/dz, the upstream gradient.
"""

from minivae.engine.function import Function
from minivae.engine.tensor import unbroadcast
from minivae.errors import ShapeError


def check_broadcastable(op, *arrays):
    """Raise a ShapeError naming `op` if the arrays' shapes cannot broadcast together: aligned
    from the last axis, the sizes on each axis must be equal or 1."""
    shapes = [a.shape for a in arrays]
    for axis in range(-max(len(s) for s in shapes), 0):
        if len({s[axis] for s in shapes if len(s) >= -axis} - {1}) > 1:
            raise ShapeError(
                f"{op}: shapes {' and '.join(map(str, shapes))} cannot be broadcast together: "
                "trailing axes must be equal or 1; reshape one input (e.g. x.reshape(-1, 1))"
            )


class Add(Function):
    """z = a + b.   dz/da = 1,  dz/db = 1.

    Gradient-checked: case "add" in ops/gradcheck_cases.py.
    """

    @staticmethod
    def forward(ctx, a, b):
        check_broadcastable("add", a, b)
        ctx.shapes = a.shape, b.shape
        return a + b

    @staticmethod
    def backward(ctx, g):
        a_shape, b_shape = ctx.shapes
        return unbroadcast(g, a_shape), unbroadcast(g, b_shape)


class Sub(Function):
    """z = a - b.   dz/da = 1,  dz/db = -1.

    Gradient-checked: case "sub" in ops/gradcheck_cases.py.
    """

    @staticmethod
    def forward(ctx, a, b):
        check_broadcastable("sub", a, b)
        ctx.shapes = a.shape, b.shape
        return a - b

    @staticmethod
    def backward(ctx, g):
        a_shape, b_shape = ctx.shapes
        return unbroadcast(g, a_shape), unbroadcast(-g, b_shape)


class Mul(Function):
    """z = a * b.   dz/da = b,  dz/db = a.

    Gradient-checked: case "mul" in ops/gradcheck_cases.py.
    """

    @staticmethod
    def forward(ctx, a, b):
        check_broadcastable("mul", a, b)
        ctx.save_for_backward(a, b)
        return a * b

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved
        grad_a = unbroadcast(g * b, a.shape) if ctx.needs_input_grad[0] else None
        grad_b = unbroadcast(g * a, b.shape) if ctx.needs_input_grad[1] else None
        return grad_a, grad_b


class Div(Function):
    """z = a / b.   dz/da = 1/b,  dz/db = -a/b^2 = -z/b.

    Gradient-checked: case "div" in ops/gradcheck_cases.py.
    """

    @staticmethod
    def forward(ctx, a, b):
        check_broadcastable("div", a, b)
        z = a / b
        ctx.save_for_backward(a, b, z)
        return z

    @staticmethod
    def backward(ctx, g):
        a, b, z = ctx.saved
        grad_a = unbroadcast(g / b, a.shape) if ctx.needs_input_grad[0] else None
        grad_b = unbroadcast(-g * z / b, b.shape) if ctx.needs_input_grad[1] else None
        return grad_a, grad_b


class Neg(Function):
    """z = -a.   dz/da = -1.

    Gradient-checked: case "neg" in ops/gradcheck_cases.py.
    """

    @staticmethod
    def forward(ctx, a):
        return -a

    @staticmethod
    def backward(ctx, g):
        return -g


class Pow(Function):
    """z = a^b.   dz/da = b a^(b-1),  dz/db = a^b log(a)  (needs a > 0 where b is learned).

    Gradient-checked: case "pow" in ops/gradcheck_cases.py.
    """

    @staticmethod
    def forward(ctx, a, b):
        check_broadcastable("pow", a, b)
        z = a**b
        ctx.save_for_backward(a, b, z)
        return z

    @staticmethod
    def backward(ctx, g):
        a, b, z = ctx.saved
        grad_a = unbroadcast(g * b * a ** (b - 1), a.shape) if ctx.needs_input_grad[0] else None
        grad_b = unbroadcast(g * z * ctx.xp.log(a), b.shape) if ctx.needs_input_grad[1] else None
        return grad_a, grad_b


class Exp(Function):
    """z = e^a.   dz/da = e^a = z.

    Gradient-checked: case "exp" in ops/gradcheck_cases.py.
    """

    @staticmethod
    def forward(ctx, a):
        z = ctx.xp.exp(a)
        ctx.save_for_backward(z)
        return z

    @staticmethod
    def backward(ctx, g):
        (z,) = ctx.saved
        return g * z


class Log(Function):
    """z = log(a) (natural log, a > 0).   dz/da = 1/a.

    Gradient-checked: case "log" in ops/gradcheck_cases.py.
    """

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return ctx.xp.log(a)

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved
        return g / a


class Sqrt(Function):
    """z = sqrt(a) (a > 0).   dz/da = 1 / (2 sqrt(a)) = 1 / (2z).

    Gradient-checked: case "sqrt" in ops/gradcheck_cases.py.
    """

    @staticmethod
    def forward(ctx, a):
        z = ctx.xp.sqrt(a)
        ctx.save_for_backward(z)
        return z

    @staticmethod
    def backward(ctx, g):
        (z,) = ctx.saved
        return g / (2 * z)


class Maximum(Function):
    """z = max(a, b), elementwise.

    dz/da = 1 where a > b, 0 where a < b; dz/db the other way round. At a tie the derivative does
    not exist; the gradient is split, 1/2 to each (any value in [0, 1] is a valid subgradient).

    Gradient-checked: case "maximum" in ops/gradcheck_cases.py.
    """

    @staticmethod
    def forward(ctx, a, b):
        check_broadcastable("maximum", a, b)
        ctx.save_for_backward(a, b)
        return ctx.xp.maximum(a, b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved
        share_a = (a > b).astype(g.dtype) + 0.5 * (a == b).astype(g.dtype)  # 1, 0 or 1/2
        grad_a = unbroadcast(g * share_a, a.shape)
        grad_b = unbroadcast(g * (1 - share_a), b.shape)
        return grad_a, grad_b


def add(a, b):
    return Add.apply(a, b)


def sub(a, b):
    return Sub.apply(a, b)


def mul(a, b):
    return Mul.apply(a, b)


def div(a, b):
    return Div.apply(a, b)


def neg(a):
    return Neg.apply(a)


def pow(a, b):  # noqa: A001 - mirrors Python's pow(a, b)
    return Pow.apply(a, b)


def exp(a):
    return Exp.apply(a)


def log(a):
    return Log.apply(a)


def sqrt(a):
    return Sqrt.apply(a)


def maximum(a, b):
    return Maximum.apply(a, b)
