"""Exercise `iwae` (notebook 4): the importance-weighted bound L_k (Burda et al., 2016).

The learner writes iwae_bound(log_px_z, log_pz, log_qz) -> (B,), from the log-densities of k
samples z_i ~ q(z|x) for each of B examples, each array (k, B):

    log w_i = log p(x|z_i) + log p(z_i) - log q(z_i|x)
    L_k = log (1/k) sum_i w_i = max_i log w_i + log (1/k) sum_i exp(log w_i - max_i log w_i)

The check compares it with minivae's `ops.logsumexp` over the samples less log k, as
`VAE.log_likelihood` computes it, on two ordinary batches, then on log weights near -1500 (where
exp underflows to 0) and near +1000 (where it overflows to inf).
"""

import math
import types

import numpy as np

from minivae import ops
from minivae.course.compare import Batch, Mistake, Quantity, compare
from minivae.course.verdict import call, checked, unpack
from minivae.engine.tensor import Tensor

NAME = "iwae_bound"
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
    """(log_px_z, log_pz, log_qz), (k, B): moderate log weights, then ones that break exp."""
    rng = np.random.default_rng(6)
    draws = []
    for (k, b), centre, label, why in [
        ((5, 3), -100.0, "", ""),
        ((8, 4), -30.0, "", ""),
        ((6, 3), -1500.0, "for log weights near -1500", f"exp(log w) underflows to 0 below "
         f"about -745, and log(0) = -inf: {TRICK} (the log-sum-exp trick)."),
        ((4, 5), 1000.0, "for log weights near +1000", f"exp(log w) overflows to inf above "
         f"about 709: {TRICK} (the log-sum-exp trick)."),
    ]:
        inputs = {"log_px_z": centre + 4 * rng.normal(size=(k, b)),
                  "log_pz": -3 + rng.normal(size=(k, b)), "log_qz": -2 + rng.normal(size=(k, b))}
        right_only_here = f"Right for moderate log weights only: {TRICK}." if label else ""
        draws.append(Batch(inputs, label, why, right_only_here))
    return draws


@checked("iwae")
def check_iwae_bound(iwae_bound):
    """Check iwae_bound(log_px_z, log_pz, log_qz) -> L_k per example, (B,)."""
    for batch in batches():
        args = [batch.inputs[k] for k in ("log_px_z", "log_pz", "log_qz")]
        k, b = args[0].shape
        quantity = Quantity("L_k", ("examples",), misplaced=[(
            (k,), "That reduced over axis 1, the examples: the k samples of an example are "
            "axis 0, one column per example.")])
        log_w = args[0] + args[1] - args[2]  # (k, B)
        got = unpack(NAME, call(NAME, iwae_bound, *args), [quantity.name])
        e = types.SimpleNamespace(**batch.inputs, log_w=log_w)
        compare(NAME, [quantity], got, [log_mean_exp(log_w)], MISTAKES, e, batch)
    return (f"{NAME} agrees with minivae's log-sum-exp over the samples, less log k, on 4 "
            "batches", "It stays finite for log weights near -1500 and near +1000, where "
            "exp(log w) underflows and overflows.")
