"""Comparing a learner's results with minivae's, and saying how they differ.

For each quantity a check computes (a KL, a gradient, a loss), `compare` takes the learner's
value and the right one and, when they differ, describes the difference in this order:

1. the known mistakes of the exercise (`Mistake`): each computes the value a particular
   misconception gives (the standard deviation for the variance, a missing 1/2, ...); the first
   that the learner's value equals names that misconception;
2. the shape: expected and got, and whether the learner's array is the right one summed or
   averaged over an axis, not yet summed, or transposed;
3. values that are inf or nan where the right ones are finite: an overflow, and for inputs drawn
   to provoke one (huge logits, say) the reason the batch was drawn for (`Batch.why_nonfinite`);
4. how the values relate: exactly c times the right ones (a dropped 1/2, a flipped sign, a mean
   for a sum), off by a constant, transposed, or else which elements are wrong, with an example.

Every comparison is in float64 with a tolerance far below any mistake (rtol 1e-7).
"""

import dataclasses
from collections.abc import Callable
from fractions import Fraction

import numpy as np

from minivae.course.verdict import WRONG, Finding, as_array

RTOL, ATOL = 1e-7, 1e-10


@dataclasses.dataclass(frozen=True)
class Quantity:
    """One result a check compares: its name in messages and what its axes count."""

    name: str  # e.g. "dlogvar"
    axes: tuple = ()  # what each axis counts, e.g. ("examples", "latent dimensions")
    sums_over: tuple = ()  # (what, size) pairs the formula sums over, e.g. (("pixels", 784),)
    why_sign: str = "The sign is flipped."  # said when the value is exactly -1 times the right one
    misplaced: tuple = ()  # (shape, why) pairs: a wrong shape a known mistake gives, and why
    returned: str = ""  # how the function returns it, where that differs from `name`


@dataclasses.dataclass(frozen=True)
class Mistake:
    """A known wrong way to compute a quantity: the value it gives, and the misconception."""

    quantity: str  # the Quantity.name it is a wrong value of
    compute: Callable  # the check's inputs (a namespace) -> the wrong value
    why: str  # the misconception, one line
    what: str = ""  # how the value differs; empty: described like any other difference


@dataclasses.dataclass(frozen=True)
class Batch:
    """One draw of inputs for a check, with what to say when only this draw goes wrong."""

    inputs: dict
    label: str = ""  # e.g. "for logits of size 710 to 1000"; said when the answer fails here
    why_nonfinite: str = ""  # the reason for an inf or nan on this draw
    why_wrong: str = ""  # the reason for a finite wrong value on this draw


def close(got, expected):
    """Equal to rounding, inf and nan included (so a mistake that overflows can be matched)."""
    return got.shape == expected.shape and bool(
        np.all(np.isclose(got, expected, rtol=RTOL, atol=ATOL, equal_nan=True))
    )


def compare(name, quantities, got, expected, mistakes=(), inputs=None, batch=None, first=()):
    """Raise a Finding for the first quantity where `got` differs from `expected`.

    name: the learner's function, as the message names it; quantities: one Quantity per result,
    in the order the function returns them; got, expected: one array per quantity; mistakes:
    the exercise's Mistakes; inputs: what the Mistakes compute from (a namespace); batch: the
    draw, for its label and reasons; first: the indices of the quantities to blame first, when
    others are computed from them (Adam's update from m and v).
    """
    batch = batch or Batch({})
    got = [as_array(g) for g in got]
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
    what, why = describe(quantity, got[blamed], expected[blamed], own, inputs, batch)
    right = [q.name for i, q in enumerate(quantities) if i not in wrong]
    also_wrong = [quantities[i].name for i in wrong if i != blamed]
    asides = [batch.label] if batch.label else []
    if right:
        asides.append(f"{' and '.join(right)} {'is' if len(right) == 1 else 'are'} right")
    elif also_wrong:
        asides.append(f"{' and '.join(also_wrong)} {'is' if len(also_wrong) == 1 else 'are'} "
                      "wrong too")
    subject = name if len(quantities) == 1 else f"{name}: {quantity.name}"
    raise Finding(WRONG, f"{subject} {what}", why, asides)


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
    """(what, why): how `got` differs from `expected`, and the likely misconception."""
    for mistake in mistakes:
        value = wrong_value(mistake, inputs)
        if close(got, value) and np.isfinite(value).any():  # all inf or nan: nothing to tell by
            what = mistake.what or (
                shape_difference(quantity, got, expected)[0]
                if got.shape != expected.shape
                else relation(quantity, got, expected)[0]
            )
            return what, mistake.why
    if got.shape != expected.shape:
        return shape_difference(quantity, got, expected)
    finite = np.isfinite(got)
    if not finite.all():
        kinds = " or ".join(sorted({str(v) for v in got[~finite]}))  # inf, -inf, nan
        what = f"is {kinds} at {np.sum(~finite)} of {got.size} elements"
        return what, batch.why_nonfinite or "Something overflowed: look for an exp or a log of 0."
    what, why = relation(quantity, got, expected)
    return what, batch.why_wrong or why


def wrong_value(mistake, inputs):
    """The value `mistake` gives on these inputs; an empty array where it cannot be computed
    (a product whose shapes do not fit these inputs, say)."""
    with np.errstate(all="ignore"):
        try:
            return as_array(mistake.compute(inputs))
        except ValueError:
            return np.empty(0)


def shape_difference(quantity, got, expected):
    """(what, why) for a result of the wrong shape."""
    shapes = f"has shape {got.shape}, expected {expected.shape}"
    axes = quantity.axes
    for axis in range(expected.ndim):
        for reduce in (np.sum, np.mean):
            if close(got, reduce(expected, axis=axis)):
                done = "sum" if reduce is np.sum else "mean"
                return (f"{shapes}: it is the right value's {done} over the {axes[axis]} "
                        f"(axis {axis})", f"Return an array of shape {expected.shape}: do not "
                        f"reduce over the {axes[axis]}.")
    if got.ndim == 0 and close(got, expected.sum()):
        return f"{shapes}: it is the sum of all the right values", (
            f"Return an array of shape {expected.shape}, not the total.")
    if got.ndim == 0 and close(got, expected.mean()):
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
    return shapes, "Print the shape of each intermediate result against the shapes above."


def relation(quantity, got, expected):
    """(what, why) for a result of the right shape and the wrong finite values."""
    if got.size >= 2 and np.all(np.abs(expected) > 1e-9):
        ratio = got / expected
        if np.allclose(ratio, ratio.flat[0], rtol=1e-6, atol=0):
            factor = ratio.flat[0]
            what = f"is exactly {simple(factor)} times the right value at every element"
            if np.isclose(factor, -1):
                return what, quantity.why_sign
            for over, size in quantity.sums_over:
                if np.isclose(factor, 1 / size):
                    return what, (f"{quantity.name} sums over the {over}; this is their mean "
                                  f"(the sum divided by their number, {size}).")
            return what, "A constant factor is missing or extra: check every 1/2, 2 and sign."
    difference = got - expected
    if got.size >= 2 and np.allclose(difference, difference.flat[0], rtol=0, atol=1e-9):
        return (f"is off by exactly {difference.flat[0]:+.6g} at every element",
                "A constant term is missing or extra.")
    if got.ndim == 2 and got.shape[0] == got.shape[1] and close(got.T, expected):
        return "is the right value transposed", (
            "Its element (i, j) belongs at (j, i): check which factor of each product is "
            "transposed.")
    bad = ~np.isclose(got, expected, rtol=RTOL, atol=ATOL)
    index = tuple(int(i) for i in np.argwhere(bad)[0])
    where = f" at [{', '.join(map(str, index))}]" if got.ndim else ""
    return (f"is wrong at {bad.sum()} of {got.size} elements, e.g.{where}: {got[index]:.6g} "
            f"where {expected[index]:.6g} is right", "Compare your formula with the one above "
            "the exercise, term by term, on this element.")


def simple(number):
    """A factor as it would be written: 2, 1/2, -1, 1/784; else four significant digits."""
    fraction = Fraction(float(number)).limit_denominator(1000)
    if abs(float(fraction) - number) <= 1e-6 * abs(number):
        return str(fraction)
    return f"{number:.4g}"
