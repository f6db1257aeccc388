"""Exercise `adam` (notebook 4): one step of Adam (Kingma and Ba, 2015).

The learner writes adam_step(theta, g, m, v, t, lr, b1, b2, eps) -> (theta, m, v), the new
values after step t (1 for the first), from the parameter theta, its gradient g and the moments
m and v of the steps before:

    m = b1 m + (1 - b1) g,           v = b2 v + (1 - b2) g^2
    m_hat = m / (1 - b1^t),          v_hat = v / (1 - b2^t)
    theta = theta - lr m_hat / (sqrt(v_hat) + eps)

The check runs it step by step beside minivae's `optim.Adam` fed the same gradients, twice: with
the usual settings from a state Adam reached in two steps (so that m and v are not 0), then from
the first step on with lr 0.05, b1 0.8, b2 0.9 and eps 0.1, large enough for eps's place to
matter. Each step starts from minivae's state, and the update theta_new - theta is compared
rather than theta itself, so that a small wrong step is not hidden by a large theta.
"""

import types

import numpy as np

from minivae.course.compare import Batch, Mistake, Quantity, compare
from minivae.course.verdict import call, checked, unpack
from minivae.engine.tensor import Tensor
from minivae.models.optim import Adam

NAME = "adam_step"
SWAPPED_BETAS = ("b1 and b2 are swapped: b1 (0.9) averages g into m, b2 (0.999) averages g^2 "
                 "into v.")
EPS_PLACE = ("eps belongs in the denominator, added to sqrt(v_hat): it keeps the step finite "
             "where v_hat is 0.")
UNCHANGED = "Return the new {0}, {1}: the caller keeps only what adam_step returns."
OFF_BY_ONE = "t counts the steps from 1: the corrections at step t are 1 - b1^t and 1 - b2^t."
DIVIDED_BY_0 = ("A division by 0? At the first step, t = 1, the corrections 1 - b1^t and "
                "1 - b2^t are 1 - b1 and 1 - b2, and v_hat + eps is never 0.")
RUNS = [  # settings, theta's shape, minivae's steps before the check, steps checked, label
    (dict(lr=1e-3, b1=0.9, b2=0.999, eps=1e-8), (3, 4), 2, 3, ""),
    (dict(lr=0.05, b1=0.8, b2=0.9, eps=0.1), (6,), 0, 4, "with lr 0.05, b1 0.8, b2 0.9, eps 0.1"),
]
QUANTITIES = [
    Quantity("the update theta_new - theta", ("elements",), returned="theta",
             why_sign="theta moves against the gradient: theta - lr m_hat / (sqrt(v_hat) + eps)."),
    Quantity("m", ("elements",)),
    Quantity("v", ("elements",)),
]
UPDATE = QUANTITIES[0].name


def step(e, m, v, t):
    """The update -lr m_hat / (sqrt(v_hat) + eps) from moments m and v, as if at step t."""
    return -e.lr * (m / (1 - e.b1**t)) / (np.sqrt(v / (1 - e.b2**t)) + e.eps)


MISTAKES = [
    Mistake(UPDATE, lambda e: -e.lr * e.m1 / (np.sqrt(e.v1) + e.eps),
            "m and v start at 0, so early on they are too small: divide them by 1 - b1^t and "
            "1 - b2^t (m_hat and v_hat) before the update.", "has no bias correction"),
    Mistake(UPDATE, lambda e: -e.lr * e.m1 / (np.sqrt(e.v_hat) + e.eps),
            "m_hat = m / (1 - b1^t) is missing: without it the first steps are 1 - b1^t times "
            "too short.", "uses m where m_hat belongs"),
    Mistake(UPDATE, lambda e: -e.lr * e.m_hat / (np.sqrt(e.v1) + e.eps),
            "v_hat's bias correction is missing: v_hat = v / (1 - b2^t); without it the first "
            "steps are far too long.", "uses v where v_hat belongs"),
    Mistake(UPDATE, lambda e: -e.lr * e.m_hat / np.sqrt(e.v_hat + e.eps),
            "eps goes outside the square root: sqrt(v_hat) + eps.", "has eps inside the square "
            "root"),
    Mistake(UPDATE, lambda e: -e.lr * (e.m_hat / np.sqrt(e.v_hat) + e.eps), EPS_PLACE,
            "adds eps to the ratio, not to its denominator"),
    Mistake(UPDATE, lambda e: -e.lr * e.m_hat / np.sqrt(e.v_hat) + e.eps, EPS_PLACE,
            "adds eps to theta, not to the denominator"),
    Mistake(UPDATE, lambda e: -e.lr * e.v_hat / (np.sqrt(e.m_hat) + e.eps),
            "m and v are swapped: the step is m_hat / (sqrt(v_hat) + eps).", "divides v_hat by "
            "sqrt(m_hat)"),
    Mistake(UPDATE, lambda e: -e.lr * e.m_hat / (e.v_hat + e.eps),
            "The denominator is the square root of v_hat: sqrt(v_hat) has the units of g, so the "
            "step has the units of lr.", "divides by v_hat, not by sqrt(v_hat)"),
    Mistake(UPDATE, lambda e: step(e, e.m1, e.v1, e.t + 1), OFF_BY_ONE,
            "uses t + 1 in the bias corrections"),
    Mistake(UPDATE, lambda e: step(e, e.m1, e.v1, e.t - 1), OFF_BY_ONE,
            "uses t - 1 in the bias corrections"),
    Mistake(UPDATE, lambda e: 0 * e.theta, "theta comes back unchanged: return the new theta.",
            "is 0: theta is returned as it came in"),
    Mistake("m", lambda e: e.m, UNCHANGED.format("m", "m = b1 m + (1 - b1) g"),
            "is the m that came in, not updated"),
    Mistake("v", lambda e: e.v, UNCHANGED.format("v", "v = b2 v + (1 - b2) g^2"),
            "is the v that came in, not updated"),
    Mistake("m", lambda e: e.b2 * e.m + (1 - e.b2) * e.g, SWAPPED_BETAS, "uses b2 where b1 "
            "belongs"),
    Mistake("m", lambda e: e.b1 * e.m + e.g,
            "m = b1 m + (1 - b1) g: without (1 - b1) it is a sum of gradients, not an average.",
            "is b1 m + g, without the (1 - b1)"),
    Mistake("m", lambda e: e.b1 * e.g + (1 - e.b1) * e.m,
            "b1 weights the old m and 1 - b1 the new gradient: m = b1 m + (1 - b1) g.",
            "is b1 g + (1 - b1) m, the weights the wrong way round"),
    Mistake("m", lambda e: e.m_hat,
            "Return m itself, not m_hat: the bias correction is made afresh from m at each step.",
            "is m_hat, not m"),
    Mistake("v", lambda e: e.b2 * e.v + (1 - e.b2) * e.g,
            "v is the running average of the squared gradient: (1 - b2) g^2.", "averages g, not "
            "g^2"),
    Mistake("v", lambda e: e.b1 * e.v + (1 - e.b1) * e.g**2, SWAPPED_BETAS, "uses b1 where b2 "
            "belongs"),
    Mistake("v", lambda e: e.v_hat,
            "Return v itself, not v_hat: the bias correction is made afresh from v at each step.",
            "is v_hat, not v"),
]


def runs():
    """Each run: its hyperparameters, label, and per step (t, theta, g, m, v) before the step and
    (theta, m, v) after it, from minivae's Adam."""
    rng = np.random.default_rng(5)
    drawn = []
    for hyper, shape, warmup, steps, label in RUNS:
        theta = Tensor(rng.normal(size=shape), requires_grad=True)
        adam = Adam([theta], lr=hyper["lr"], betas=(hyper["b1"], hyper["b2"]), eps=hyper["eps"])
        scale = 1.0 if hyper["eps"] < 1e-3 else 0.2  # gradients near eps, where its place shows
        records = []
        for t in range(1, warmup + steps + 1):
            before = (theta.data.copy(), adam.m[0].copy(), adam.v[0].copy())
            theta.grad = scale * rng.normal(size=shape)
            g = theta.grad.copy()
            adam.step()
            if t > warmup:
                after = (theta.data.copy(), adam.m[0].copy(), adam.v[0].copy())
                records.append((t, before[0], g, before[1], before[2], after))
        drawn.append((hyper, label, records))
    return drawn


@checked("adam")
def check_adam_step(adam_step):
    """Check adam_step(theta, g, m, v, t, lr, b1, b2, eps) -> (theta, m, v) against optim.Adam."""
    count = 0
    for hyper, label, records in runs():
        for t, theta, g, m, v, (theta1, m1, v1) in records:
            result = call(NAME, adam_step, theta, g, m, v, t, **hyper)
            got_theta, got_m, got_v = unpack(NAME, result, ["theta", "m", "v"])
            e = types.SimpleNamespace(**hyper, theta=theta, g=g, m=m, v=v, t=t, m1=m1, v1=v1,
                                      m_hat=m1 / (1 - hyper["b1"] ** t),
                                      v_hat=v1 / (1 - hyper["b2"] ** t))
            batch = Batch({}, label, DIVIDED_BY_0)
            compare(f"{NAME} at step {t}", QUANTITIES, [got_theta - theta, got_m, got_v],
                    [theta1 - theta, m1, v1], MISTAKES, e, batch, first=(1, 2))
            count += 1
    return (f"{NAME} agrees with minivae's optim.Adam at each of {count} steps, in 2 runs with "
            "different settings", "m, v and the update are right, bias corrections and eps "
            "included.")
