"""What a check says: a Verdict, and the Finding that stops a check at the first thing wrong.

A check calls the learner's function on inputs it draws, compares each result with minivae's
own, and stops at the first quantity that differs, raising a `Finding`. `checked` turns the
check's body into a function that returns a `Verdict` either way, so a notebook cell that ends
with `minivae.course.check_kl(...)` prints one or two lines and never raises:

    Right: ...                    every result agrees, on every input
    Not yet: <what is wrong>      the first wrong quantity: its shape, which elements, by what
    <the likely misconception>    factor; and, on a second line, the mistake that explains it
    Not done yet: ...             the function still raises NotImplementedError (the blank)
"""

import dataclasses
import functools

import numpy as np

from minivae.engine.tensor import Tensor

RIGHT, WRONG, NOT_DONE = "right", "not yet", "not done"
PREFIX = {RIGHT: "Right", WRONG: "Not yet", NOT_DONE: "Not done yet"}


@dataclasses.dataclass(frozen=True)
class Verdict:
    """The outcome of one exercise's check. A notebook shows it as its message."""

    exercise: str  # the exercise's name, e.g. "kl"
    status: str  # RIGHT, WRONG or NOT_DONE
    message: str  # one or two lines, starting with "Right:", "Not yet:" or "Not done yet:"

    @property
    def passed(self):
        return self.status == RIGHT

    def __repr__(self):
        return self.message

    __str__ = __repr__


class Finding(Exception):
    """Raised inside a check at the first thing wrong; `checked` turns it into a Verdict.

    what: the first line, what is wrong with which quantity; asides: short notes said after it in
    parentheses ("dmu is right"); why: the likely misconception, a sentence.
    """

    def __init__(self, status, what, why="", asides=()):
        super().__init__(what)
        self.status, self.what, self.why, self.asides = status, what, why, tuple(asides)

    def line(self):
        """The first line, less its prefix: what, then the asides."""
        return self.what + (f" ({'; '.join(self.asides)})" if self.asides else "")


def checked(exercise):
    """Decorator: the check's body returns (what, why) for a right answer or raises a Finding;
    the decorated check returns a Verdict in both cases."""

    def decorate(body):
        @functools.wraps(body)
        def check(*functions):
            try:
                what, why = body(*functions)
                status = RIGHT
            except Finding as finding:
                status, what, why = finding.status, finding.line(), finding.why
            message = f"{PREFIX[status]}: {what}." + (f"\n{why}" if why else "")
            return Verdict(exercise, status, message)

        return check

    return decorate


SHAPES_HINT = "Run it on small arrays of these shapes and print the shape of each intermediate."


def call(name, function, *args, why_error=SHAPES_HINT, **kwargs):
    """`function(*args, **kwargs)` on copies of the arrays, as the learner wrote it.

    NotImplementedError (the untouched blank) is "not done yet"; any other exception is a wrong
    answer, named with the shapes of the inputs that raised it, and `why_error` as its advice.
    """
    copies = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
    try:
        with np.errstate(all="ignore"):  # an overflow is the check's to explain, in its words
            return function(*copies, **kwargs)
    except NotImplementedError:
        raise Finding(NOT_DONE, f"{name} still raises NotImplementedError",
                      "Write your answer in place of the `raise` line (and delete that line), "
                      "run its cell, then this one again.") from None
    except Exception as error:  # a learner's bug, whatever it is, becomes the message
        shapes = ", ".join(str(a.shape) for a in args if isinstance(a, np.ndarray))
        first_line = (str(error).strip().split("\n") or [""])[0]
        raise Finding(
            WRONG,
            f"{name} raised {type(error).__name__}: {first_line} (on inputs of shapes {shapes})",
            why_error,
        ) from None


def as_array(value):
    """A learner's result as a float64 NumPy array (a minivae Tensor gives its data)."""
    if isinstance(value, Tensor):
        value = value.data
    return np.asarray(value, dtype=np.float64)


def unpack(name, result, names):
    """The learner's result as one float64 array per name in `names`, or a Finding: why not."""
    expected = f"({', '.join(names)})" if len(names) > 1 else names[0]
    if result is None:
        raise Finding(WRONG, f"{name} returned None, expected {expected}",
                      "Did the function end without a `return`?")
    parts = result if len(names) > 1 else (result,)
    if len(names) > 1 and (not isinstance(result, tuple | list) or len(result) != len(names)):
        count = len(result) if isinstance(result, tuple | list) else 1
        got = f"{count} value{'' if count == 1 else 's'}"
        raise Finding(WRONG, f"{name} returned {got}, expected {len(names)}: {expected}",
                      f"Return all of them, in this order: return {', '.join(names)}.")
    arrays = []
    for part_name, part in zip(names, parts, strict=True):
        try:
            arrays.append(as_array(part))
        except (TypeError, ValueError):
            raise Finding(WRONG, f"{name}: {part_name} is a {type(part).__name__}, not an "
                          "array of numbers", f"Return {expected} as NumPy arrays.") from None
    return arrays
