"""What a check says must be true: the float32 policy, factors, parameters, in-place changes.

- float32: every exercise's check says the same of a float32 result, "is float32, not float64",
  with the reason, and says whether its values are right to float32's precision.
- A factor is named only when it is exact and simple (2, 1/2, -1, 1/B, or a named constant such
  as lr), with advice that fits it; "exactly 1 times" and "exactly 371/237 times" cannot be said.
- A function whose parameters do not take the template's arguments by position is told so, in
  words about its parameters; renamed parameters used consistently are right (the check passes
  them by position); one that changes an argument in place is told which.
"""

import numpy as np
import pytest
from support.course_notebooks import exercise_cell, notebook_of

from minivae.course import EXERCISES
from minivae.course.compare import Batch, Quantity, compare
from minivae.course.verdict import Finding

BY_NAME = {exercise.name: exercise for exercise in EXERCISES}


def solution(exercise):
    """The solution's functions, from its notebook's exercise cell."""
    namespace = {"np": np}
    exec(exercise_cell(notebook_of(exercise).read_text(), exercise), namespace)
    return [namespace[f] for f in exercise.functions]


def in_float32(function):
    """The function with its arrays and numbers returned in float32 (a Tensor, VAE's loss, stays
    as it is: it belongs to the check's float64 model)."""
    def single(r):
        return r.astype(np.float32) if isinstance(r, np.ndarray) else np.float32(r) if \
            isinstance(r, float) else r

    def answer(*args):
        result = function(*args)
        return tuple(map(single, result)) if isinstance(result, tuple) else single(result)

    return answer


@pytest.mark.parametrize("exercise", EXERCISES, ids=lambda e: e.name)
def test_every_check_says_the_same_of_a_float32_answer(exercise):
    verdict = exercise.check(*[in_float32(f) for f in solution(exercise)])
    assert verdict.status == "not yet", verdict.message
    first, why = verdict.message.split("\n")
    assert "is float32, not float64" in first
    assert "to float32's precision it is the right value" in first
    assert why.startswith("Compute in float64 here: the check's inputs are float64")


def said(got, expected, constants=(), sums_over=()):
    """The message `compare` gives for `got` against `expected`, one quantity, no mistakes."""
    quantity = Quantity("q", ("examples", "latent dimensions"), sums_over)
    with pytest.raises(Finding) as raised:
        compare("f", [quantity], [got], [expected], batch=Batch({}, constants=constants))
    return raised.value.line() + "\n" + raised.value.why


RIGHT = np.random.default_rng(0).normal(size=(4, 3))


@pytest.mark.parametrize("factor, says, never", [
    (2.0, "is exactly 2 times the right value", "0.5"),
    (0.5, "check every 1/2 and 2", "times the same number"),
    (-1.0, "is exactly -1 times", "1/2"),
    (3 / 4, "is exactly 3/4 times", "check every 1/2 and 2"),
    (371 / 237, "times the same number, 1.565", "exactly"),
    (0.1565, "times the same number, 0.1565", "1/2"),
    (1 / 50, "times the same number, 0.02", "1/2"),
    (17 / 4, "times the same number, 4.25", "exactly"),
    (1 + 3e-8, "significant digits only", "exactly"),
    (1 + 2e-6, "significant digits only", "times"),
])
def test_a_factor_is_named_only_when_it_is_exact_and_simple(factor, says, never):
    message = said(factor * RIGHT, RIGHT)
    assert says in message and never not in message, message


def test_a_factor_that_is_a_named_constant_is_named_with_its_advice():
    assert "is the right value divided by lr = 0.02 at every element" in said(
        50 * RIGHT, RIGHT, constants=[("lr", 0.02)])
    assert "A factor lr is missing." in said(50 * RIGHT, RIGHT, constants=[("lr", 0.02)])
    assert "this is their mean (the sum divided by their number, 784)" in said(
        RIGHT / 784, RIGHT, sums_over=[("pixels", 784)])
    assert "is off by exactly -log k = -1.60944 at every element" in said(
        RIGHT - np.log(5), RIGHT, constants=[("log k", np.log(5))])
    assert "is off by the same amount, +0.123457, at every element" in said(RIGHT + 0.1234567,
                                                                          RIGHT)


def test_an_element_that_is_wrong_is_shown_to_the_digits_that_tell_it_apart():
    wrong = RIGHT.copy()
    wrong[0, 0] *= 1 + 1e-7  # the first wrong element: equal to six digits
    wrong[3, 2] += 1.0  # one element far off, so the message is not about rounding
    message = said(wrong, RIGHT)
    assert "is wrong at 2 of 12 elements, e.g. at [0, 0]: " in message, message
    mine, right = message.split("e.g. at [0, 0]: ")[1].split(" is right")[0].split(" where ")
    assert mine != right and float(mine) == pytest.approx(wrong[0, 0], rel=1e-7), message


def kl_value(mu, logvar):
    return 0.5 * (mu**2 + np.exp(logvar) - 1 - logvar)


def kl_gradient(mu, logvar):
    return mu, (np.exp(logvar) - 1) / 2


def test_parameters_are_told_about_in_words_about_parameters():
    def keyword_only(mu, *, logvar):
        return kl_value(mu, logvar)

    def too_many(mu, logvar, beta):
        return kl_value(mu, logvar)

    def renamed(m, lv):  # by position, the names do not matter
        return kl_value(m, lv)

    def swapped(logvar, mu):
        return kl_value(mu, logvar)

    check = BY_NAME["kl"].check
    told = check(keyword_only, kl_gradient).message
    assert "kl_closed_form takes (mu, *, logvar), but the check calls it with 2 arguments by " \
           "position: kl_closed_form(mu, logvar)" in told
    assert "shape" not in told
    assert "takes (mu, logvar, beta)" in check(too_many, kl_gradient).message
    assert check(renamed, kl_gradient).passed
    told = check(swapped, kl_gradient).message
    assert "takes the template's parameters in another order, (logvar, mu): the check passes " \
           "(mu, logvar) by position, so your logvar receives mu" in told
    assert check(lambda *args: kl_value(*args), kl_gradient).passed
    assert check(lambda mu, logvar, beta=1.0: beta * kl_value(mu, logvar), kl_gradient).passed


def test_an_argument_changed_in_place_is_named():
    (linear_backward,) = solution(BY_NAME["linear"])

    def scales_g(g, x, weight):
        g *= 2.0  # the caller's g written to; the results right all the same
        return linear_backward(g / 2, x, weight)

    message = BY_NAME["linear"].check(scales_g).message
    assert message.startswith("Not yet: linear_backward changes its argument g in place."), \
        message
