"""A learner's backward pass plugged into a minivae Function, and proved by `minivae.gradcheck`.

The Function's forward is minivae's own (so a wrong forward cannot hide a wrong backward); its
backward calls the learner's. `gradcheck` then compares that backward with central differences
of the forward on every element, as it does for every op of the package.
"""

from minivae.course.verdict import WRONG, Finding
from minivae.engine.function import Function
from minivae.engine.gradcheck import gradcheck


def with_backward(name, forward, backward):
    """A Function subclass named `name`: forward(ctx, *arrays) and backward(ctx, g) as given."""
    return type(name, (Function,), {"forward": staticmethod(forward),
                                    "backward": staticmethod(backward)})


def gradcheck_all(name, fn, draws):
    """gradcheck `fn` on each list of input arrays in `draws`; the largest error of them all.

    Called once the learner's gradients equal minivae's, so a failure here would mean that
    minivae's own backward pass is wrong: it is reported as it is, without a diagnosis.
    """
    worst = 0.0
    for inputs in draws:
        report = gradcheck(fn, inputs, name=name)
        if not report.passed:
            raise Finding(WRONG, f"{name}: gradcheck fails: {report}")
        worst = max(worst, report.max_rel_error)
    return worst
