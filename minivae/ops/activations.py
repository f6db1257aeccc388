"""Nonlinearities, in the numerically stable forms that stay finite at |x| = 1e4.

Notation: sigma(x) = 1 / (1 + e^-x) is the logistic sigmoid, g the upstream gradient.
The stable forms never evaluate e^t for a large positive t: they work with e^-|x| <= 1.
"""

from minivae.engine.function import Function


def stable_sigmoid(xp, x):
    """sigma(x) without overflow: 1/(1+e^-x) for x >= 0 and e^x/(1+e^x) for x < 0."""
    e = xp.exp(-xp.abs(x))  # in (0, 1]
    return xp.where(x >= 0, 1 / (1 + e), e / (1 + e))


def stable_softplus(xp, x):
    """log(1 + e^x) = max(x, 0) + log(1 + e^-|x|), which cannot overflow."""
    return xp.maximum(x, 0) + xp.log1p(xp.exp(-xp.abs(x)))


class ReLU(Function):
    """z = max(x, 0).   dz/dx = 1 for x > 0, 0 for x < 0 (and 0 at the kink x = 0).

    Gradient-checked: case "relu" in ops/gradcheck_cases.py.
    """

    @staticmethod
    def forward(ctx, x):
        positive = x > 0
        ctx.save_for_backward(positive)
        return x * positive

    @staticmethod
    def backward(ctx, g):
        (positive,) = ctx.saved
        return g * positive


class Tanh(Function):
    """z = tanh(x).   dz/dx = 1 - tanh(x)^2 = 1 - z^2.

    Gradient-checked: case "tanh" in ops/gradcheck_cases.py.
    """

    @staticmethod
    def forward(ctx, x):
        z = ctx.xp.tanh(x)
        ctx.save_for_backward(z)
        return z

    @staticmethod
    def backward(ctx, g):
        (z,) = ctx.saved
        return g * (1 - z * z)


class Sigmoid(Function):
    """z = sigma(x) = 1 / (1 + e^-x).   dz/dx = sigma(x) (1 - sigma(x)) = z (1 - z).

    Gradient-checked: case "sigmoid" in ops/gradcheck_cases.py.
    """

    @staticmethod
    def forward(ctx, x):
        z = stable_sigmoid(ctx.xp, x)
        ctx.save_for_backward(z)
        return z

    @staticmethod
    def backward(ctx, g):
        (z,) = ctx.saved
        return g * z * (1 - z)


class Softplus(Function):
    """z = softplus(x) = log(1 + e^x).   dz/dx = e^x / (1 + e^x) = sigma(x).

    Gradient-checked: case "softplus" in ops/gradcheck_cases.py.
    """

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return stable_softplus(ctx.xp, x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved
        return g * stable_sigmoid(ctx.xp, x)


class LogSigmoid(Function):
    """z = log sigma(x) = -softplus(-x) = min(x, 0) - log(1 + e^-|x|).

    dz/dx = 1 - sigma(x) = sigma(-x).

    Gradient-checked: case "log_sigmoid" in ops/gradcheck_cases.py.
    """

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return -stable_softplus(ctx.xp, -x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved
        return g * stable_sigmoid(ctx.xp, -x)


def relu(x):
    return ReLU.apply(x)


def tanh(x):
    return Tanh.apply(x)


def sigmoid(x):
    return Sigmoid.apply(x)


def softplus(x):
    return Softplus.apply(x)


def log_sigmoid(x):
    return LogSigmoid.apply(x)
