"""Exercise `free_bits` (notebook 8): the free-bits KL of each example, and its backward pass.

The learner writes two NumPy functions of mu and logvar, both (B, L), and a floor lambda >= 0 in
nats (docs/math.md, "A floor on each unit's KL: free bits"):

    KL_bj = 1/2 (mu_bj^2 + sigma_bj^2 - 1 - logvar_bj),   KLbar_j = 1/B sum_b KL_bj
    m_j = 1[KLbar_j > lambda]                                 (L,): the units above the floor
    free_bits_kl(mu, logvar, floor) = kl_b = sum_j (KL_bj if m_j else lambda)           (B,)
    free_bits_backward(g, mu, logvar, floor) = (g_b m_j mu_bj, g_b m_j (sigma_bj^2 - 1) / 2)

with g = dL/dkl (B,), the gradient arriving from each example's kl_b. The batch mean of kl_b is
sum_j max(lambda, KLbar_j), the objective's KL term with free bits.

The check compares both with minivae's `ops.free_bits_kl` and its backward pass on four batches,
each with its floor at least 0.05 nats from every unit's KLbar_j (at the floor the derivative
jumps, and a finite difference across it means nothing): an ordinary one, a batch of one
example, one latent unit, and a floor above every unit; then on the teacher's cases
(`minivae.course.cases`). The ordinary batch is made so that each mistake shows there: its units
lie on both sides of the floor, two of them between lambda ln 2 and lambda / ln 2 (so that a
floor read in bits moves one across), and two of its examples lie near the prior, one with a
total KL under lambda and one under L lambda (so that a floor on each example's total shows).
It plugs free_bits_backward into a Function as the backward of minivae's free-bits KL and runs
`minivae.gradcheck` on the first four batches.
"""

import math
import types

import numpy as np

from minivae import ops
from minivae.course.cases import Case, teacher_cases
from minivae.course.compare import Batch, Mistake, Quantity, RoundingLater, compare
from minivae.course.plugged import gradcheck_all, with_backward
from minivae.course.verdict import Template, both, call, checked, unpack
from minivae.engine.tensor import Tensor
from minivae.ops.vae import kl_terms

TEMPLATES = (Template("free_bits_kl", ("mu", "logvar", "floor")),
             Template("free_bits_backward", ("g", "mu", "logvar", "floor")))
LN2 = math.log(2)
KINK = 1e-6  # nats: a teacher's floor this close to a unit's KLbar_j is refused


def near_the_floor(inputs):
    """What is wrong with a teacher's floor: negative, or at a unit's KLbar_j; else ""."""
    mu, logvar, floor = inputs["mu"], inputs["logvar"], inputs["floor"]
    if floor < 0:
        return f"floor is {floor}: a floor on a KL is at least 0 nats"
    means = kl_terms(mu, np.exp(logvar), logvar).mean(axis=0)  # (L,)
    if np.any(np.abs(means - floor) < KINK):
        return (f"floor {floor} is a unit's mean KL over the batch, where the derivative jumps: "
                "move it away from every unit's mean KL")
    return ""


CASE = Case({"mu": "B L", "logvar": "B L", "g": "B"}, ("floor",),
            optional={"g": lambda inputs: np.linspace(-1.0, 2.0, len(inputs["mu"]))},
            check=near_the_floor)
AXES = ("examples", "latent units")
GRAD_MU = Quantity("grad_mu", AXES)
GRAD_LOGVAR = Quantity("grad_logvar", AXES)

PER_EXAMPLE = ("Free bits floor each unit's KL averaged over the batch, KLbar_j: a unit is free "
               "while the batch as a whole sends it fewer than lambda nats, whatever one example "
               "does. A floor on each KL_bj lets every example keep lambda nats in every unit, "
               "and the objective's batch mean is then no longer sum_j max(lambda, KLbar_j).")
AXIS = ("m_j belongs to a latent unit: the mean of KL_bj over the examples, axis 0, one value "
        "per unit, (L,). The mean over axis 1 is each example's average over the units.")
SUM_FIRST = ("The floor is per latent unit: sum_j max(lambda, KLbar_j), L floors of lambda nats, "
             "so that each unit keeps its own. A floor on the total KL lets one unit spend all of "
             "it while the others collapse, which is what free bits are there to stop.")
BITS = ("minivae's KL is in nats (natural logs), and so is its floor: compare KLbar_j with "
        "lambda as it is. \"Free bits\" is only a name: the floor is in the KL's own unit, and a "
        "factor ln 2 moves it.")
NO_MASK = ("Below the floor the term is the constant lambda, whose derivative is 0: multiply by "
           "m_j = 1[KLbar_j > lambda], so that a unit below the floor sends no gradient back.")
AXIS_ERROR = ("Follow the shapes: KL_bj is (B, L); m_j, its mean over the examples (axis 0) "
              "compared with the floor, is (L,), and broadcasts along the rows; g is (B,), so "
              "g[:, None] is (B, 1), which broadcasts along the columns.")
WRONG_MASKS = [  # (inputs, floor -> a wrong m, broadcastable to (B, L); its floor / lambda;
    #               what it is; why it is wrong)
    (lambda e, floor: e.terms > floor, 1.0, "floors each example's KL_bj, element by element, "
     "where the floor is on each unit's batch mean KLbar_j", PER_EXAMPLE),
    (lambda e, floor: e.terms.mean(axis=1, keepdims=True) > floor, 1.0,
     "compares each example's mean over the units (axis 1) with the floor, where m_j compares "
     "each unit's mean over the examples (axis 0)", AXIS),
    (lambda e, floor: e.terms.sum(axis=1, keepdims=True) > floor, 1.0,
     "compares each example's total KL, sum_j KL_bj, with the floor, where each unit's KLbar_j "
     "is compared", SUM_FIRST),
    (lambda e, floor: e.means > floor, LN2, "uses the floor lambda ln 2 (lambda read as bits, "
     "turned into nats) where lambda nats belongs", BITS),
    (lambda e, floor: e.means > floor, 1 / LN2, "uses the floor lambda / ln 2 where lambda nats "
     "belongs", BITS),
]


def masked_kl(e, mask, fill):
    """sum_j of KL_bj where `mask`, else `fill`: (B,)."""
    return np.where(mask, e.terms, fill).sum(axis=1)


def gradients(e, mask, g=None):
    """(dL/dmu, dL/dlogvar) with the gradient g (default e.g) let through where `mask`."""
    passed = (e.g if g is None else g)[:, None] * mask  # (B,) -> (B, L)
    return passed * e.mu, passed * (e.var - 1) / 2


def mask_mistakes():
    """Each wrong mask, with its floor, in the value and in both gradients."""
    found = []
    for mask, factor, what, why in WRONG_MASKS:
        found.append(Mistake("kl", lambda e, mask=mask, factor=factor: masked_kl(
            e, mask(e, factor * e.floor), factor * e.floor), why, what))
        for i, quantity in enumerate(("grad_mu", "grad_logvar")):
            found.append(Mistake(quantity, lambda e, mask=mask, factor=factor, i=i: gradients(
                e, mask(e, factor * e.floor))[i], why, what))
    return found


def gradient_mistakes(wrong, what, why):
    """The two gradients of `wrong` (inputs -> (dL/dmu, dL/dlogvar)), each as a Mistake."""
    return [Mistake(quantity, lambda e, i=i: wrong(e)[i], why, what)
            for i, quantity in enumerate(("grad_mu", "grad_logvar"))]


MISTAKES = [
    *mask_mistakes(),
    Mistake("kl", lambda e: np.where(e.means / LN2 > e.floor, e.terms / LN2, e.floor).sum(axis=1),
            BITS, "is in bits: each KL_bj divided by ln 2, where minivae's KL and its floor are "
            "in nats"),
    Mistake("kl", lambda e: np.maximum(e.floor, e.terms.sum(axis=1)), SUM_FIRST,
            "is max(lambda, sum_j KL_bj): one floor on each example's total KL, where each unit "
            "has its own"),
    Mistake("kl", lambda e: masked_kl(e, e.above, 0.0),
            "Below the floor a unit costs lambda, a constant: it sends back no gradient, but it "
            "stays in the objective, whose batch mean is sum_j max(lambda, KLbar_j).",
            "counts 0 for a unit below the floor, where it counts lambda"),
    Mistake("kl", lambda e: masked_kl(e, True, 0.0),
            "Units below the floor count lambda, not their own KL: sum_j (KL_bj if KLbar_j > "
            "lambda else lambda).", "is the plain KL, without the floor"),
    Mistake("kl", lambda e: np.maximum(e.floor, e.means).sum(),
            "That is the batch's objective, sum_j max(lambda, KLbar_j). The op returns each "
            "example's share kl_b, (B,), whose mean over the batch is that number: the loss "
            "averages over the batch afterwards, and the gradient reaches each example through "
            "its own kl_b.", when=lambda e: len(e.mu) > 1),  # for one example it is kl_b
    *gradient_mistakes(lambda e: gradients(e, True), "is the plain KL's gradient, not masked "
                       "below the floor", NO_MASK),
    *gradient_mistakes(lambda e: gradients(e, ~e.above),
                       "lets the gradient through from the units below the floor, and stops it "
                       "from those above", "m_j = 1 for a unit above the floor, "
                       "KLbar_j > lambda: those units' KL is in the objective, and theirs is "
                       "the gradient."),
    *gradient_mistakes(lambda e: gradients(e, e.above, np.ones_like(e.g)),
                       "is the gradient without g", "g, the gradient arriving from each "
                       "example's kl_b, is missing: the chain rule multiplies by g_b."),
    *gradient_mistakes(lambda e: [a / len(e.mu) for a in gradients(e, e.above)],
                       "is the right gradient divided by B, the batch size",
                       "free_bits_kl returns each example's kl_b, and its gradient is "
                       "g_b m_j mu_bj: the 1/B of the batch mean is the loss's, and it arrives "
                       "in g."),
]


def drawn(rng, shape, means, quiet=()):
    """(mu, logvar), (B, L), with each unit's KLbar_j equal to means[j]: the first rows are
    examples near the prior (their mu and logvar scaled by `quiet`), and each unit's column of
    mu below them is scaled to make up its mean."""
    mu, logvar = rng.normal(size=shape), rng.uniform(-0.6, 0.4, shape)
    for b, scale in enumerate(quiet):
        mu[b], logvar[b] = scale * mu[b], scale * logvar[b]
    near, rest = slice(0, len(quiet)), slice(len(quiet), None)
    given = (kl_terms(mu[near], np.exp(logvar[near]), logvar[near]).sum(axis=0)
             + kl_terms(0.0, np.exp(logvar[rest]), logvar[rest]).sum(axis=0))  # (L,)
    mu[rest] *= np.sqrt(2 * (shape[0] * np.asarray(means) - given) / (mu[rest] ** 2).sum(axis=0))
    return mu, logvar


def batches():
    """(mu, logvar, g, floor), each floor at least 0.05 nats from every KLbar_j (the first
    batch as the module's docstring says); then the teacher's cases."""
    rng = np.random.default_rng(8)
    draws = []
    for shape, means, floor, quiet, label in [
        ((6, 4), [0.15, 0.25, 0.45, 1.3], 0.35, (0.1, 0.4), ""),
        ((1, 5), [0.2, 0.6, 1.4, 0.9, 2.0], 1.1, (), "for a batch of one example"),
        ((5, 1), [0.9], 0.5, (), "for one latent unit"),
        ((4, 3), [0.4, 0.7, 1.1], 1.5, (), "for a floor above every unit's KL"),
    ]:
        mu, logvar = drawn(rng, shape, means, quiet)
        draws.append(Batch({"mu": mu, "logvar": logvar, "g": rng.normal(size=shape[0]),
                            "floor": floor}, label))
    return draws + [Batch(inputs, label, why_wrong=why, gradcheck=False)
                    for label, why, inputs in teacher_cases("free_bits", CASE)]


def namespace(batch):
    e = types.SimpleNamespace(**batch.inputs, var=np.exp(batch.inputs["logvar"]))
    e.terms = kl_terms(e.mu, e.var, e.logvar)  # (B, L): KL_bj
    e.means = e.terms.mean(axis=0)  # (L,): KLbar_j
    e.above = e.means > e.floor  # (L,): m_j
    return e


def minivae_free_bits(g, mu, logvar, floor):
    """kl (B,) from ops.free_bits_kl, and dL/dmu, dL/dlogvar from its backward pass given g."""
    mu_t, logvar_t = Tensor(mu, requires_grad=True), Tensor(logvar, requires_grad=True)
    kl = ops.free_bits_kl(mu_t, logvar_t, floor)
    kl.backward(g)
    return kl.data, mu_t.grad, logvar_t.grad


def value_quantity(units):
    return Quantity("kl", ("examples",), (("latent units", units),),
                    why_sign="A KL and its floor are never negative: kl_b >= 0.",
                    misplaced=(((units,), "That is one number per latent unit; the op returns "
                                "one per example, kl_b = sum_j (KL_bj if KLbar_j > lambda else "
                                "lambda), (B,)."),))


def check_value(free_bits_kl, draws):
    name, later = free_bits_kl.name, RoundingLater()
    for batch in draws:
        e = namespace(batch)
        got = unpack(name, call(free_bits_kl, e.mu, e.logvar, e.floor, why_error=AXIS_ERROR),
                     ["kl"])
        with later:
            compare(name, [value_quantity(e.mu.shape[1])], got,
                    [minivae_free_bits(e.g, e.mu, e.logvar, e.floor)[0]], MISTAKES, e, batch)
    later.finish()


def check_gradient(free_bits_backward, draws):
    """Against minivae's backward pass, then by gradcheck as the backward of minivae's op."""
    name, later = free_bits_backward.name, RoundingLater()
    names = ["grad_mu", "grad_logvar"]
    for batch in draws:
        e = namespace(batch)
        got = unpack(name, call(free_bits_backward, e.g, e.mu, e.logvar, e.floor,
                                why_error=AXIS_ERROR), names)
        with later:
            compare(name, [GRAD_MU, GRAD_LOGVAR], got,
                    minivae_free_bits(e.g, e.mu, e.logvar, e.floor)[1:], MISTAKES, e, batch)
    later.finish()

    def forward(ctx, mu, logvar, floor):
        ctx.save_for_backward(mu, logvar, floor)
        return ops.free_bits_kl(Tensor(mu), Tensor(logvar), floor).data  # minivae's, (B,)

    def backward(ctx, g):
        return tuple(unpack(name, call(free_bits_backward, g, *ctx.saved), names))

    op = with_backward("FreeBitsKLWithYourBackward", forward, backward)
    worst = 0.0
    for batch in (b for b in draws if b.gradcheck):  # the floor is a setting, not an input
        floor = batch.inputs["floor"]
        worst = max(worst, gradcheck_all(name, lambda mu, logvar, floor=floor: op.apply(
            mu, logvar, floor=floor), [[batch.inputs["mu"], batch.inputs["logvar"]]]))
    return worst


@checked("free_bits", TEMPLATES)
def check_free_bits(free_bits_kl, free_bits_backward):
    """Check free_bits_kl(mu, logvar, floor) -> kl (B,) and free_bits_backward(g, mu, logvar,
    floor) -> (grad_mu, grad_logvar)."""
    draws = batches()
    _, worst = both(free_bits_kl, lambda: check_value(free_bits_kl, draws),
                    free_bits_backward, lambda: check_gradient(free_bits_backward, draws))
    return (f"{free_bits_kl.name} and {free_bits_backward.name} agree with minivae's "
            f"ops.free_bits_kl and its backward pass on {len(draws)} batches", "gradcheck finds "
            f"your gradients equal to central differences of the free-bits KL (largest error "
            f"{worst:.1e}).")
