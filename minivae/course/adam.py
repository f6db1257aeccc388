"""Exercise `adam` (notebook 5): one step of Adam (Kingma and Ba, 2015).

The learner writes adam_step(theta, g, m, v, t, lr, b1, b2, eps) -> (theta, m, v), the new
values after step t (1 for the first), from the parameter theta, its gradient g and the moments
m and v of the steps before:

    m = b1 m + (1 - b1) g,           v = b2 v + (1 - b2) g^2
    m_hat = m / (1 - b1^t),          v_hat = v / (1 - b2^t)
    theta = theta - lr m_hat / (sqrt(v_hat) + eps)

The check calls it by position, adam_step(theta, g, m, v, t, lr, b1, b2, eps), step by step
beside minivae's `optim.Adam` fed the same gradients: steps 3 to 42 with the usual settings (from
a state Adam reached in two steps, so that m and v are not 0; late enough for a bias correction
dropped or frozen after a while to show), then steps 1 to 4 with lr 0.05,
b1 0.8, b2 0.9 and eps 0.1, large enough for eps's place to matter, then the teacher's runs
(`minivae.course.cases`). Each step starts from minivae's state, and the update theta_new - theta
is compared rather than theta itself, so that a small wrong step is not hidden by a large theta.
"""

import types

import numpy as np

from minivae.course.cases import Case, teacher_cases
from minivae.course.compare import Batch, Mistake, Quantity, RoundingLater, Term, compare
from minivae.course.verdict import Template, call, checked, unpack
from minivae.engine.tensor import Tensor
from minivae.models.optim import Adam

SETTINGS = ("lr", "b1", "b2", "eps")
TEMPLATES = (Template("adam_step", ("theta", "g", "m", "v", "t", *SETTINGS)),)
CASE = Case({"theta": "...", "gradients": "T ..."}, SETTINGS, check=lambda inputs: (
    "b1 and b2 must lie in [0, 1), lr and eps be positive"
    if not (0 <= inputs["b1"] < 1 and 0 <= inputs["b2"] < 1 and inputs["lr"] > 0
            and inputs["eps"] > 0) else ""))
SWAPPED_BETAS = ("b1 and b2 are swapped: b1 (0.9) averages g into m, b2 (0.999) averages g^2 "
                 "into v.")
EPS_PLACE = ("eps belongs in the denominator, added to sqrt(v_hat): it keeps the step finite "
             "where v_hat is 0.")
UNCHANGED = "Return the new {0}, {1}: the caller keeps only what adam_step returns."
OFF_BY_ONE = "t counts the steps from 1: the corrections at step t are 1 - b1^t and 1 - b2^t."
DIVIDED_BY_0 = ("A division by 0? At the first step, t = 1, the corrections 1 - b1^t and "
                "1 - b2^t are 1 - b1 and 1 - b2, and v_hat + eps is never 0.")
LATER = ("Only t changes from one step to the next, so look at what uses it: the bias "
         "corrections are 1 - b1^t and 1 - b2^t at every step t, however large (no cap, no "
         "value kept from an earlier step).")
RUNS = [  # settings, theta's shape, minivae's steps before the check, steps checked, label
    (dict(lr=1e-3, b1=0.9, b2=0.999, eps=1e-8), (2, 3), 2, 40, ""),
    (dict(lr=0.05, b1=0.8, b2=0.9, eps=0.1), (6,), 0, 4, "with lr 0.05, b1 0.8, b2 0.9, eps 0.1"),
]
QUANTITIES = [
    Quantity("the update theta_new - theta", ("elements",), returned="theta",
             why_sign="theta moves against the gradient: theta - lr m_hat / (sqrt(v_hat) + eps).",
             terms=(Term("sqrt(v_hat)", lambda e: np.sqrt(e.v_hat)),
                    Term("eps", lambda e: np.full_like(e.theta, e.eps))),
             formula=lambda e, v: -e.lr * e.m_hat / (v["sqrt(v_hat)"] + v["eps"]),
             formula_text="theta_new = theta - lr m_hat / (sqrt(v_hat) + eps)"),
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
            "m_hat = m / (1 - b1^t) is missing: without it each step is 1 - b1^t times too "
            "short.", "uses m where m_hat belongs"),
    Mistake(UPDATE, lambda e: -e.lr * e.m_hat / (np.sqrt(e.v1) + e.eps),
            "v_hat's bias correction is missing: v_hat = v / (1 - b2^t); without it each step "
            "is too long, by up to 1 / sqrt(1 - b2^t).", "uses v where v_hat belongs"),
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
            "uses t + 1 in the bias corrections", when=lambda e: e.t == e.first),
    Mistake(UPDATE, lambda e: step(e, e.m1, e.v1, e.t - 1), OFF_BY_ONE,
            "uses t - 1 in the bias corrections", when=lambda e: e.t == e.first),
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
    """Each run: its settings, label, and per step (t, theta, g, m, v) before the step and
    (theta, m, v) after it, from minivae's Adam fed the run's gradients."""
    rng = np.random.default_rng(5)
    drawn = []
    for settings, shape, warmup, steps, label in RUNS:
        scale = 1.0 if settings["eps"] < 1e-3 else 0.2  # gradients near eps, where its place shows
        gradients = scale * rng.normal(size=(warmup + steps, *shape))
        drawn.append(run(settings, rng.normal(size=shape), gradients, warmup, label, ""))
    for label, why, inputs in teacher_cases("adam", CASE):
        settings = {k: inputs[k] for k in SETTINGS}
        drawn.append(run(settings, inputs["theta"], inputs["gradients"], 0, label, why))
    return drawn


def run(settings, theta, gradients, warmup, label, why):
    """(settings, label, why, records) of minivae's Adam from theta through `gradients`, the
    steps after the first `warmup` recorded (so that m and v are not 0 at the first one)."""
    theta = Tensor(theta.copy(), requires_grad=True)
    adam = Adam([theta], lr=settings["lr"], betas=(settings["b1"], settings["b2"]),
                eps=settings["eps"])
    records = []
    for t, gradient in enumerate(gradients, start=1):
        before = (theta.data.copy(), adam.m[0].copy(), adam.v[0].copy())
        theta.grad = gradient.copy()
        adam.step()
        if t > warmup:
            records.append((t, before[0], gradient, before[1], before[2],
                            (theta.data.copy(), adam.m[0].copy(), adam.v[0].copy())))
    return settings, label, why, records


def step_batch(settings, label, why, t, first):
    """What to say at step t of a run whose first checked step is `first`: its label, and after
    that first step, that the steps before it were right (compare stops at the first wrong
    step) and what changes from one step to the next."""
    so_far = "" if t == first else (f"step {first} of this run was right" if t == first + 1 else
                                    f"steps {first} to {t - 1} of this run were right")
    corrections = [("lr", settings["lr"]), ("1 - b1^t", 1 - settings["b1"] ** t),
                   ("1 - b2^t", 1 - settings["b2"] ** t)]
    return Batch({}, ", ".join(filter(None, [label, so_far])), DIVIDED_BY_0,
                 why or (LATER if t > first else ""), constants=tuple(corrections))


@checked("adam", TEMPLATES)
def check_adam_step(adam_step):
    """Check adam_step(theta, g, m, v, t, lr, b1, b2, eps) -> (theta, m, v) against optim.Adam."""
    name, count, drawn, later = adam_step.name, 0, runs(), RoundingLater()
    for settings, label, why, records in drawn:
        first = records[0][0]
        for t, theta, g, m, v, (theta1, m1, v1) in records:
            result = call(adam_step, theta, g, m, v, t, *(settings[k] for k in SETTINGS))
            got_theta, got_m, got_v = unpack(name, result, ["theta", "m", "v"])
            e = types.SimpleNamespace(**settings, theta=theta, g=g, m=m, v=v, t=t, first=first,
                                      m1=m1, v1=v1,
                                      m_hat=m1 / (1 - settings["b1"] ** t),
                                      v_hat=v1 / (1 - settings["b2"] ** t))
            update = (got_theta - theta).astype(got_theta.dtype)  # float32 stays float32
            with later:
                compare(f"{name} at step {t}", QUANTITIES, [update, got_m, got_v],
                        [theta1 - theta, m1, v1], MISTAKES, e,
                        step_batch(settings, label, why, t, first), first=(1, 2))
            count += 1
    later.finish()
    return (f"{name} agrees with minivae's optim.Adam at each of {count} steps, in {len(drawn)} "
            "runs with different settings", "m, v and the update are right, bias corrections "
            "and eps included, late in a run too.")
