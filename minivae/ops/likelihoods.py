"""Reconstruction terms: -log p(x|z) per example, summed over the D data dimensions.

Shapes: x and the decoder's output are (B, D); each op returns (B,), nats per example.

Bernoulli, for pixels in [0, 1], from the decoder's logits l (p = sigma(l)):
    -log p(x|z) = sum_j -[x log sigma(l) + (1 - x) log(1 - sigma(l))] = sum_j softplus(l) - x l
The right-hand form is exact and stable: it never takes the log of a probability that rounded to
0. Its derivatives: d/dl = sigma(l) - x, d/dx = -l.

Gaussian, for real-valued x, with mean m and log-variance s (s may be shared, e.g. shape (D,)):
    -log p(x|z) = sum_j 1/2 [log(2 pi) + s + (x - m)^2 e^-s]
    d/dm = -(x - m) e^-s,  d/ds = 1/2 [1 - (x - m)^2 e^-s],  d/dx = (x - m) e^-s
"""

import math

from minivae.engine.function import Function
from minivae.engine.tensor import unbroadcast
from minivae.errors import ShapeError
from minivae.ops.activations import stable_sigmoid, stable_softplus
from minivae.ops.elementwise import check_broadcastable

LOG_2PI = math.log(2 * math.pi)


class BernoulliNLL(Function):
    """sum_j softplus(l) - x l per row.   d/dl = sigma(l) - x,  d/dx = -l.

    Gradient-checked: case "bernoulli_nll" in ops/gradcheck_cases.py.
    """

    @staticmethod
    def forward(ctx, logits, x):
        check_logits_and_targets(logits, x)
        ctx.save_for_backward(logits, x)
        return (stable_softplus(ctx.xp, logits) - x * logits).sum(axis=1)  # (B, D) -> (B,)

    @staticmethod
    def backward(ctx, g):
        logits, x = ctx.saved
        g = g[:, None]  # (B,) -> (B, 1)
        grad_x = -g * logits if ctx.needs_input_grad[1] else None
        return g * (stable_sigmoid(ctx.xp, logits) - x), grad_x


class BernoulliNLLNumPy(BernoulliNLL):
    """The same sum_j softplus(l) - x l and sigma(l) - x, in fewer passes over memory on NumPy.

    With t = 1 + e^-|l| in (1, 2] and r = 1 / t = sigma(|l|), t computed once for both passes:
        softplus(l) - x l = log(t) + l (1[l > 0] - x)     (since softplus(l) = max(l, 0) + log t)
        sigma(l) = r for l >= 0 and 1 - r for l < 0,  which is |1[l < 0] - r|
    What each step buys on float32 batches of 128 x 784, where exp and log dominate
    (`python benchmarks/elementwise.py` times both forms and each choice below):
      - log(1 + e) rather than log1p(e): NumPy's float32 log is vectorized, its log1p is not.
        Off by at most one rounding of 1 + e, below 1e-7 per pixel in float32.
      - the row sums of log t as logs of products (`row_sum_of_logs`): one log per 16 pixels.
      - the row sums of l (1[l > 0] - x) by one einsum, which multiplies and sums in one pass.
      - |1[l < 0] - r| rather than a select (`copysign`, or `where=`), which NumPy runs slower.
      - t made in place, so no temporaries of the batch's size beyond t itself.
    """

    @staticmethod
    def forward(ctx, logits, x):
        check_logits_and_targets(logits, x)
        xp = ctx.xp
        t = xp.abs(logits)  # (B, D); the next lines turn it into 1 + e^-|l| in place
        xp.negative(t, out=t)
        xp.exp(t, out=t)
        t += 1
        ctx.save_for_backward(logits, x, t)
        linear_part = xp.einsum("ij,ij->i", logits, (logits > 0) - x)  # sum_j l (1[l > 0] - x)
        return row_sum_of_logs(xp, t) + linear_part  # (B,)

    @staticmethod
    def backward(ctx, g):
        logits, x, t = ctx.saved
        xp = ctx.xp
        grad_logits = (logits < 0) - xp.reciprocal(t)  # 1[l < 0] - r
        xp.abs(grad_logits, out=grad_logits)  # sigma(l), in place from here on
        grad_logits -= x
        grad_logits *= g[:, None]  # (B,) -> (B, 1): g (sigma(l) - x)
        grad_x = -g[:, None] * logits if ctx.needs_input_grad[1] else None
        return grad_logits, grad_x


BernoulliNLL.fast_forms = {"numpy": BernoulliNLLNumPy}


def check_logits_and_targets(logits, x):
    if logits.ndim != 2 or logits.shape != x.shape:
        raise ShapeError(
            f"bernoulli_nll: logits {logits.shape} and x {x.shape} must both be (B, D)"
        )


def row_sum_of_logs(xp, t, max_folds=4):
    """sum_j log t_j for each row of t (B, D), for t in [1, 2]: a log of products.

    log a + log b = log(a b), and a log costs far more than a product. Each fold multiplies the
    left half of the row into the right half, so after f folds every entry is a product of 2^f
    values of t, at most 2^(2^f): with f <= 4 that is 2^16, far from float32's limit of 2^128.
    Each product adds at most 15 roundings, about 1e-6 nats per 16 pixels in float32 (a test
    holds a full 128 x 784 batch to 1e-5 relative of float64). Folding stops at an odd width.
    """
    for _ in range(max_folds):
        half = t.shape[1] // 2
        if t.shape[1] % 2:
            break
        t = t[:, :half] * t[:, half:]
    return xp.log(t).sum(axis=1)


class GaussianNLL(Function):
    """sum_j 1/2 [log 2pi + s + (x - m)^2 e^-s] per row, s = logvar broadcast to (B, D).

    Gradient-checked: case "gaussian_nll" in ops/gradcheck_cases.py.
    """

    @staticmethod
    def forward(ctx, x, mean, logvar):
        if x.ndim != 2 or mean.shape != x.shape:
            raise ShapeError(f"gaussian_nll: x {x.shape} and mean {mean.shape} must both be (B, D)")
        check_broadcastable("gaussian_nll", x, logvar)
        inv_var = ctx.xp.exp(-logvar)
        diff = x - mean
        ctx.save_for_backward(diff, inv_var)
        ctx.logvar_shape = logvar.shape
        return 0.5 * (LOG_2PI + logvar + diff * diff * inv_var).sum(axis=1)  # (B, D) -> (B,)

    @staticmethod
    def backward(ctx, g):
        diff, inv_var = ctx.saved
        g = g[:, None]  # (B,) -> (B, 1)
        scaled = g * diff * inv_var  # g (x - m) e^-s
        grad_logvar = unbroadcast(0.5 * g * (1 - diff * diff * inv_var), ctx.logvar_shape)
        return scaled, -scaled, grad_logvar


def bernoulli_nll(logits, x):
    """-log Bernoulli(x | sigma(logits)) summed over features: (B, D) -> (B,)."""
    return BernoulliNLL.apply(logits, x)


def gaussian_nll(x, mean, logvar):
    """-log N(x | mean, exp(logvar)) summed over features: (B, D) -> (B,)."""
    return GaussianNLL.apply(x, mean, logvar)
