"""Exercise `reparameterize` (notebook 4): the backward pass of z = mu + sigma * eps.

The learner writes reparameterize_backward(g, mu, logvar, eps) -> (grad_mu, grad_logvar), from
the upstream gradient g = dL/dz and the forward pass's inputs, all (B, L):

    sigma = exp(logvar / 2),   dL/dmu = g,   dL/dlogvar = g eps sigma / 2

The check compares them with the backward pass of minivae's `ops.reparameterize` (eps a
constant, as in the model) on four batches: an ordinary one, a batch of one example, one latent
dimension, and logvar from -40 to 40 (sigma from 2e-9 to 5e8, so that clipping logvar or adding a
small number to sigma shows); then on the teacher's cases (`minivae.course.cases`). It plugs
reparameterize_backward into a Function as the backward of minivae's z = mu + sigma * eps and
runs `minivae.gradcheck` on the first three batches.
"""

import types

import numpy as np

from minivae import ops
from minivae.course.cases import Case, teacher_cases
from minivae.course.compare import Batch, Mistake, Quantity, RoundingLater, compare
from minivae.course.plugged import gradcheck_all, with_backward
from minivae.course.verdict import Template, call, checked, unpack
from minivae.engine.tensor import Tensor

TEMPLATES = (Template("reparameterize_backward", ("g", "mu", "logvar", "eps")),)
CASE = Case({"g": "B L", "mu": "B L", "logvar": "B L", "eps": "B L"})
NAMES = ["grad_mu", "grad_logvar"]
AXES = ("examples", "latent dimensions")
GRAD_MU = Quantity("grad_mu", AXES)
GRAD_LOGVAR = Quantity("grad_logvar", AXES)
NO_G = "g, the gradient arriving from z, is missing: the chain rule multiplies by it."

MISTAKES = [
    Mistake("grad_mu", lambda e: np.ones_like(e.g),
            "dz/dmu = 1, so dL/dmu = g dz/dmu = g: the upstream gradient passes through as it "
            "is.", "is dz/dmu = 1 without g"),
    Mistake("grad_mu", lambda e: e.g * e.eps,
            "eps multiplies sigma, not mu: dz/dmu = 1, so dL/dmu = g."),
    Mistake("grad_logvar", lambda e: e.g * e.eps * e.sigma,
            "sigma = exp(logvar / 2) gives a factor 1/2: dsigma/dlogvar = sigma / 2."),
    Mistake("grad_logvar", lambda e: e.g * e.eps * e.var / 2,
            "This is the variance, not the standard deviation: sigma = exp(logvar / 2), and "
            "exp(logvar) is sigma^2.", "uses exp(logvar) where sigma = exp(logvar / 2) belongs"),
    Mistake("grad_logvar", lambda e: e.g * e.eps * e.var,
            "This is the variance, not the standard deviation, and the 1/2 is missing: "
            "dsigma/dlogvar = exp(logvar / 2) / 2.", "uses exp(logvar) where "
            "exp(logvar / 2) / 2 belongs"),
    Mistake("grad_logvar", lambda e: e.g * e.eps,
            "That is dL/dsigma = g eps; the chain rule multiplies it by dsigma/dlogvar = "
            "sigma / 2.", "is the gradient with respect to sigma, g eps, not logvar"),
    Mistake("grad_logvar", lambda e: e.g * e.sigma / 2,
            "dz/dlogvar = eps sigma / 2 carries the noise: the same eps that made z.",
            "is g sigma / 2, without eps"),
    Mistake("grad_logvar", lambda e: e.g * e.eps / 2,
            "dz/dlogvar = eps sigma / 2: sigma = exp(logvar / 2) is missing.",
            "is g eps / 2, without sigma"),
    Mistake("grad_logvar", lambda e: e.eps * e.sigma / 2, NO_G, "is dz/dlogvar without g"),
]


def batches():
    """(g, mu, logvar, eps), (B, L): ordinary, one example, one latent dimension, logvar far from
    0; then the teacher's cases."""
    rng = np.random.default_rng(3)
    draws = [Batch({k: rng.normal(size=shape) for k in ("g", "mu", "logvar", "eps")}, label)
             for shape, label in [((4, 3), ""), ((1, 5), "for a batch of one example"),
                                  ((3, 1), "for one latent dimension")]]
    far = {k: rng.normal(size=(2, 4)) for k in ("g", "mu", "eps")}
    far["logvar"] = np.array([[-40.0, -20, -8, 8], [20, 40, -30, 30]])
    draws.append(Batch(far, "for logvar from -40 to 40",
                       "sigma = exp(logvar / 2) is finite for these logvar: is something "
                       "squared or exponentiated that need not be?",
                       "Clipping logvar, or adding a small number to sigma, changes the "
                       "gradient where logvar is far from 0: compute sigma = exp(logvar / 2) as "
                       "it is.", gradcheck=False))
    return draws + [Batch(inputs, label, why_wrong=why, gradcheck=False)
                    for label, why, inputs in teacher_cases("reparameterize", CASE)]


def namespace(batch):
    logvar = batch.inputs["logvar"]
    return types.SimpleNamespace(**batch.inputs, sigma=np.exp(logvar / 2), var=np.exp(logvar))


def minivae_gradients(g, mu, logvar, eps):
    """dL/dmu, dL/dlogvar from the backward pass of ops.reparameterize, eps held constant."""
    mu_t, logvar_t = Tensor(mu, requires_grad=True), Tensor(logvar, requires_grad=True)
    ops.reparameterize(mu_t, logvar_t, eps).backward(g)
    return mu_t.grad, logvar_t.grad


@checked("reparameterize", TEMPLATES)
def check_reparameterize_backward(reparameterize_backward):
    """Check reparameterize_backward(g, mu, logvar, eps) -> (grad_mu, grad_logvar)."""
    name, draws, later = reparameterize_backward.name, batches(), RoundingLater()
    for batch in draws:
        args = [batch.inputs[k] for k in ("g", "mu", "logvar", "eps")]
        got = unpack(name, call(reparameterize_backward, *args), NAMES)
        with later:
            compare(name, [GRAD_MU, GRAD_LOGVAR], got, minivae_gradients(*args), MISTAKES,
                    namespace(batch), batch)
    later.finish()

    def forward(ctx, mu, logvar, eps):
        ctx.save_for_backward(mu, logvar, eps)
        return mu + np.exp(logvar / 2) * eps  # (B, L)

    def backward(ctx, g):
        return tuple(unpack(name, call(reparameterize_backward, g, *ctx.saved), NAMES))

    op = with_backward("ReparameterizeWithYourBackward", forward, backward)
    worst = 0.0
    for batch in (b for b in draws if b.gradcheck):  # eps is a constant, not an input to check
        eps = batch.inputs["eps"]
        worst = max(worst, gradcheck_all(name, lambda mu, logvar, eps=eps: op.apply(
            mu, logvar, eps=eps), [[batch.inputs["mu"], batch.inputs["logvar"]]]))
    return (f"{name} agrees with the backward pass of minivae's ops.reparameterize on "
            f"{len(draws)} batches", "gradcheck finds your gradients equal to central "
            f"differences of z = mu + sigma * eps (largest error {worst:.1e}).")
