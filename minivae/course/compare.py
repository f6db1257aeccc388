"""Comparing a learner's results with minivae's, and saying how they differ, truthfully.

For each quantity a check computes (a KL, a gradient, a loss), `compare` takes the learner's
value and the right one and, when they differ, describes the difference in this order:

0. a float32 result: the same policy for every exercise (`FLOAT64_WHY`): an answer in float32
   is not yet right, and the message says so first, and whether it is right to float32's
   precision;
1. the known mistakes of the exercise (`Mistake`): each computes the value a particular
   misconception gives (the standard deviation for the variance, a missing 1/2, ...); the first
   that the learner's value equals names that misconception;
2. the terms of the quantity's formula (`Quantity.terms`): the value with one term left out,
   its sign flipped, doubled or halved; one the learner's value equals names that term;
3. the shape: expected and got, and whether the learner's array is the right one summed or
   averaged over an axis, not yet summed, or transposed;
4. values that are inf or nan where the right ones are finite: an overflow, and for inputs drawn
   to provoke one (huge logits, say) the reason the batch was drawn for (`Batch.why_nonfinite`);
5. agreement to float32's precision only (a small extra term, part of it computed in float32,
   or a form that loses digits): a difference of rounding size, which a check reports only if no
   other batch shows a bigger one (`RoundingLater`);
6. how the values relate: a constant factor, named only when it is exact and simple (2, 1/2, -1,
   1/B, or a named constant of the inputs such as lr) and otherwise given as a number; a
   constant offset (log k, ...); transposed; or else which elements are wrong, with an example
   whose two numbers are shown to as many digits as it takes to tell them apart.

Every comparison is in float64 with a tolerance far below any mistake and far below float32's
rounding (rtol 1e-9), so that whatever was computed in float32 is told so, by every check alike.
"""

import dataclasses
from collections.abc import Callable
from fractions import Fraction

import numpy as np

from minivae.course.verdict import WRONG, Finding, as_array

RTOL, ATOL = 1e-9, 1e-10
FLOAT32_RTOL, FLOAT32_ATOL = 1e-4, 1e-6  # what float32 arithmetic leaves of a right answer
FLOAT64_WHY = ("Compute in float64 here: the check's inputs are float64 and it compares with the "
               "right value to 1 part in 10^9, far finer than float32's 7 significant digits, so "
               "that a wrong term that changes the result only a little is not taken for "
               "rounding.")
CHANGES = [  # how a term of a formula goes wrong: its coefficient, and the words for it
    (0.0, "leaves out the term {}"),
    (-1.0, "has the term {} with the wrong sign"),
    (2.0, "has the term {} twice"),
    (0.5, "has half the term {}"),
]


@dataclasses.dataclass(frozen=True)
class Term:
    """One part of a quantity's formula, which a learner may drop, flip, double or halve."""

    label: str  # as the formula writes it, e.g. "log p(z_i)" or "eps"
    compute: Callable  # the check's inputs (a namespace) -> its value


@dataclasses.dataclass(frozen=True)
class Quantity:
    """One result a check compares: its name in messages and what its axes count."""

    name: str  # e.g. "dlogvar"
    axes: tuple = ()  # what each axis counts, e.g. ("examples", "latent dimensions")
    sums_over: tuple = ()  # (what, size) pairs the formula sums over, e.g. (("pixels", 784),)
    why_sign: str = "The sign is flipped."  # said when the value is exactly -1 times the right one
    misplaced: tuple = ()  # (shape, why) pairs: a wrong shape a known mistake gives, and why
    returned: str = ""  # how the function returns it, where that differs from `name`
    terms: tuple = ()  # Terms of its formula, for `formula` to combine
    formula: Callable = None  # (inputs, {label: value}) -> the quantity; None: sum of the terms
    formula_text: str = ""  # the formula as the notebook writes it, said with a wrong term


@dataclasses.dataclass(frozen=True)
class Mistake:
    """A known wrong way to compute a quantity: the value it gives, and the misconception."""

    quantity: str  # the Quantity.name it is a wrong value of
    compute: Callable  # the check's inputs (a namespace) -> the wrong value
    why: str  # the misconception, one line
    what: str = ""  # how the value differs; empty: described like any other difference
    when: Callable = None  # inputs -> whether this mistake can be told on them; None: always


@dataclasses.dataclass(frozen=True)
class Batch:
    """One draw of inputs for a check, with what to say when only this draw goes wrong."""

    inputs: dict
    label: str = ""  # e.g. "for logits of size 710 to 1000"; said when the answer fails here
    why_nonfinite: str = ""  # the reason for an inf or nan on this draw
    why_wrong: str = ""  # the reason for a finite wrong value on this draw
    constants: tuple = ()  # (name, value): numbers of these inputs a factor or offset may be
    gradcheck: bool = True  # whether a backward pass is also gradchecked on it (not on extremes)


def close(got, expected, rtol=RTOL, atol=ATOL):
    """Equal to rounding, inf and nan included (so a mistake that overflows can be matched)."""
    return got.shape == expected.shape and bool(np.all(np.isclose(
        got.astype(np.float64), expected, rtol=rtol, atol=atol, equal_nan=True)))


def compare(name, quantities, got, expected, mistakes=(), inputs=None, batch=None, first=()):
    """Raise a Finding for the first quantity where `got` differs from `expected`.

    name: the learner's function, as the message names it; quantities: one Quantity per result,
    in the order the function returns them; got, expected: one array per quantity; mistakes:
    the exercise's Mistakes; inputs: what the Mistakes and Terms compute from (a namespace);
    batch: the draw, for its label, reasons and constants; first: the indices of the quantities
    to blame first, when others are computed from them (Adam's update from m and v).
    """
    batch = batch or Batch({})
    got = [as_array(g) for g in got]
    subjects = [name if len(quantities) == 1 else f"{name}: {q.name}" for q in quantities]
    refuse_single_precision(subjects, got, expected, batch)
    wrong = [i for i, (g, e) in enumerate(zip(got, expected, strict=True)) if not close(g, e)]
    if not wrong:
        return
    order = swapped_order(got, expected)
    if order:
        names = [quantities[i].returned or quantities[i].name for i in order]
        right_order = ", ".join(q.returned or q.name for q in quantities)
        raise Finding(WRONG, f"{name} returns its results in the wrong order, "
                      f"({', '.join(names)})", f"Return ({right_order}), in this order.")
    blamed = next((i for i in first if i in wrong), wrong[0])
    quantity = quantities[blamed]
    own = [m for m in mistakes if m.quantity == quantity.name]
    what, why, rounding = describe(quantity, got[blamed], expected[blamed], own, inputs, batch)
    right = [q.name for i, q in enumerate(quantities) if i not in wrong]
    also_wrong = [quantities[i].name for i in wrong if i != blamed]
    asides = [batch.label] if batch.label else []
    if right:
        asides.append(f"{' and '.join(right)} {'is' if len(right) == 1 else 'are'} right")
    elif also_wrong:
        asides.append(f"{' and '.join(also_wrong)} {'is' if len(also_wrong) == 1 else 'are'} "
                      "wrong too")
    raise Finding(WRONG, f"{subjects[blamed]} {what}", why, asides, rounding)


class RoundingLater:
    """Around each batch of a check's loop: a Finding of rounding size (the answer agrees only
    to float32's precision) is kept, and raised by `finish` only if no later batch shows a
    bigger difference, whose message says more (an eps added to sigma is a rounding-size
    difference where sigma is 1, and a plain one where logvar = -40 makes sigma 2e-9)."""

    def __init__(self):
        self.kept = None

    def __enter__(self):
        return self

    def __exit__(self, kind, error, traceback):
        if isinstance(error, Finding) and error.rounding:
            self.kept = self.kept or error
            return True
        return False

    def finish(self):
        if self.kept is not None:
            raise self.kept


def refuse_single_precision(subjects, got, expected, batch):
    """The float32 policy: a result in float32 (or float16) is a Finding, whatever its values,
    which the message says are or are not right to float32's precision."""
    for subject, g, e in zip(subjects, got, expected, strict=True):
        if g.dtype.itemsize < 8:
            agrees = close(g, e, FLOAT32_RTOL, FLOAT32_ATOL)
            raise Finding(WRONG, f"{subject} is {g.dtype}, not float64", FLOAT64_WHY,
                          [batch.label] * bool(batch.label) + [
                              "to float32's precision it is the right value" if agrees else
                              "it also differs from the right value by more than float32's "
                              "rounding"])


def swapped_order(got, expected):
    """For results returned in the wrong order: the order they came in, else None."""
    if len(got) < 2:
        return None
    order = []
    for g in got:
        matches = [j for j, e in enumerate(expected) if close(g, e) and j not in order]
        if not matches:
            return None
        order.append(matches[0])
    return order if order != sorted(order) else None


def describe(quantity, got, expected, mistakes, inputs, batch):
    """(what, why, rounding): how `got` differs from `expected`, the likely misconception, and
    whether the difference is of rounding size only."""
    what, why = differences(quantity, got, expected, mistakes, inputs, batch)
    if what is not None:
        return what, why, False
    if close(got, expected, FLOAT32_RTOL, ATOL):  # relative: 1e-6 is no rounding of 1e-9
        bad = ~np.isclose(got, expected, rtol=RTOL, atol=ATOL)
        relative = np.max(np.abs(got - expected)[bad] / np.maximum(np.abs(expected[bad]), ATOL))
        digits = max(1, int(np.floor(-np.log10(relative))))
        return (f"agrees with the right value to about {digits} significant digits only "
                f"(relative differences up to {relative:.1e})", "Is a small number added that "
                "does not belong (an eps), or was part of it computed in float32 "
                "(astype(np.float32), np.float32(...)), or in a form that loses digits (the "
                f"difference of two nearly equal numbers)? {FLOAT64_WHY}", True)
    what, why = relation(quantity, got, expected, batch)
    return what, batch.why_wrong or why, False


def differences(quantity, got, expected, mistakes, inputs, batch):
    """(what, why) for a known mistake, a changed term, a wrong shape or values that are not
    finite; (None, None) when the values are finite, of the right shape, and unexplained."""
    for mistake in mistakes:
        if mistake.when is not None and not mistake.when(inputs):
            continue
        value = wrong_value(mistake.compute, inputs)
        if close(got, value) and np.isfinite(value).any():  # all inf or nan: nothing to tell by
            what = mistake.what or (
                shape_difference(quantity, got, expected)[0]
                if got.shape != expected.shape
                else relation(quantity, got, expected, batch)[0]
            )
            return what, mistake.why
    term = changed_term(quantity, got, expected, inputs)
    if term:
        return term, f"The formula: {quantity.formula_text}."
    if got.shape != expected.shape:
        return shape_difference(quantity, got, expected)
    finite = np.isfinite(got)
    if not finite.all():
        kinds = " or ".join(sorted({str(v) for v in got[~finite]}))  # inf, -inf, nan
        what = f"is {kinds} at {np.sum(~finite)} of {got.size} elements"
        return what, batch.why_nonfinite or "Something overflowed: look for an exp or a log of 0."
    return None, None


def wrong_value(compute, inputs):
    """The value `compute` gives on these inputs; an empty array where it cannot be computed
    (a product whose shapes do not fit these inputs, say)."""
    with np.errstate(all="ignore"):
        try:
            return np.asarray(compute(inputs), dtype=np.float64)
        except ValueError:
            return np.empty(0)


def changed_term(quantity, got, expected, inputs):
    """The words for the one term whose change (left out, sign, doubled, halved) makes the
    quantity's formula give `got`; None if no single change does."""
    if not quantity.terms or got.shape != expected.shape:
        return None
    values = {t.label: wrong_value(t.compute, inputs) for t in quantity.terms}
    combine = quantity.formula or (lambda e, v: sum(v.values()))
    for term in quantity.terms:
        for coefficient, words in CHANGES:
            changed = {**values, term.label: coefficient * values[term.label]}
            value = wrong_value(lambda e, changed=changed: combine(e, changed), inputs)
            if close(got, value) and np.isfinite(value).any() and factor_of(
                    value, expected) is None:
                return words.format(term.label)
    return None


def factor_of(value, expected):
    """c if `value` is c times `expected` at every element (c fitted by least squares), else
    None. `relation` says such a value better than a changed term can: a flipped sign of a
    whole formula is not the sign of one of its terms."""
    if value.shape != expected.shape or not np.any(expected != 0):
        return None
    factor = float(np.sum(value * expected) / np.sum(expected * expected))
    return factor if np.isfinite(factor) and close(value, factor * expected) else None


def shape_difference(quantity, got, expected):
    """(what, why) for a result of the wrong shape."""
    shapes = f"has shape {got.shape}, expected {expected.shape}"
    axes = quantity.axes
    for axis in range(expected.ndim):
        for reduce in (np.sum, np.mean):
            if expected.shape[axis] > 1 and close(got, reduce(expected, axis=axis)):
                done = "sum" if reduce is np.sum else "mean"
                return (f"{shapes}: it is the right value's {done} over the {axes[axis]} "
                        f"(axis {axis})", f"Return an array of shape {expected.shape}: do not "
                        f"reduce over the {axes[axis]}.")
    if got.ndim == 0 and expected.size > 1 and close(got, expected.sum()):
        return f"{shapes}: it is the sum of all the right values", (
            f"Return an array of shape {expected.shape}, not the total.")
    if got.ndim == 0 and expected.size > 1 and close(got, expected.mean()):
        return f"{shapes}: it is the mean of all the right values", (
            f"Return an array of shape {expected.shape}, not the average.")
    for axis in range(got.ndim):
        for what, size in quantity.sums_over:
            if got.shape[axis] == size and close(got.sum(axis=axis), expected):
                return (f"{shapes}: it is not yet summed over the {what} (axis {axis})",
                        f"Sum over the {what}: .sum(axis={axis}).")
    for shape, why in quantity.misplaced:
        if got.shape == shape:
            return shapes, why
    if got.ndim == 2 and got.shape == expected.shape[::-1]:
        if close(got.T, expected):
            return f"{shapes}: it is the right value transposed", (
                f"Its element (i, j) belongs at (j, i): {quantity.name} has the shape of the "
                "array it is the gradient of.")
        return f"{shapes}: transposed, and its values are wrong too", (
            "Follow the shapes through each product: (n, k) @ (k, m) -> (n, m).")
    if got.size == expected.size and close(got.reshape(expected.shape), expected):
        return f"{shapes}: it holds the right values, in another shape", (
            f"Reshape it to {expected.shape}; a squeeze() or a reshape drops or adds an axis of "
            "size 1 (a batch of one example, one latent dimension).")
    return shapes, "Print the shape of each intermediate result against the shapes above."


def relation(quantity, got, expected, batch):
    """(what, why) for a result of the right shape and the wrong finite values."""
    got = got.astype(np.float64)
    factor = factor_of(got, expected) if got.size >= 2 else None
    if factor is not None:
        return scaled(quantity, factor, batch)
    difference = got - expected
    if got.size >= 2 and np.allclose(difference, difference.flat[0], rtol=0, atol=1e-9):
        return shifted(float(difference.flat[0]), batch)
    if got.ndim == 2 and got.shape[0] == got.shape[1] and close(got.T, expected):
        return "is the right value transposed", (
            "Its element (i, j) belongs at (j, i): check which factor of each product is "
            "transposed.")
    bad = ~np.isclose(got, expected, rtol=RTOL, atol=ATOL)
    index = tuple(int(i) for i in np.argwhere(bad)[0])
    where = f" at [{', '.join(map(str, index))}]" if got.ndim else ""
    mine, right = apart(got[index], expected[index])
    return (f"is wrong at {bad.sum()} of {got.size} elements, e.g.{where}: {mine} where {right} "
            "is right", "Compare your formula with the one above the exercise, term by term, "
            "on this element.")


def scaled(quantity, factor, batch):
    """(what, why) for a value that is the right one times `factor` at every element."""
    if exactly(factor, -1):
        return "is exactly -1 times the right value at every element", quantity.why_sign
    for over, size in quantity.sums_over:
        if exactly(factor, 1 / size):
            return (f"is exactly 1/{size} times the right value at every element",
                    f"{quantity.name} sums over the {over}; this is their mean (the sum divided "
                    f"by their number, {size}).")
    for constant, value in batch.constants:
        if value in (0, 1, -1):
            continue
        if exactly(factor, value):
            return (f"is exactly {constant} = {value:.6g} times the right value at every "
                    f"element", f"A factor {constant} is extra.")
        if exactly(factor, 1 / value):
            return (f"is the right value divided by {constant} = {value:.6g} at every element",
                    f"A factor {constant} is missing.")
    fraction = simple_fraction(factor)
    if fraction is not None:
        what = f"is exactly {fraction} times the right value at every element"
        if abs(fraction) in (2, Fraction(1, 2)):
            return what, ("A factor 2 or 1/2 is extra or missing" + (", and the sign is flipped"
                          if fraction < 0 else "") + ": check every 1/2 and 2.")
        return what, (f"A constant factor is wrong: look for a {fraction} or a {1 / fraction} "
                      "that the formula above does not have.")
    return (f"is the right value times the same number, {apart(factor, 1.0)[0]}, at every "
            "element",
            "Every element is off by one factor, so a constant of your formula is wrong or "
            "missing: compare each constant with the formula above the exercise.")


def shifted(offset, batch):
    """(what, why) for a value that is the right one plus `offset` at every element."""
    for constant, value in batch.constants:
        for sign, value_signed in (("+", value), ("-", -value)):
            if exactly(offset, value_signed):
                return (f"is off by exactly {sign}{constant} = {value_signed:+.6g} at every "
                        "element", f"A term {sign}{constant} is extra.")
    fraction = simple_fraction(offset)
    if fraction is not None:
        return (f"is off by exactly {'+' * (fraction > 0)}{fraction} at every element",
                "A constant term is missing or extra.")
    return (f"is off by the same amount, {offset:+.6g}, at every element",
            "A constant term is missing or extra.")


def exactly(number, target):
    return abs(number - target) <= RTOL * abs(target)


def simple_fraction(number):
    """`number` as p/q with p and q at most 4 (2, 1/2, -3/4), if it is that to the checks'
    tolerance; else None. 1 is not a factor worth naming."""
    fraction = Fraction(number).limit_denominator(4)
    if abs(fraction.numerator) <= 4 and fraction != 1 and fraction != 0 \
            and exactly(number, float(fraction)):
        return fraction
    return None


def apart(mine, right):
    """Two numbers as text, each to as many significant digits as it takes to tell them apart
    (at least 6), so that "0.123457 where 0.123457 is right" cannot be printed."""
    for digits in range(6, 18):
        a, b = f"{mine:.{digits}g}", f"{right:.{digits}g}"
        if a != b:
            return a, b
    return repr(float(mine)), repr(float(right))
