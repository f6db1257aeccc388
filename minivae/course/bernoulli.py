"""Exercise `bernoulli` (notebook 5): -log p(x|z) of a Bernoulli decoder, from its logits.

The learner writes bernoulli_nll(logits, x) -> (B,), for logits l and pixels x in [0, 1], both
(B, D), summed over the D pixels, and finite for logits of any size:

    -log p(x|z) = sum_j -[x log sigmoid(l) + (1 - x) log(1 - sigmoid(l))] = sum_j softplus(l) - x l

The check compares it with minivae's `ops.bernoulli_nll` on pixel intensities, binary pixels,
a batch of one example and images of one pixel, then on logits of 38 to 60, where sigmoid(l)
rounds to 1 and log(1 - sigmoid(l)) to log(0), then on logits from -1000 to 1000 in one row,
where exp(l) overflows and a shift by the batch's largest logit underflows; then on the
teacher's cases (`minivae.course.cases`).
"""

import types

import numpy as np

from minivae import ops
from minivae.course.cases import Case, teacher_cases
from minivae.course.compare import Batch, Mistake, Quantity, RoundingLater, Term, compare
from minivae.course.verdict import Template, call, checked, unpack
from minivae.engine.function import plain_forms
from minivae.engine.tensor import Tensor

TEMPLATES = (Template("bernoulli_nll", ("logits", "x")),)
CASE = Case({"logits": "B D", "x": "B D"}, check=lambda inputs: (
    "x holds values outside [0, 1]: pixels are probabilities of a pixel being on"
    if not np.all((inputs["x"] >= 0) & (inputs["x"] <= 1)) else ""))
IN_LOGITS = "softplus(l) - x l, which takes no log of a probability"


def softplus(a):
    return np.logaddexp(0, a)


def nll(logits, x):
    """minivae's -log p(x|z), (B, D) -> (B,)."""
    with plain_forms():
        return ops.bernoulli_nll(Tensor(logits), Tensor(x)).data


MISTAKES = [
    Mistake("-log p(x|z)", lambda e: (softplus(e.p) - e.x * e.p).sum(axis=1),
            "The sigmoid is applied twice: softplus(l) - x l contains it already, so it takes "
            "the logits l, not sigmoid(l).", "is the formula on logits applied to sigmoid(l)"),
    Mistake("-log p(x|z)", lambda e: (softplus(e.l) + e.x * e.l).sum(axis=1),
            "The x l term enters with a minus sign: x softplus(-l) + (1 - x) softplus(l) = "
            "softplus(l) - x l.", "has + x l where the loss has - x l"),
    Mistake("-log p(x|z)", lambda e: nll(e.l, 1 - e.x),
            "x and 1 - x are swapped: -log sigmoid(l) goes with x, -log(1 - sigmoid(l)) with "
            "1 - x.", "is the loss of 1 - x, the inverted image"),
]


def batches():
    """Pixel intensities, binary pixels, then logits large enough to break the naive forms."""
    rng = np.random.default_rng(4)
    confident = np.array([[40.0, -40, 45, -45, 38, -38], [50, -50, 40, -40, 60, -60]])
    huge = np.array([[800.0, -800, 710, -710, 1000, -1000], [720, -720, 900, -900, 750, -750]])
    pixels = np.array([[0.0, 1, 0.3, 0.7, 1, 0], [1, 0, 0, 1, 0.5, 0.2]])
    clipped = ("Clipping the probabilities (or adding a small number inside the log) changes the "
               f"loss of confident logits: write it in logits, {IN_LOGITS}.")
    return [
        Batch({"logits": rng.normal(0, 3, (4, 7)), "x": rng.uniform(0, 1, (4, 7))},
              why_nonfinite="BCE on probabilities, not logits? The decoder outputs logits l, "
              "any real number (p = sigmoid(l)): log(l) and log(1 - l) are nan for most."),
        Batch({"logits": rng.normal(0, 3, (3, 5)), "x": rng.integers(0, 2, (3, 5)) * 1.0}),
        Batch({"logits": rng.normal(0, 3, (1, 6)), "x": rng.uniform(0, 1, (1, 6))},
              "for a batch of one example"),
        Batch({"logits": rng.normal(0, 3, (3, 1)), "x": rng.uniform(0, 1, (3, 1))},
              "for images of one pixel"),
        Batch({"logits": confident, "x": pixels}, "for logits of size 38 to 60",
              "log(1 - sigmoid(l)) is log(0) once sigmoid(l) rounds to 1 (for l above about "
              f"37): write the loss in logits, {IN_LOGITS}.", clipped),
        Batch({"logits": huge, "x": pixels}, "for logits from -1000 to 1000",
              "exp(l) overflows to inf for l above 709, and exp(l - c) underflows for a shift c "
              "of the whole batch (its largest logit, its mean): compute softplus(l) = "
              "log(1 + e^l) element by element as max(l, 0) + log1p(e^-|l|), or "
              "np.logaddexp(0, l).", clipped),
        *(Batch(inputs, label, why_wrong=why)
          for label, why, inputs in teacher_cases("bernoulli", CASE)),
    ]


def quantity(x):
    """-log p(x|z) of images of x.shape[1] pixels, and its two terms."""
    return Quantity("-log p(x|z)", ("examples",), (("pixels", x.shape[1]),),
                    why_sign="This is log p(x|z); the loss is its negative, -log p(x|z) >= 0.",
                    terms=(Term("softplus(l)", lambda e: softplus(e.l)),
                           Term("-x l", lambda e: -e.x * e.l)),
                    formula=lambda e, v: (v["softplus(l)"] + v["-x l"]).sum(axis=1),
                    formula_text="-log p(x|z) = sum over the pixels of softplus(l) - x l")


@checked("bernoulli", TEMPLATES)
def check_bernoulli_nll(bernoulli_nll):
    """Check bernoulli_nll(logits, x) -> -log p(x|z) per example, (B,)."""
    name, draws, later = bernoulli_nll.name, batches(), RoundingLater()
    for batch in draws:
        logits, x = batch.inputs["logits"], batch.inputs["x"]
        loss = quantity(x)
        got = unpack(name, call(bernoulli_nll, logits, x), [loss.name])
        with np.errstate(all="ignore"):
            e = types.SimpleNamespace(l=logits, x=x, p=1 / (1 + np.exp(-logits)))
        with later:
            compare(name, [loss], got, [nll(logits, x)], MISTAKES, e, batch)
    later.finish()
    return (f"{name} agrees with minivae's ops.bernoulli_nll on {len(draws)} batches: pixel "
            "intensities, binary pixels, one example, one pixel, and logits of size 38 to "
            "1000", "It works on logits and stays finite where sigmoid(l) rounds to 0 or 1 and "
            "where exp(l) overflows.")
