"""Exercise `posterior` (notebook 2): p(x) and p(z|x) of a 1-D latent model, on a grid.

The learner writes two NumPy functions for a model z ~ N(0, 1), x ~ N(mean(z), diag(sigma^2)),
on a grid z (G,) of evenly spaced points dz apart, with mean (G, D) the curve at each z_g:

    log_joint_on_grid(x, z, mean, sigma) -> (N, G)
        log p(x_n, z_g) = sum_d log N(x_nd; mean_gd, sigma_d^2) + log N(z_g; 0, 1)
    evidence_and_posterior(log_joint, z) -> (log p(x) (N,), p(z_g|x) (N, G))
        log p(x) = log sum_g p(x, z_g) dz        (a Riemann sum, in logs: logsumexp + log dz)
        p(z_g|x) = exp(log p(x, z_g) - log p(x)),   a density: sum_g p(z_g|x) dz = 1

The check compares them with `minivae.models.exact_posterior` (log_joint, log_evidence,
log_posterior), the second always given minivae's own log p(x, z), on two ordinary batches,
one example, one coordinate of x, x far from the curve (where p(x|z) underflows to 0 at every
grid point and only the logs are finite) and examples far apart in one batch (where one shift
for the whole batch underflows); then on the teacher's cases (`minivae.course.cases`).
"""

import math
import types

import numpy as np

from minivae.course.cases import Case, teacher_cases
from minivae.course.compare import Batch, Mistake, Quantity, RoundingLater, Term, compare
from minivae.course.verdict import Template, both, call, checked, unpack
from minivae.models import exact_posterior

TEMPLATES = (Template("log_joint_on_grid", ("x", "z", "mean", "sigma")),
             Template("evidence_and_posterior", ("log_joint", "z")))


def case_problem(inputs):
    """What is wrong with a teacher's case beyond its shapes, or ""."""
    if not np.all(inputs["sigma"] > 0):
        return "sigma holds a value that is not positive: it is a standard deviation"
    steps = np.diff(inputs["z"])
    if len(steps) == 0 or not (steps[0] > 0 and np.allclose(steps, steps[0], rtol=1e-6)):
        return "z must be a grid of at least two evenly spaced, increasing points"
    return ""


CASE = Case({"x": "N D", "z": "G", "mean": "G D", "sigma": "D"}, check=case_problem)
IN_LOGS = ("keep everything in logs: log sum_g e^(a_g) = a_max + log sum_g e^(a_g - a_max), "
           "a_max the largest a_g of each example's row")
JOINT_TERMS = (
    Term("-1/2 log 2 pi of each coordinate", lambda e: -0.5 * np.log(2 * np.pi) * e.d),
    Term("-log sigma", lambda e: -np.log(e.sigma).sum()),
    Term("-(x - mean)^2 / (2 sigma^2)", lambda e: -(e.sq / (2 * e.sigma**2)).sum(axis=2)),
    Term("log p(z)", lambda e: e.log_pz),
)
JOINT_FORMULA = ("log p(x, z_g) = sum_d -1/2 (log 2 pi + log sigma_d^2 + (x_d - mean_gd)^2 / "
                 "sigma_d^2) + log p(z_g), log p(z) = -1/2 (log 2 pi + z^2)")
VARIANCE = ("sigma is the noise's standard deviation: N(x; m, sigma^2) has the variance sigma^2 "
            "in both of its places, -1/2 (log 2 pi sigma^2 + (x - m)^2 / sigma^2).")
DENSITY = ("A density integrates to 1 over z: sum_g p(z_g|x) dz = 1. Divide p(x, z_g) by p(x), "
           "the sum times dz: p(z|x) = exp(log p(x, z) - log p(x)).")


def log_likelihood(e, variance):
    """sum_d log N(x_d; mean_d, variance_d) on the grid, (N, G), with `variance` as written."""
    return -0.5 * (np.log(2 * np.pi) + np.log(variance) + e.sq / variance).sum(axis=2)


def logsumexp_rows(a):
    top = a.max(axis=1, keepdims=True)
    return top[:, 0] + np.log(np.exp(a - top).sum(axis=1))


MISTAKES = [
    Mistake("log p(x, z)", lambda e: log_likelihood(e, e.sigma**2),
            "p(x) = int p(x|z) p(z) dz weighs each z by the prior: log p(x, z) = log p(x|z) + "
            "log p(z), with log p(z) = -1/2 (log 2 pi + z^2).",
            "leaves out the prior's log p(z): it is log p(x|z) alone"),
    Mistake("log p(x, z)", lambda e: log_likelihood(e, e.sigma**2) - e.z**2 / 2,
            "The prior is a normalized density too: log p(z) = -1/2 (log 2 pi + z^2).",
            "has the prior without its constant: -z^2 / 2 where log p(z) = -1/2 (log 2 pi + "
            "z^2)"),
    Mistake("log p(x, z)", lambda e: log_likelihood(e, e.sigma) + e.log_pz, VARIANCE,
            "uses sigma where the Gaussian has the variance sigma^2"),
    Mistake("log p(x, z)", lambda e: -0.5 * (np.log(2 * np.pi) + np.log(e.sigma**2)
                                             + e.sq / e.sigma).sum(axis=2) + e.log_pz,
            VARIANCE, "divides (x - mean)^2 by sigma where the Gaussian divides it by the "
            "variance sigma^2"),
    Mistake("log p(x)", lambda e: logsumexp_rows(e.log_joint),
            "The integral is a Riemann sum: each p(x, z_g) is multiplied by the width dz of its "
            "grid cell, so log p(x) = logsumexp_g log p(x, z_g) + log dz.",
            "lacks the grid spacing: it is off by exactly -log dz"),
    Mistake("log p(x)", lambda e: logsumexp_rows(e.log_joint) - np.log(e.g),
            "The grid is not a sample: p(x) is the integral, sum_g p(x, z_g) dz, not the mean "
            "of p(x, z_g) over the grid points.", "is the log of the mean of p(x, z_g) over the "
            "grid, not of their sum times dz"),
    Mistake("log p(x)", lambda e: (e.log_joint * e.dz).sum(axis=1),
            "The log of an integral is not the integral of the log: add up p(x, z_g) dz (in "
            "logs, with logsumexp), then it is the log of that sum.",
            "is the integral of log p(x, z), not the log of the integral of p(x, z)"),
    Mistake("p(z|x)", lambda e: np.exp(e.log_joint - logsumexp_rows(e.log_joint)[:, None]),
            DENSITY, "sums to 1 over the grid points: it is the probability of each grid cell, "
            "dz times the density"),
    Mistake("p(z|x)", lambda e: np.exp(e.log_joint),
            "Bayes' rule: p(z|x) = p(x, z) / p(x); divide by p(x), subtract log p(x) in logs.",
            "is p(x, z), the joint, not p(z|x)"),
    Mistake("p(z|x)", lambda e: e.log_posterior,
            "Return the density p(z|x) itself, exp(log p(x, z) - log p(x)), not its log.",
            "is log p(z|x), the log of the density"),
]


def curve(z):
    """The check's decoder: a curve through 2-D space that folds back, (G,) -> (G, 2)."""
    return np.stack([1.5 * np.tanh(z), np.sin(2 * z)], axis=1)


def batches():
    """(x, z, mean, sigma): ordinary ones, the edge cases, then the teacher's cases."""
    rng = np.random.default_rng(2)
    grid = np.linspace(-4, 4, 41)  # dz = 0.2
    near = curve(rng.standard_normal(3)) + 0.3 * rng.standard_normal((3, 2))
    wide = np.linspace(-3, 3.3, 57)
    bent = np.stack([wide, wide**2 / 2, np.cos(wide)], axis=1)  # (57, 3)
    far = np.array([[0.0, 4.0], [-3.5, -3.0]])  # 2 to 3 away from every point of the curve
    apart = np.array([[0.3, 0.5], [0.0, 4.0], [4.0, 0.0]])  # near the curve, and far
    small = np.array([0.05, 0.08])
    one_shift = ("exp(a - c) underflows when c is one number for the whole batch (its largest "
                 "a, its mean): take the largest log p(x, z_g) of each example, over the grid, "
                 "log_joint.max(axis=1, keepdims=True).")
    underflow = ("p(x|z) and p(x, z) underflow to 0 where their logs are below about -745 (and "
                 "exp(a - c) overflows to inf above 709, for a shift c that is not each row's "
                 "largest a), and log 0 = -inf: write the log-density itself, never the "
                 f"density, and {IN_LOGS}.")
    return [
        Batch({"x": near, "z": grid, "mean": curve(grid), "sigma": np.array([0.3, 0.5])}),
        Batch({"x": bent[[5, 30, 50, 12]] + 0.2 * rng.standard_normal((4, 3)), "z": wide,
               "mean": bent, "sigma": np.array([0.4, 0.25, 0.6])}),
        Batch({"x": near[:1], "z": grid[5:36], "mean": curve(grid[5:36]),
               "sigma": np.array([0.3, 0.5])}, "for a batch of one example"),
        Batch({"x": near[:, :1], "z": grid, "mean": curve(grid)[:, :1],
               "sigma": np.array([0.35])}, "for x of one coordinate"),
        Batch({"x": far, "z": grid, "mean": curve(grid), "sigma": small},
              "for x far from the curve", underflow, f"Right near the curve only: {IN_LOGS}."),
        Batch({"x": apart, "z": grid, "mean": curve(grid), "sigma": small},
              "for examples near the curve and far from it in one batch", one_shift, one_shift),
        *(Batch(inputs, label, why_wrong=why)
          for label, why, inputs in teacher_cases("posterior", CASE)),
    ]


def namespace(batch):
    """What the Mistakes and Terms compute from: the inputs, and minivae's own quantities."""
    x, z, mean, sigma = (batch.inputs[k] for k in ("x", "z", "mean", "sigma"))
    log_joint = exact_posterior.log_joint(x, z, mean, np.log(sigma**2))  # (N, G)
    return types.SimpleNamespace(
        x=x, z=z, mean=mean, sigma=sigma, d=x.shape[1], g=len(z), dz=exact_posterior.spacing(z),
        sq=(x[:, None, :] - mean[None]) ** 2,  # (N, G, D)
        log_pz=exact_posterior.log_normal(z, 0.0, 0.0), log_joint=log_joint,
        log_px=exact_posterior.log_evidence(log_joint, z),
        log_posterior=exact_posterior.log_posterior(log_joint, z))


def check_joint(log_joint_on_grid, draws):
    name, later = log_joint_on_grid.name, RoundingLater()
    for batch in draws:
        e = namespace(batch)
        n, g, d = e.sq.shape
        quantity = Quantity("log p(x, z)", ("examples", "grid points"), terms=JOINT_TERMS,
                            formula_text=JOINT_FORMULA, misplaced=[(
                                (n, g, d), "The D coordinates of x are independent given z: "
                                "sum their log-densities over the last axis, .sum(axis=2).")])
        args = [batch.inputs[k] for k in ("x", "z", "mean", "sigma")]
        got = unpack(name, call(log_joint_on_grid, *args), [quantity.name])
        with later:
            compare(name, [quantity], got, [e.log_joint], MISTAKES, e, batch)
    later.finish()


def check_evidence(evidence_and_posterior, draws):
    name, later = evidence_and_posterior.name, RoundingLater()
    for batch in draws:
        e = namespace(batch)
        quantities = [
            Quantity("log p(x)", ("examples",), misplaced=[((e.g,), "That reduced over axis 0, "
                     "the examples: each example's row is summed over the grid, axis 1.")]),
            Quantity("p(z|x)", ("examples", "grid points"), why_sign="A density is never "
                     "negative."),
        ]
        got = unpack(name, call(evidence_and_posterior, e.log_joint, e.z),
                     [q.name for q in quantities])
        constants = (("log dz", math.log(e.dz)), ("dz", e.dz), ("log G", math.log(e.g)))
        with later:
            compare(name, quantities, got, [e.log_px, np.exp(e.log_posterior)], MISTAKES, e,
                    Batch(batch.inputs, batch.label, batch.why_nonfinite, batch.why_wrong,
                          constants))
    later.finish()


@checked("posterior", TEMPLATES)
def check_exact_posterior(log_joint_on_grid, evidence_and_posterior):
    """Check log_joint_on_grid(x, z, mean, sigma) -> (N, G) and evidence_and_posterior(log_joint,
    z) -> (log p(x) (N,), p(z|x) (N, G))."""
    draws = batches()
    both(log_joint_on_grid, lambda: check_joint(log_joint_on_grid, draws),
         evidence_and_posterior, lambda: check_evidence(evidence_and_posterior, draws))
    return (f"{log_joint_on_grid.name} and {evidence_and_posterior.name} agree with "
            f"minivae.models.exact_posterior on {len(draws)} batches", "Your p(z|x) integrates "
            "to 1 over each grid (sum_g p(z_g|x) dz = 1), and log p(x) stays finite for x far "
            "from the curve, where p(x, z) underflows to 0.")
