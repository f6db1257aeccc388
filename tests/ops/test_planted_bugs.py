"""The gradient checker catches wrong backward passes: it is tested by planting them.

Each mutation below is applied to the backward pass of every op of ops.gradcheck_cases, in each
form the op has (plain, and fast where it has one). Whenever the mutated gradient really differs
from the true one, gradcheck must report a failure.
"""

import numpy as np
import pytest

from minivae.engine.gradcheck import gradcheck
from minivae.ops.gradcheck_cases import CASES, RandomPicker, forms, running


def flip_sign(g):
    return -g


def drop_factor_of_two(g):
    return 0.5 * g


def misroute(g):
    """A transposed gradient where the last two axes are square, else the elements reversed."""
    if g.ndim >= 2 and g.shape[-1] == g.shape[-2]:
        return np.swapaxes(g, -1, -2)
    return g.reshape(-1)[::-1].reshape(g.shape)


MUTATIONS = [flip_sign, drop_factor_of_two, misroute]


def plant(monkeypatch, function, mutate):
    """Replace function.backward by a wrong one; returns a list that records if it changed g."""
    correct = function.backward
    changed = []

    def wrong_backward(ctx, *grads):
        result = correct(ctx, *grads)
        single = not isinstance(result, tuple)
        result = (result,) if single else result
        mutated = tuple(None if g is None else mutate(g) for g in result)
        changed.append(
            any(
                g is not None and np.abs(g - m).max() > 1e-4
                for g, m in zip(result, mutated, strict=True)
            )
        )
        return mutated[0] if single else mutated

    monkeypatch.setattr(function, "backward", staticmethod(wrong_backward))
    return changed


CASE_FORMS = [(case, form) for case in CASES for form in forms(case.function)]


@pytest.mark.parametrize("mutate", MUTATIONS, ids=lambda m: m.__name__)
@pytest.mark.parametrize(
    "case, form", CASE_FORMS, ids=[f"{c.name}-{f.label}" for c, f in CASE_FORMS]
)
def test_planted_wrong_backward_is_caught(case, form, mutate, monkeypatch):
    caught = 0
    for seed in range(6):
        inputs = case.draw(RandomPicker(seed))
        with monkeypatch.context() as patch, running(form.label):
            changed = plant(patch, form.function, mutate)
            report = gradcheck(case.call, inputs, name=case.name)
        if any(changed):
            assert not report.passed, f"{mutate.__name__} in {case.name} went unnoticed: {report}"
            caught += 1
        else:
            assert report.passed, f"unchanged gradient reported as wrong: {report}"
    if mutate is not misroute:  # sign and scale change every nonzero gradient
        assert caught == 6
    else:  # misrouting can be harmless (e.g. a constant gradient), but not for every draw
        assert caught >= 1, f"misroute never changed {case.name}'s gradient: pick other shapes"
