"""Exercise `kl` (notebook 1): the closed-form KL to the prior, and its gradient.

The learner writes two NumPy functions of mu and logvar (both (B, L)), elementwise:

    kl_closed_form(mu, logvar) = 1/2 (mu^2 + sigma^2 - 1 - logvar),     sigma^2 = exp(logvar)
    kl_gradient(mu, logvar) = (dKL/dmu, dKL/dlogvar) = (mu, (sigma^2 - 1) / 2)

The check compares them with minivae's `kl_terms` (what `ops.gaussian_kl` sums over each row) and
with the gradient `ops.gaussian_kl`'s backward pass computes, on three random batches; then it
plugs kl_gradient into a Function as the backward of minivae's KL and runs `minivae.gradcheck`.
"""

import types

import numpy as np

from minivae import ops
from minivae.course.compare import Batch, Mistake, Quantity, compare
from minivae.course.plugged import gradcheck_all, with_backward
from minivae.course.verdict import NOT_DONE, RIGHT, WRONG, Finding, call, checked, unpack
from minivae.engine.tensor import Tensor
from minivae.ops.vae import kl_terms

AXES = ("examples", "latent dimensions")
KL = Quantity("the KL", AXES, why_sign="A KL divergence is never negative: the sign of "
              "-1/2 sum(1 + logvar - mu^2 - sigma^2) got lost.")
DMU = Quantity("dmu", AXES, why_sign="The gradient points the way the KL grows: +mu (descent "
               "subtracts it later).")
DLOGVAR = Quantity("dlogvar", AXES, why_sign="The KL grows with sigma^2 above 1: dKL/dlogvar is "
                   "positive there.")
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
    """Three batches of (mu, logvar), (B, L), drawn the same way each time."""
    rng = np.random.default_rng(1)
    return [Batch({"mu": rng.normal(0, 1.5, shape), "logvar": rng.normal(0, 1.5, shape)})
            for shape in [(4, 3), (3, 5), (2, 6)]]


def namespace(batch):
    mu, logvar = batch.inputs["mu"], batch.inputs["logvar"]
    return types.SimpleNamespace(mu=mu, logvar=logvar, sigma=np.exp(logvar / 2), var=np.exp(logvar))


def minivae_gradient(mu, logvar):
    """dKL/dmu and dKL/dlogvar from ops.gaussian_kl's backward pass."""
    mu_t, logvar_t = Tensor(mu, requires_grad=True), Tensor(logvar, requires_grad=True)
    ops.gaussian_kl(mu_t, logvar_t).sum().backward()
    return mu_t.grad, logvar_t.grad


def check_value(kl_closed_form, name):
    for batch in batches():
        mu, logvar = batch.inputs["mu"], batch.inputs["logvar"]
        got = unpack(name, call(name, kl_closed_form, mu, logvar), ["the KL"])
        expected = [kl_terms(mu, np.exp(logvar), logvar)]
        compare(name, [KL], got, expected, MISTAKES, namespace(batch), batch)


def check_gradient(kl_gradient, name):
    """Against minivae's backward pass, then by gradcheck as the backward of minivae's KL."""
    for batch in batches():
        mu, logvar = batch.inputs["mu"], batch.inputs["logvar"]
        got = unpack(name, call(name, kl_gradient, mu, logvar), ["dmu", "dlogvar"])
        compare(name, [DMU, DLOGVAR], got, minivae_gradient(mu, logvar), MISTAKES,
                namespace(batch), batch)

    def forward(ctx, mu, logvar):
        ctx.save_for_backward(mu, logvar)
        return kl_terms(mu, np.exp(logvar), logvar).sum(axis=1)  # (B, L) -> (B,)

    def backward(ctx, g):
        dmu, dlogvar = unpack(name, call(name, kl_gradient, *ctx.saved), ["dmu", "dlogvar"])
        return g[:, None] * dmu, g[:, None] * dlogvar  # (B,) -> (B, 1): the chain rule

    op = with_backward("KLWithYourGradient", forward, backward)
    draws = [[b.inputs["mu"], b.inputs["logvar"]] for b in batches()]
    return gradcheck_all(name, op.apply, draws)


@checked("kl")
def check_kl(kl_closed_form, kl_gradient):
    """Check kl_closed_form(mu, logvar) and kl_gradient(mu, logvar) -> (dmu, dlogvar)."""
    value_name, gradient_name = "kl_closed_form", "kl_gradient"
    findings, worst = {}, None
    try:
        check_value(kl_closed_form, value_name)
    except Finding as finding:
        findings[value_name] = finding
    try:
        worst = check_gradient(kl_gradient, gradient_name)
    except Finding as finding:
        findings[gradient_name] = finding
    if not findings:
        return (f"{value_name} and {gradient_name} agree with minivae's ops.gaussian_kl and its "
                "backward pass on 3 random batches", "gradcheck finds your gradient equal to "
                f"central differences of the KL (largest error {worst:.1e}).")
    raise combined(findings, [value_name, gradient_name])


def combined(findings, names):
    """One Finding for two functions: the first wrong one's, and how the other one stands."""
    if len(findings) == 2 and all(f.status == NOT_DONE for f in findings.values()):
        return Finding(NOT_DONE, f"{' and '.join(names)} still raise NotImplementedError",
                       findings[names[0]].why)
    shown = next((n for n in names if n in findings and findings[n].status == WRONG), None)
    shown = shown or next(n for n in names if n in findings)
    other = next(n for n in names if n != shown)
    status = {None: RIGHT, NOT_DONE: "not done yet", WRONG: "wrong too"}[
        findings[other].status if other in findings else None
    ]
    finding = findings[shown]
    asides = [*finding.asides, f"{other}: {status}"]
    return Finding(finding.status, finding.what, finding.why, asides)
