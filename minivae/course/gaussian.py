"""Exercise `gaussian` (notebook 6): -log p(x|z) of a Gaussian decoder, and its backward pass.

The learner writes two NumPy functions of the data x and the decoder's mean, both (B, D), and a
log-variance s = logvar that is one per element (B, D), one per dimension shared by the
examples (D,), as minivae's decoder has it, or one shared by everything (1,):

    gaussian_nll(x, mean, logvar) = sum_j 1/2 [log(2 pi) + s_j + (x_j - mean_j)^2 e^-s_j]   (B,)
    gaussian_nll_backward(g, x, mean, logvar) = (grad_mean, grad_logvar), for g = dL/dnll (B,):
        grad_mean = g (mean - x) e^-s                                               (B, D)
        grad_logvar = g/2 [1 - (x - mean)^2 e^-s], summed over the axes s was broadcast along
                                                                                    (s's shape)

The check compares them with minivae's `ops.gaussian_nll` and its backward pass on six
batches: logvar of each of the three shapes, a batch of one example, data of one dimension,
and logvar from -20 to 20 (sigma from 5e-5 to 2e4, so that a clipped logvar or a small number
added to the variance shows); then on the teacher's cases (`minivae.course.cases`). It plugs
gaussian_nll_backward into a Function as the backward of minivae's -log p(x|z) and runs
`minivae.gradcheck` on the first five batches.
"""

import math
import types

import numpy as np

from minivae import ops
from minivae.course.cases import Case, teacher_cases
from minivae.course.compare import Batch, Mistake, Quantity, RoundingLater, Term, compare
from minivae.course.plugged import gradcheck_all, with_backward
from minivae.course.verdict import Template, both, call, checked, unpack
from minivae.engine.tensor import Tensor, unbroadcast

TEMPLATES = (Template("gaussian_nll", ("x", "mean", "logvar")),
             Template("gaussian_nll_backward", ("g", "x", "mean", "logvar")))
CASE = Case({"x": "B D", "mean": "B D", "logvar": "D", "g": "B"},
            optional={"g": lambda inputs: np.ones(len(inputs["x"]))})
NAMES = ["grad_mean", "grad_logvar"]
LOG_2PI = math.log(2 * math.pi)
SHARED = ("An entry of logvar shared by several elements (by the examples for shape (D,), by "
          "everything for (1,)) gets the sum of their gradients: sum the (B, D) elementwise "
          "gradient over the axes logvar was broadcast along, to logvar's own shape.")
NO_G = ("g, the gradient arriving from each example's -log p, is missing: the chain rule "
        "multiplies by it.")
LOG_SIGMA = ("logvar is the log of the variance, log sigma^2: sigma^2 = exp(logvar), the standard "
             "deviation sigma = exp(logvar / 2), and log sigma = logvar / 2.")
FORWARD_SHAPES = ("x and mean are (B, D); logvar is (B, D), (D,) or (1,), and NumPy broadcasts it "
                  "against x as it is (a (D,) array lines up with x's last axis, the dimensions): "
                  "compute element by element, then sum over axis 1.")
NOT_A_VARIANCE = ("A log or a square root of logvar, a number of either sign, is nan where "
                  "logvar < 0: logvar is the log of the variance, sigma^2 = exp(logvar), and "
                  "log sigma^2 is logvar itself.")
BACKWARD_SHAPES = ("g is (B,), one number per example: as g[:, None], (B, 1), it scales the rows "
                   "of a (B, D) array. grad_mean is (B, D); grad_logvar has logvar's shape. "
                   + SHARED)


def nll(x, mean, logvar):
    """minivae's -log N(x | mean, exp(logvar)) per example, (B, D) -> (B,)."""
    return ops.gaussian_nll(Tensor(x), Tensor(mean), Tensor(logvar)).data


def minivae_gradients(g, x, mean, logvar):
    """d/dmean and d/dlogvar of sum_b g_b nll_b, from ops.gaussian_nll's backward pass."""
    mean_t, logvar_t = Tensor(mean, requires_grad=True), Tensor(logvar, requires_grad=True)
    ops.gaussian_nll(Tensor(x), mean_t, logvar_t).backward(g)
    return mean_t.grad, logvar_t.grad


def elementwise(e, s, exponent):
    """1/2 [log(2 pi) + s + (x - mean)^2 e^(-exponent)] summed over the dimensions: (B,)."""
    return 0.5 * (LOG_2PI + np.broadcast_to(s, e.x.shape) + e.diff**2 * np.exp(-exponent)).sum(1)


MISTAKES = [
    Mistake("-log p(x|z)", lambda e: e.right - e.x.shape[1] * LOG_2PI / 2,
            "The Gaussian's normalizing constant 1/sqrt(2 pi sigma^2) puts log(2 pi) / 2 into "
            "-log p for each dimension: without it the gradients are the same, but the number "
            "is not -log p(x|z), and cannot be compared with another model's.",
            "leaves out log(2 pi) / 2, the normalizing constant's part, in each dimension"),
    Mistake("-log p(x|z)", lambda e: 2 * e.right,
            "-log N(x | m, sigma^2) = 1/2 log(2 pi sigma^2) + (x - m)^2 / (2 sigma^2): the 1/2 "
            "stands in front of all three terms."),
    Mistake("-log p(x|z)", lambda e: (LOG_2PI / 2 + np.broadcast_to(e.logvar, e.x.shape)
                                      + e.diff**2 * np.exp(-2 * e.logvar) / 2).sum(1),
            LOG_SIGMA, "reads logvar as log sigma, the log of the standard deviation"),
    Mistake("-log p(x|z)", lambda e: elementwise(e, e.logvar, e.logvar / 2),
            "The exponent of a Gaussian is -(x - m)^2 / (2 sigma^2), with the variance "
            "sigma^2 = exp(logvar).", "divides (x - mean)^2 by sigma = exp(logvar / 2) where "
            "the Gaussian has sigma^2 = exp(logvar)"),
    Mistake("-log p(x|z)", lambda e: elementwise(e, np.exp(e.logvar), e.logvar),
            "log sqrt(2 pi sigma^2) = 1/2 (log(2 pi) + log sigma^2), and log sigma^2 is logvar "
            "itself: no exp there.", "has the variance exp(logvar) where its log, logvar, "
            "belongs"),
    Mistake("-log p(x|z)", lambda e: e.right - (e.x.shape[1] - 1) * e.logvar[0] / 2,
            "A logvar of shape (1,) is the log-variance of every one of the D dimensions, so it "
            "enters -log p D times, D logvar / 2 in all: let NumPy broadcast it against x "
            "rather than summing it on its own.",
            "counts the one shared logvar once, not once per dimension",
            when=lambda e: e.logvar.size == 1 and e.x.shape[1] > 1),
    Mistake("grad_mean", lambda e: e.g[:, None] * (e.mean - e.x) * np.exp(-e.logvar / 2),
            "The derivative of (x - m)^2 / (2 sigma^2) divides by the variance sigma^2 = "
            "exp(logvar).", "divides by sigma = exp(logvar / 2) where the derivative has "
            "sigma^2 = exp(logvar)"),
    Mistake("grad_mean", lambda e: e.g[:, None] * (e.mean - e.x) * np.exp(-2 * e.logvar),
            LOG_SIGMA, "divides by exp(2 logvar), reading logvar as log sigma"),
    Mistake("grad_mean", lambda e: e.right_mean / 2,
            "d/dm (x - m)^2 = -2 (x - m): the 2 cancels the 1/2, so d/dmean = "
            "(mean - x) / sigma^2."),
    Mistake("grad_mean", lambda e: (e.mean - e.x) * e.inv_var, NO_G,
            "is d(-log p)/dmean without g"),
    Mistake("grad_logvar", lambda e: 2 * e.right_logvar,
            "The 1/2 in front of -log p stays in the derivative: d/dlogvar = "
            "1/2 [1 - (x - mean)^2 / sigma^2]."),
    Mistake("grad_logvar", lambda e: unbroadcast(
        e.g[:, None] / 2 * (e.inv_var - e.diff**2 * e.inv_var**2), e.shape),
            "That is d/dsigma^2; the chain rule multiplies it by dsigma^2/dlogvar = sigma^2, "
            "which gives 1/2 [1 - (x - mean)^2 / sigma^2].",
            "is the derivative with respect to sigma^2, not logvar"),
    Mistake("grad_logvar", lambda e: unbroadcast(
        e.g[:, None] * (np.sqrt(e.inv_var) - e.diff**2 * e.inv_var**1.5), e.shape),
            "That is d/dsigma; the chain rule multiplies it by dsigma/dlogvar = sigma / 2.",
            "is the derivative with respect to sigma, not logvar"),
    Mistake("grad_logvar", lambda e: unbroadcast(
        e.g[:, None] * (1 - e.diff**2 * np.exp(-2 * e.logvar)), e.shape),
            LOG_SIGMA, "is the derivative for logvar read as log sigma"),
    Mistake("grad_logvar", lambda e: unbroadcast(0.5 * (1 - e.diff**2 * e.inv_var), e.shape),
            NO_G, "is d(-log p)/dlogvar without g"),
    Mistake("grad_logvar", lambda e: e.per_element, SHARED,
            "is the (B, D) elementwise gradient, not yet summed over the elements that share "
            "each logvar", when=lambda e: e.logvar.shape != e.x.shape),
    Mistake("grad_logvar", lambda e: e.per_element.sum(axis=0), SHARED,
            "is summed over the examples but not over the dimensions, which share the one logvar "
            "too", when=lambda e: e.logvar.size == 1 and e.x.shape[1] > 1),
    Mistake("grad_logvar", lambda e: e.per_element.mean(axis=0), SHARED,
            "is the mean over the examples of the elementwise gradient where logvar's gradient "
            "is their sum", when=lambda e: e.logvar.ndim == 1 and e.logvar.size > 1
            and len(e.x) > 1),
]


def quantities(x, logvar):
    """The three results compared, for data of x's shape and a logvar of logvar's."""
    b, d = x.shape
    loss = Quantity(
        "-log p(x|z)", ("examples",), (("dimensions", d),),
        why_sign="This is log p(x|z); the loss is its negative.",
        terms=(Term("log(2 pi) / 2", lambda e: np.full(e.x.shape, LOG_2PI / 2)),
               Term("logvar / 2", lambda e: np.broadcast_to(e.logvar, e.x.shape) / 2),
               Term("(x - mean)^2 / (2 sigma^2)", lambda e: e.diff**2 * e.inv_var / 2)),
        formula=lambda e, v: sum(v.values()).sum(axis=1),
        formula_text="-log p(x|z) = sum over the dimensions of 1/2 [log(2 pi) + logvar + "
        "(x - mean)^2 / sigma^2], sigma^2 = exp(logvar)")
    grad_mean = Quantity("grad_mean", ("examples", "dimensions"),
                         why_sign="-log p grows as the mean moves away from x: d/dmean = "
                         "(mean - x) / sigma^2 has the sign of mean - x.")
    axes = ("examples", "dimensions")[2 - logvar.ndim:]
    grad_logvar = Quantity(
        "grad_logvar", axes, (("examples", b),) if logvar.ndim < 2 else (),
        why_sign="-log p falls as sigma^2 shrinks towards (x - mean)^2 and grows below it: "
        "d/dlogvar = 1/2 [1 - (x - mean)^2 / sigma^2] is positive where sigma^2 > (x - mean)^2.",
        terms=(Term("1/2", lambda e: np.broadcast_to(e.g[:, None] / 2, e.x.shape)),
               Term("-(x - mean)^2 / (2 sigma^2)",
                    lambda e: -e.g[:, None] * e.diff**2 * e.inv_var / 2)),
        formula=lambda e, v: unbroadcast(sum(v.values()), e.shape),
        formula_text="d/dlogvar = g/2 [1 - (x - mean)^2 / sigma^2], summed to logvar's shape")
    return loss, grad_mean, grad_logvar


def batches():
    """(g, x, mean, logvar): logvar (D,), (B, D) and (1,); one example; one dimension; logvar
    far from 0; then the teacher's cases."""
    rng = np.random.default_rng(7)
    draws = []
    for (b, d), logvar_shape, label in [
        ((4, 6), (6,), ""),
        ((4, 6), (4, 6), "for logvar of shape (B, D), one per element"),
        ((4, 6), (1,), "for one logvar shared by every example and dimension, shape (1,)"),
        ((1, 6), (6,), "for a batch of one example"),
        ((3, 1), (1,), "for data of one dimension"),
    ]:
        inputs = {"g": rng.normal(size=b), "x": rng.normal(0.5, 0.4, (b, d)),
                  "mean": rng.normal(0.5, 0.4, (b, d)), "logvar": rng.normal(-1, 1, logvar_shape)}
        draws.append(Batch(inputs, label, why_nonfinite=NOT_A_VARIANCE))
    far = {"g": rng.normal(size=2), "x": rng.normal(0.5, 0.4, (2, 4)),
           "mean": rng.normal(0.5, 0.4, (2, 4)),
           "logvar": np.array([[-20.0, -12, -6, 0], [4, 9, 14, 20]])}
    draws.append(Batch(far, "for logvar from -20 to 20", NOT_A_VARIANCE,
                       "Clipping logvar, or adding a small number to the variance, "
                       "changes -log p and its gradients where sigma is small: compute with "
                       "exp(-logvar) as it is (a floor on sigma is a choice of the model, not of "
                       "this function).", gradcheck=False))
    return draws + [Batch(inputs, label, why_wrong=why, gradcheck=False)
                    for label, why, inputs in teacher_cases("gaussian", CASE)]


def namespace(inputs):
    e = types.SimpleNamespace(**inputs)
    e.diff, e.inv_var, e.shape = e.x - e.mean, np.exp(-e.logvar), e.logvar.shape
    with np.errstate(all="ignore"):
        e.right = nll(e.x, e.mean, e.logvar)
        e.right_mean, e.right_logvar = minivae_gradients(e.g, e.x, e.mean, e.logvar)
        e.per_element = e.g[:, None] / 2 * (1 - e.diff**2 * e.inv_var)  # (B, D)
    return e


def check_value(gaussian_nll, draws):
    name, later = gaussian_nll.name, RoundingLater()
    for batch in draws:
        x, mean, logvar = (batch.inputs[k] for k in ("x", "mean", "logvar"))
        loss = quantities(x, logvar)[0]
        got = unpack(name, call(gaussian_nll, x, mean, logvar, why_error=FORWARD_SHAPES),
                     [loss.name])
        with later:
            compare(name, [loss], got, [nll(x, mean, logvar)], MISTAKES,
                    namespace(batch.inputs), batch)
    later.finish()


def check_gradient(backward, draws):
    """Against minivae's backward pass, then by gradcheck as the backward of minivae's nll."""
    name, later = backward.name, RoundingLater()
    for batch in draws:
        args = [batch.inputs[k] for k in ("g", "x", "mean", "logvar")]
        got = unpack(name, call(backward, *args, why_error=BACKWARD_SHAPES), NAMES)
        with later:
            compare(name, list(quantities(args[1], args[3])[1:]), got, minivae_gradients(*args),
                    MISTAKES, namespace(batch.inputs), batch)
    later.finish()

    def forward(ctx, mean, logvar, x):
        ctx.inputs = (x, mean, logvar)
        return nll(x, mean, logvar)  # (B, D) -> (B,)

    def plugged_backward(ctx, g):
        return tuple(unpack(name, call(backward, g, *ctx.inputs, why_error=BACKWARD_SHAPES),
                            NAMES))

    op = with_backward("GaussianNLLWithYourBackward", forward, plugged_backward)
    worst = 0.0
    for batch in (b for b in draws if b.gradcheck):  # x is the data, a constant
        x = batch.inputs["x"]
        worst = max(worst, gradcheck_all(name, lambda mean, logvar, x=x: op.apply(
            mean, logvar, x=x), [[batch.inputs["mean"], batch.inputs["logvar"]]]))
    return worst


@checked("gaussian", TEMPLATES)
def check_gaussian_nll(gaussian_nll, gaussian_nll_backward):
    """Check gaussian_nll(x, mean, logvar) -> (B,) and gaussian_nll_backward(g, x, mean, logvar)
    -> (grad_mean, grad_logvar)."""
    draws = batches()
    _, worst = both(gaussian_nll, lambda: check_value(gaussian_nll, draws),
                    gaussian_nll_backward, lambda: check_gradient(gaussian_nll_backward, draws))
    return (f"{gaussian_nll.name} and {gaussian_nll_backward.name} agree with minivae's "
            f"ops.gaussian_nll and its backward pass on {len(draws)} batches: logvar per element, "
            "per dimension and shared, one example, one dimension, logvar from -20 to 20",
            "gradcheck finds your gradients equal to central differences of -log p(x|z) "
            f"(largest error {worst:.1e}).")
