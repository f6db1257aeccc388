"""Calling a learner's function: the one way every check does it, in a notebook and in the grader.

A check never calls a learner's function itself: it asks `invoke`, which

- passes copies of the check's arrays, by position, in the template's order, so that the check's
  own arrays stay as drawn, and compares each copy afterwards with what was passed: an argument
  the function changed in place is reported (`Outcome.mutated`);
- records every function of minivae's own code that ran during the call (`Outcome.ran`), through
  `sys.setprofile`, so that an answer which calls minivae's version of what it was meant to write
  can be told so;
- catches whatever the function raises (`Outcome.error`), with NumPy's floating-point warnings
  and Python's warnings silenced (an overflow is the check's to explain, and anything a grading
  cell writes to stderr would cost the learner the cell's points in nbgrader);
- turns the result into plain values (`plain`): NumPy arrays of numbers, Python numbers, None,
  tuples and lists of them; a minivae Tensor becomes its array; anything else an `Opaque` that
  only names its type;
- builds an argument the check passes as a `built.Built` (a model, an optimizer) just before the
  call, and reads it back as plain values after it (`Outcome.built`), with the backward pass of
  the result first where the check asks for it (`minivae.course.built`).

In a notebook the check calls `invoke` in the learner's own process. In the grader
(`minivae.course.grade`) a worker process runs the submission and calls `invoke` there
(`minivae.course.worker`), and only the Outcome, plain values, comes back to the grader's
process, where the check decides the verdict.
"""

import dataclasses
import inspect
import sys
import warnings
from pathlib import Path

import numpy as np

from minivae.course import built as objects

PACKAGE_DIR = str(Path(__file__).resolve().parents[1])  # minivae/, where minivae's code lives


@dataclasses.dataclass(frozen=True)
class Opaque:
    """A result that is not numbers (a dict, a string, a module): only its type travels."""

    type_name: str


@dataclasses.dataclass(frozen=True)
class Outcome:
    """What one call of a learner's function did."""

    result: object = None  # plain: arrays, numbers, None, Opaque, tuples and lists of them
    error: tuple = ()  # (exception type name, first line of its message) if it raised
    mutated: tuple = ()  # the positions of the arguments it changed in place
    ran: tuple = ()  # minivae functions run during the call, in the order of their first call
    profiler_replaced: bool = False  # the call replaced the profile function that watched it
    built: tuple = ()  # each built.Built argument read back after the call (and its backward)
    backward: tuple = ()  # (exception type, message) if the backward pass asked for failed
    strays: tuple = ()  # shapes of leaves of the result's graph that are no built object's


def parameters(function):
    """The function's parameters as (name, kind, has a default) triples; None if Python cannot
    tell (a NumPy ufunc, say). kind is inspect.Parameter's, as its name: "POSITIONAL_ONLY", ..."""
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError):
        return None
    return tuple((p.name, p.kind.name, p.default is not inspect.Parameter.empty)
                 for p in signature.parameters.values())


def invoke(function, args, backward=None):
    """Call `function(*copies of args)` and report what it did, as an Outcome.

    An argument that is a `built.Built` is built for the call and read back after it; with
    `backward` (True, or an upstream gradient) the result's backward pass runs first.
    """
    passed = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
    made = objects.build(passed)
    ran = {}  # a dict for its order: "minivae.ops.vae.kl_terms" -> None

    def watch(frame, event, arg):
        if event == "call" and frame.f_code.co_filename.startswith(PACKAGE_DIR):
            code = frame.f_code
            ran[f"{frame.f_globals.get('__name__', '?')}."
                f"{getattr(code, 'co_qualname', code.co_name)}"] = None

    previous, result, error = sys.getprofile(), None, ()
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        sys.setprofile(watch)
        try:
            result = function(*made)
        except (Exception, SystemExit) as raised:  # a learner's bug, whatever it is
            error = (type(raised).__name__, (str(raised).strip().split("\n") or [""])[0])
        finally:
            replaced = sys.getprofile() is not watch
            sys.setprofile(previous)
    mutated = tuple(i for i, (a, p) in enumerate(zip(args, passed, strict=True))
                    if isinstance(a, np.ndarray) and not same(a, p))
    answer = plain(result)  # as it was returned, before any backward pass
    failed, strays = (), ()
    if backward is not None and not error:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            failed = objects.backward_failure(result, backward)
            strays = objects.stray_leaves(result, made)
    return Outcome(answer, error, mutated, tuple(ran), replaced, objects.read_back(args, made),
                   failed, strays)


def same(a, b):
    """Equal shapes, dtypes and values, nan equal to nan."""
    return a.shape == b.shape and a.dtype == b.dtype and np.array_equal(a, b, equal_nan=True)


MAX_ITEMS = 100_000  # elements of a result made of nested lists; more is reported as Opaque


def plain(value, budget=None):
    """A result as plain values: what a check reads, and what the grader's worker can send."""
    budget = [MAX_ITEMS] if budget is None else budget
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, np.ndarray):
        return value if value.dtype.kind in "fiub" else Opaque(f"array of {value.dtype}")
    if isinstance(value, np.generic):
        return plain(np.asarray(value), budget)
    if isinstance(value, tuple | list):
        budget[0] -= len(value)
        if budget[0] < 0:
            return Opaque(f"{type(value).__name__} of more than {MAX_ITEMS} items")
        return (tuple if isinstance(value, tuple) else list)(plain(v, budget) for v in value)
    if type(value).__module__ == "minivae.engine.tensor":  # a Tensor: its array, off the GPU too
        data = value.data
        return plain(data if isinstance(data, np.ndarray) else data.get(), budget)
    return Opaque(type(value).__name__)


class Callee:
    """A learner's function as a check calls it: `parameters` (see `parameters`) and
    `invoke(args, backward=None) -> Outcome`. `Local` runs it in this process; the grader's
    `RemoteFunction`
    (minivae.course.remote) runs it in the worker process that holds the submission."""

    parameters = None

    def invoke(self, args, backward=None):
        raise NotImplementedError


class Local(Callee):
    """A function of this process: a notebook's check cell passes these."""

    def __init__(self, function):
        self.function, self.parameters = function, parameters(function)

    def invoke(self, args, backward=None):
        return invoke(self.function, args, backward)
