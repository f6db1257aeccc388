"""Exercise `iwae` (notebook 5): the importance-weighted bound L_k (Burda et al., 2016).

The learner writes iwae_bound(log_px_z, log_pz, log_qz) -> (B,), from the log-densities of k
samples z_i ~ q(z|x) for each of B examples, each array (k, B):

    log w_i = log p(x|z_i) + log p(z_i) - log q(z_i|x)
    L_k = log (1/k) sum_i w_i = max_i log w_i + log (1/k) sum_i exp(log w_i - max_i log w_i)

The check compares it with minivae's `ops.logsumexp` over the samples less log k, as
`VAE.log_likelihood` computes it, on two ordinary batches, k = 1 sample, a batch of one example,
log weights near -1500 (where exp underflows to 0) and near +1000 (where it overflows to inf),
and examples whose log weights lie far apart in one batch (so that one shift for the whole
batch, by its largest log weight or its mean, underflows or overflows); then on the teacher's
cases (`minivae.course.cases`).
"""

import dataclasses
import math
import types

import numpy as np

from minivae import ops
from minivae.course.cases import Case, teacher_cases
from minivae.course.compare import Batch, Mistake, Quantity, RoundingLater, Term, compare
from minivae.course.verdict import Template, call, checked, unpack
from minivae.engine.tensor import Tensor

TEMPLATES = (Template("iwae_bound", ("log_px_z", "log_pz", "log_qz")),)
CASE = Case({"log_px_z": "K B", "log_pz": "K B", "log_qz": "K B"})
TERMS = (Term("log p(x|z_i)", lambda e: e.log_px_z), Term("log p(z_i)", lambda e: e.log_pz),
         Term("-log q(z_i|x)", lambda e: -e.log_qz))
TRICK = "subtract the largest log w first: max + log mean exp(log w - max)"


def log_mean_exp(log_w):
    """minivae's log (1/k) sum_i exp(log_w_i) over axis 0: (k, B) -> (B,)."""
    return ops.logsumexp(Tensor(log_w), axis=0).data - math.log(len(log_w))


MISTAKES = [
    Mistake("L_k", lambda e: e.log_w.mean(axis=0),
            "That is the mean of log w_i, the ELBO estimated from k samples; the IWAE bound is "
            "the log of the mean of the w_i (log mean >= mean log, by Jensen).",
            "is the mean of the log weights (the ELBO), not the log of their mean"),
    Mistake("L_k", lambda e: log_mean_exp(e.log_w) + math.log(len(e.log_w)),
            "That is the log of the sum of the w_i; the bound is the log of their mean: "
            "subtract log k."),
    Mistake("L_k", lambda e: (log_mean_exp(e.log_w) + math.log(len(e.log_w))) / len(e.log_w),
            "The 1/k belongs inside the log: log((1/k) sum w_i) = log sum w_i - log k.",
            "is the log of the sum divided by k"),
    Mistake("L_k", lambda e: log_mean_exp(e.log_w - e.log_w.max(axis=0)),
            "After subtracting the max inside the exp, add it back outside: "
            "max + log mean exp(log w - max).", "lacks the max that was subtracted inside"),
    Mistake("L_k", lambda e: e.log_w.max(axis=0),
            "The largest log w alone is not the log of the mean: add log mean exp(log w - max).",
            "is the largest log weight alone"),
    Mistake("L_k", lambda e: log_mean_exp(e.log_px_z + e.log_pz + e.log_qz),
            "w = p(x|z) p(z) / q(z|x): log q(z|x) is subtracted, not added.",
            "adds log q(z|x) where it is subtracted"),
    Mistake("L_k", lambda e: log_mean_exp(e.log_px_z - e.log_qz),
            "The prior's log p(z_i) is part of log w_i = log p(x|z_i) + log p(z_i) - "
            "log q(z_i|x).", "leaves out log p(z)"),
]


def batches():
    """(log_px_z, log_pz, log_qz), (k, B): moderate log weights, one sample, one example, then
    ones that break exp, alone and side by side; then the teacher's cases."""
    rng = np.random.default_rng(6)
    one_shift = ("exp(log w - c) underflows or overflows when c is one number for the whole "
                 "batch (its largest log w, its mean): take the largest log w of each example, "
                 "over the samples, log_w.max(axis=0).")
    moderate_only = f"Right for moderate log weights only: {TRICK}."
    draws = []
    for (k, b), centre, label, why_nonfinite, why_wrong in [
        ((5, 3), -100.0, "", "", ""),
        ((8, 4), -30.0, "", "", ""),
        ((1, 4), -60.0, "for k = 1 sample", "", ""),
        ((6, 1), -80.0, "for a batch of one example", "", ""),
        ((6, 3), -1500.0, "for log weights near -1500", f"exp(log w) underflows to 0 below "
         f"about -745, and log(0) = -inf: {TRICK} (the log-sum-exp trick).", moderate_only),
        ((4, 5), 1000.0, "for log weights near +1000", f"exp(log w) overflows to inf above "
         f"about 709: {TRICK} (the log-sum-exp trick).", moderate_only),
        ((5, 4), np.array([-1500.0, -100, 0, 900]), "for examples whose log weights lie from "
         "-1500 to +900 in one batch", one_shift, one_shift),
    ]:
        inputs = {"log_px_z": centre + 4 * rng.normal(size=(k, b)),
                  "log_pz": -3 + rng.normal(size=(k, b)), "log_qz": -2 + rng.normal(size=(k, b))}
        draws.append(Batch(inputs, label, why_nonfinite, why_wrong))
    return draws + [Batch(inputs, label, why_wrong=why)
                    for label, why, inputs in teacher_cases("iwae", CASE)]


@checked("iwae", TEMPLATES)
def check_iwae_bound(iwae_bound):
    """Check iwae_bound(log_px_z, log_pz, log_qz) -> L_k per example, (B,)."""
    name, draws, later = iwae_bound.name, batches(), RoundingLater()
    for batch in draws:
        args = [batch.inputs[k] for k in ("log_px_z", "log_pz", "log_qz")]
        k, b = args[0].shape
        quantity = Quantity("L_k", ("examples",), misplaced=[(
            (k,), "That reduced over axis 1, the examples: the k samples of an example are "
            "axis 0, one column per example.")], terms=TERMS,
            formula=lambda e, v: log_mean_exp(sum(v.values())),
            formula_text="L_k = log (1/k) sum_i w_i, log w_i = log p(x|z_i) + log p(z_i) - "
            "log q(z_i|x)")
        log_w = args[0] + args[1] - args[2]  # (k, B)
        got = unpack(name, call(iwae_bound, *args), [quantity.name])
        e = types.SimpleNamespace(**batch.inputs, log_w=log_w)
        constants = (("log k", math.log(k)), ("k", float(k)))
        with later:
            compare(name, [quantity], got, [log_mean_exp(log_w)], MISTAKES, e,
                    dataclasses.replace(batch, constants=constants))
    later.finish()
    return (f"{name} agrees with minivae's log-sum-exp over the samples, less log k, on "
            f"{len(draws)} batches", "It stays finite for log weights near -1500 and near "
            "+1000, where exp(log w) underflows and overflows, and for examples far apart.")
