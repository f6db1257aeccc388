"""Exercise `kl` (notebook 1): the closed-form KL to the prior, and its gradient.

The learner writes two NumPy functions of mu and logvar (both (B, L)), elementwise:

    kl_closed_form(mu, logvar) = 1/2 (mu^2 + sigma^2 - 1 - logvar),     sigma^2 = exp(logvar)
    kl_gradient(mu, logvar) = (dKL/dmu, dKL/dlogvar) = (mu, (sigma^2 - 1) / 2)

The check compares them with minivae's `kl_terms` (what `ops.gaussian_kl` sums over each row) and
with the gradient `ops.gaussian_kl`'s backward pass computes, on four batches: an ordinary one, a
batch of one example, one latent dimension, and logvar from -800 to 300 (where exp(logvar)
underflows to 0 or reaches 1e130, so that clipping logvar or an unstable form shows), then on
the teacher's cases (`minivae.course.cases`); then it plugs kl_gradient into a Function as the
backward of minivae's KL and runs `minivae.gradcheck` on the first three batches.
"""

import types

import numpy as np

from minivae import ops
from minivae.course.cases import Case, teacher_cases
from minivae.course.compare import Batch, Mistake, Quantity, RoundingLater, Term, compare
from minivae.course.plugged import gradcheck_all, with_backward
from minivae.course.verdict import (
    FLAGGED,
    NOT_DONE,
    RIGHT,
    WRONG,
    Finding,
    Template,
    call,
    checked,
    unpack,
)
from minivae.engine.tensor import Tensor
from minivae.ops.vae import kl_terms

TEMPLATES = (Template("kl_closed_form", ("mu", "logvar")),
             Template("kl_gradient", ("mu", "logvar")))
CASE = Case({"mu": "B L", "logvar": "B L"})
AXES = ("examples", "latent dimensions")
KL = Quantity("the KL", AXES, why_sign="A KL divergence is never negative: the sign of "
              "-1/2 sum(1 + logvar - mu^2 - sigma^2) got lost.",
              terms=(Term("mu^2 / 2", lambda e: e.mu**2 / 2),
                     Term("sigma^2 / 2", lambda e: e.var / 2),
                     Term("-1/2", lambda e: np.full_like(e.mu, -0.5)),
                     Term("-logvar / 2", lambda e: -e.logvar / 2)),
              formula_text="KL = 1/2 (mu^2 + sigma^2 - 1 - logvar), sigma^2 = exp(logvar)")
DMU = Quantity("dmu", AXES, why_sign="The gradient points the way the KL grows: +mu (descent "
               "subtracts it later).")
DLOGVAR = Quantity("dlogvar", AXES, why_sign="The KL grows with sigma^2 above 1: dKL/dlogvar is "
                   "positive there.",
                   terms=(Term("sigma^2 / 2", lambda e: e.var / 2),
                          Term("-1/2", lambda e: np.full_like(e.mu, -0.5))),
                   formula_text="dKL/dlogvar = (sigma^2 - 1) / 2, sigma^2 = exp(logvar)")
FAR_FROM_0 = ("Clipping logvar, or adding a small number to sigma or sigma^2, changes the KL "
              "where logvar is far from 0: compute it from logvar as the formula does.")
HALF_CANCELS = "d(mu^2)/dmu = 2 mu, and the 1/2 in front of the KL cancels the 2: dKL/dmu = mu."

MISTAKES = [
    Mistake("the KL", lambda e: 0.5 * (e.mu**2 + e.sigma - 1 - e.logvar),
            "sigma^2, the variance, is exp(logvar); exp(logvar / 2) is the standard deviation "
            "sigma.", "uses the standard deviation exp(logvar / 2) where the KL has the "
            "variance exp(logvar)"),
    Mistake("the KL", lambda e: 0.5 * (e.mu**2 + e.var**2 - 1 - e.logvar),
            "exp(logvar) is sigma^2 already; squaring it gives sigma^4.",
            "uses exp(logvar)^2 = sigma^4 where the KL has sigma^2"),
    Mistake("the KL", lambda e: e.mu**2 + e.var - 1 - e.logvar,
            "The 1/2 in front of (mu^2 + sigma^2 - 1 - logvar) is missing."),
    Mistake("the KL", lambda e: 0.5 * (e.mu**2 + e.var - e.logvar),
            "The -1 is missing: at mu = 0, logvar = 0 q is the prior and the KL must be 0."),
    Mistake("the KL", lambda e: 0.5 * (e.mu**2 + e.var - 1 + e.logvar),
            "The logvar term has the wrong sign: E_q[log q(z)] = -1/2 (log 2 pi + logvar + 1), so "
            "the KL has -logvar / 2, which grows as sigma shrinks.", "has +logvar where the KL "
            "has -logvar"),
    Mistake("the KL", lambda e: 0.5 * (e.mu + e.var - 1 - e.logvar),
            "The mean enters squared: E[z^2] = mu^2 + sigma^2.", "has mu where the KL has mu^2"),
    Mistake("dmu", lambda e: 2 * e.mu, HALF_CANCELS),
    Mistake("dmu", lambda e: e.mu / 2, HALF_CANCELS),
    Mistake("dlogvar", lambda e: e.var - 1,
            "The 1/2 in front of the KL stays in the derivative: (sigma^2 - 1) / 2."),
    Mistake("dlogvar", lambda e: (e.sigma - 1) / 2,
            "d(sigma^2)/dlogvar = d exp(logvar)/dlogvar = exp(logvar), the variance; "
            "exp(logvar / 2) is the standard deviation.", "uses the standard deviation "
            "exp(logvar / 2) where the derivative has the variance exp(logvar)"),
    Mistake("dlogvar", lambda e: e.var / 2,
            "The -logvar term is missing from the derivative: it gives -1/2, so dKL/dlogvar = "
            "(sigma^2 - 1) / 2."),
    Mistake("dlogvar", lambda e: e.sigma - 1 / e.sigma,
            "That is dKL/dsigma; the chain rule multiplies it by dsigma/dlogvar = sigma / 2.",
            "is the derivative with respect to sigma, sigma - 1/sigma, not logvar"),
    Mistake("dlogvar", lambda e: (1 - 1 / e.var) / 2,
            "That is dKL/d(sigma^2); the chain rule multiplies it by d(sigma^2)/dlogvar = "
            "sigma^2.", "is the derivative with respect to sigma^2, (1 - 1/sigma^2) / 2, not "
            "logvar"),
]


def batches():
    """(mu, logvar), (B, L), drawn the same way each time, then the teacher's cases."""
    rng = np.random.default_rng(1)
    ordinary = [Batch({"mu": rng.normal(0, 1.5, shape), "logvar": rng.normal(0, 1.5, shape)},
                      label)
                for shape, label in [((4, 3), ""), ((1, 5), "for a batch of one example"),
                                     ((3, 1), "for one latent dimension")]]
    far = np.array([[-800.0, -40, -15, 12], [20, 40, 300, -3]])
    extreme = Batch({"mu": rng.normal(0, 1.5, far.shape), "logvar": far},
                    "for logvar from -800 to 300",
                    "exp(logvar) underflows to 0 below about -745, where its log is -inf, and "
                    "overflows above 709 (above 88 in float32): use logvar itself where the "
                    "formula has log sigma^2, in float64.", FAR_FROM_0,
                    gradcheck=False)
    return [*ordinary, extreme, *(Batch(inputs, label, why_wrong=why, gradcheck=False)
                                  for label, why, inputs in teacher_cases("kl", CASE))]


def namespace(batch):
    mu, logvar = batch.inputs["mu"], batch.inputs["logvar"]
    return types.SimpleNamespace(mu=mu, logvar=logvar, sigma=np.exp(logvar / 2), var=np.exp(logvar))


def minivae_gradient(mu, logvar):
    """dKL/dmu and dKL/dlogvar from ops.gaussian_kl's backward pass."""
    mu_t, logvar_t = Tensor(mu, requires_grad=True), Tensor(logvar, requires_grad=True)
    ops.gaussian_kl(mu_t, logvar_t).sum().backward()
    return mu_t.grad, logvar_t.grad


def check_value(kl_closed_form, draws):
    name, later = kl_closed_form.name, RoundingLater()
    for batch in draws:
        mu, logvar = batch.inputs["mu"], batch.inputs["logvar"]
        got = unpack(name, call(kl_closed_form, mu, logvar), ["the KL"])
        with later:
            compare(name, [KL], got, [kl_terms(mu, np.exp(logvar), logvar)], MISTAKES,
                    namespace(batch), batch)
    later.finish()


def check_gradient(kl_gradient, draws):
    """Against minivae's backward pass, then by gradcheck as the backward of minivae's KL."""
    name, later = kl_gradient.name, RoundingLater()
    for batch in draws:
        mu, logvar = batch.inputs["mu"], batch.inputs["logvar"]
        got = unpack(name, call(kl_gradient, mu, logvar), ["dmu", "dlogvar"])
        with later:
            compare(name, [DMU, DLOGVAR], got, minivae_gradient(mu, logvar), MISTAKES,
                    namespace(batch), batch)
    later.finish()

    def forward(ctx, mu, logvar):
        ctx.save_for_backward(mu, logvar)
        return kl_terms(mu, np.exp(logvar), logvar).sum(axis=1)  # (B, L) -> (B,)

    def backward(ctx, g):
        dmu, dlogvar = unpack(name, call(kl_gradient, *ctx.saved), ["dmu", "dlogvar"])
        return g[:, None] * dmu, g[:, None] * dlogvar  # (B,) -> (B, 1): the chain rule

    op = with_backward("KLWithYourGradient", forward, backward)
    return gradcheck_all(name, op.apply, [[b.inputs["mu"], b.inputs["logvar"]]
                                          for b in draws if b.gradcheck])


@checked("kl", TEMPLATES)
def check_kl(kl_closed_form, kl_gradient):
    """Check kl_closed_form(mu, logvar) and kl_gradient(mu, logvar) -> (dmu, dlogvar)."""
    draws = batches()
    worst = both(kl_closed_form, check_value, kl_gradient, check_gradient, draws)
    return (f"{kl_closed_form.name} and {kl_gradient.name} agree with minivae's ops.gaussian_kl "
            f"and its backward pass on {len(draws)} batches", "gradcheck finds your gradient "
            f"equal to central differences of the KL (largest error {worst:.1e}).")


def both(value, check_value, gradient, check_gradient, draws):
    """Check a function and the one that gives its gradient, each whatever the other's verdict:
    gradcheck's largest error if both are right, else one Finding for the two (`combined`)."""
    findings, worst = {}, None
    try:
        check_value(value, draws)
    except Finding as finding:
        findings[value.name] = finding
    try:
        worst = check_gradient(gradient, draws)
    except Finding as finding:
        findings[gradient.name] = finding
    if findings:
        raise combined(findings, [value.name, gradient.name])
    return worst


def combined(findings, names):
    """One Finding for two functions: the first wrong one's, and how the other one stands."""
    if len(findings) == 2 and all(f.status == NOT_DONE for f in findings.values()):
        return Finding(NOT_DONE, f"{' and '.join(names)} still raise NotImplementedError",
                       findings[names[0]].why)
    shown = next(n for status in (FLAGGED, WRONG, NOT_DONE) for n in names
                 if n in findings and findings[n].status == status)
    other = next(n for n in names if n != shown)
    status = {None: RIGHT, NOT_DONE: "not done yet", WRONG: "wrong too", FLAGGED: "flagged too"}[
        findings[other].status if other in findings else None
    ]
    finding = findings[shown]
    asides = [*finding.asides, f"{other}: {status}"]
    return Finding(finding.status, finding.what, finding.why, asides)
