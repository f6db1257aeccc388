"""What a check says: a Verdict, and the Finding that stops a check at the first thing wrong.

A check calls the learner's functions on inputs it draws, compares each result with minivae's
own, and stops at the first quantity that differs, raising a `Finding`. `checked` turns the
check's body into a function that returns a `Verdict` either way, so a notebook cell that ends
with `minivae.course.check_kl(...)` prints one or two lines and never raises:

    Right: ...                    every result agrees, on every input
    Not yet: <what is wrong>      the first wrong quantity: its shape, which elements, by what
    <the likely misconception>    factor; and, on a second line, the mistake that explains it
    Not done yet: ...             the function still raises NotImplementedError (the blank)

Every learner function is called the same way, by `call`: by position, with the template's
parameters in the template's order. Before any value is compared, `call` says so when

- the function's parameters cannot take the template's arguments by position, or are the
  template's in another order (a message about the parameters, not about shapes);
- it runs minivae's own code, which the exercise asks the learner to write (status "flagged",
  shown to the learner as "Not yet");
- it raises: the exception, and the shapes of the arguments it was given;
- it changes one of its arguments in place.
"""

import dataclasses
import functools

import numpy as np

from minivae.course.invoke import Callee, Local, Opaque

RIGHT, WRONG, NOT_DONE, FLAGGED = "right", "not yet", "not done", "flagged"
PREFIX = {RIGHT: "Right", WRONG: "Not yet", NOT_DONE: "Not done yet", FLAGGED: "Not yet"}
ALL_OF_MINIVAE = ("minivae",)  # what an exercise's functions may not run, unless it says less


@dataclasses.dataclass(frozen=True)
class Verdict:
    """The outcome of one exercise's check. A notebook shows it as its message."""

    exercise: str  # the exercise's name, e.g. "kl"
    status: str  # RIGHT, WRONG, NOT_DONE or FLAGGED
    message: str  # one or two lines, starting with "Right:", "Not yet:" or "Not done yet:"

    @property
    def passed(self):
        return self.status == RIGHT

    def points(self, out_of):
        """For an nbgrader test cell: print the message; `out_of` if right, else 0.0.

        nbgrader gives a test cell whose output is one number that many points, so a check
        cell ending in `.points(2)` is graded by its verdict without raising, and the rest of
        the notebook runs on for the learner as it does in a check cell that shows a Verdict.
        """
        print(self.message)
        return float(out_of) if self.passed else 0.0

    def __repr__(self):
        return self.message

    __str__ = __repr__


class Finding(Exception):
    """Raised inside a check at the first thing wrong; `checked` turns it into a Verdict.

    what: the first line, what is wrong with which quantity; asides: short notes said after it in
    parentheses ("dmu is right"); why: the likely misconception, a sentence; rounding: the
    difference is of rounding size, which a check reports only if no other input shows more
    (`compare.RoundingLater`).
    """

    def __init__(self, status, what, why="", asides=(), rounding=False):
        super().__init__(what)
        self.status, self.what, self.why, self.asides = status, what, why, tuple(asides)
        self.rounding = rounding

    def line(self):
        """The first line, less its prefix: what, then the asides."""
        return self.what + (f" ({'; '.join(self.asides)})" if self.asides else "")

    def adding(self, aside):
        return Finding(self.status, self.what, self.why, [*self.asides, aside], self.rounding)


@dataclasses.dataclass(frozen=True)
class Template:
    """A function the learner writes, as the notebook's template defines it."""

    name: str  # e.g. "adam_step"
    parameters: tuple  # in the template's order, e.g. ("theta", "g", "m", "v", "t", "lr", ...)

    def signature(self):
        return f"{self.name}({', '.join(self.parameters)})"


@dataclasses.dataclass
class Learner:
    """A learner's function inside a check: its template, how to call it, what it may not run."""

    template: Template
    callee: Callee  # invoke.Local in a notebook; the grader's RemoteFunction
    forbidden: tuple = ALL_OF_MINIVAE  # module prefixes whose code it may not run

    @property
    def name(self):
        return self.template.name

    def renamed(self):
        """Its positional parameters' names where they differ from the template's, else None."""
        names = positional_names(self.callee.parameters)
        n = len(self.template.parameters)
        return names[:n] if names is not None and names[:n] != list(self.template.parameters) \
            else None


def checked(exercise, templates, forbidden=ALL_OF_MINIVAE):
    """Decorator: the check's body takes one Learner per template and returns (what, why) for a
    right answer or raises a Finding; the decorated check takes the learner's functions (or the
    grader's RemoteFunctions) and returns a Verdict in both cases."""

    def decorate(body):
        @functools.wraps(body)
        def check(*functions):
            learners = [Learner(t, f if isinstance(f, Callee) else Local(f), forbidden)
                        for t, f in zip(templates, functions, strict=True)]
            try:
                what, why = body(*learners)
                status = RIGHT
            except Finding as finding:
                finding = with_names_aside(finding, learners)
                status, what, why = finding.status, finding.line(), finding.why
            message = f"{PREFIX[status]}: {what}." + (f"\n{why}" if why else "")
            return Verdict(exercise, status, message)

        check.exercise, check.templates, check.forbidden = exercise, tuple(templates), forbidden
        return check

    return decorate


def with_names_aside(finding, learners):
    """A wrong value from a function whose parameters are named otherwise than the template's:
    say that the check passes them by position, which may be why."""
    if finding.status != WRONG:
        return finding
    for learner in learners:
        names = learner.renamed()
        if names and finding.what.startswith(learner.name) and not finding.what.startswith(
                f"{learner.name} takes"):  # a message about its parameters says it already
            return finding.adding(f"its parameters are named ({', '.join(names)}) where the "
                                  f"template has ({', '.join(learner.template.parameters)}): "
                                  "the check passes them by position, in the template's order")
    return finding


SHAPES_HINT = "Run it on small arrays of these shapes and print the shape of each intermediate."
POSITIONAL = ("POSITIONAL_ONLY", "POSITIONAL_OR_KEYWORD")


def positional_names(parameters):
    return None if parameters is None else [n for n, kind, _ in parameters if kind in POSITIONAL]


def call(learner, *args, why_error=SHAPES_HINT):
    """The learner's function on these arguments, by position, as plain values (invoke.plain).

    Raises a Finding when its parameters do not fit the template, when it still raises
    NotImplementedError (the untouched blank: "not done yet"), runs minivae's own code, raises
    anything else (named with the shapes of the inputs, and `why_error` as its advice), or
    changes an argument in place.
    """
    return called(learner, *args, why_error=why_error).result


def called(learner, *args, why_error=SHAPES_HINT, backward=None):
    """As `call`, but the whole invoke.Outcome: with the built objects read back after the call
    (arguments passed as built.Built) and, with `backward`, after the backward pass of the
    result (see minivae.course.built)."""
    check_parameters(learner)
    outcome = learner.callee.invoke(args, backward)
    name = learner.name
    if outcome.error and outcome.error[0] == "NotImplementedError":
        raise Finding(NOT_DONE, f"{name} still raises NotImplementedError",
                      "Write your answer in place of the `raise` line (and delete that line), "
                      "run its cell, then this one again.")
    ran = [r for r in outcome.ran if any(r == p or r.startswith(p + ".")
                                         for p in learner.forbidden)]
    if ran or outcome.profiler_replaced:
        shown = ", ".join(ran[:3]) + (f" and {len(ran) - 3} more" if len(ran) > 3 else "")
        what = (f"{name} runs minivae's own code ({shown})" if ran else
                f"{name} replaced the profile function (sys.setprofile) that the check watches "
                "it with")
        alone = ("with the arguments and NumPy alone" if learner.forbidden == ALL_OF_MINIVAE
                 else "without what computes the answer whole (" + ", ".join(
                     map(said, learner.forbidden)) + ")")
        raise Finding(FLAGGED, what, f"The exercise is to write this yourself, {alone}: the check "
                      "compares your function with minivae's, so an answer that calls minivae's "
                      "proves nothing.")
    if outcome.error:
        shapes = ", ".join(str(a.shape) for a in args if isinstance(a, np.ndarray))
        if outcome.error[0] in ("NameError", "UnboundLocalError"):
            why_error = ("A name your function uses is not defined where it runs: use its "
                         f"parameters ({', '.join(learner.template.parameters)}), NumPy as np, "
                         "and names defined above it in the notebook.")
        raise Finding(WRONG, f"{name} raised {outcome.error[0]}: {outcome.error[1]} (on inputs "
                      f"of shapes {shapes})", why_error)
    if outcome.mutated:
        changed = [learner.template.parameters[i] for i in outcome.mutated]
        raise Finding(WRONG, f"{name} changes its argument{'s' if len(changed) > 1 else ''} "
                      f"{' and '.join(changed)} in place", "The caller still holds the arrays it "
                      "passed and uses them after the call (a backward pass's g is shared with "
                      "other ops; Adam's caller keeps its own state): compute new arrays, "
                      f"{changed[0]} = ... rather than {changed[0]} *= ..., "
                      f"{changed[0]} += ... or {changed[0]}[...] = ....")
    return outcome


def said(prefix):
    """A forbidden prefix as a message names it: "VAE.loss" for minivae.models.vae.VAE.loss."""
    parts = prefix.split(".")
    return ".".join(parts[-2:]) if len(parts) > 2 and parts[-2][:1].isupper() else prefix


def check_parameters(learner):
    """Raise a Finding if the learner's parameters cannot take the template's arguments by position,
    or are the template's names in another order."""
    parameters, template = learner.callee.parameters, learner.template
    if parameters is None:  # Python cannot tell (a NumPy ufunc): calling it will tell
        return
    n, expected = len(template.parameters), ", ".join(template.parameters)
    positional = [(name, has_default) for name, kind, has_default in parameters
                  if kind in POSITIONAL]
    takes_more = any(kind == "VAR_POSITIONAL" for _, kind, _ in parameters)
    required = [name for name, has_default in positional if not has_default]
    keyword_required = [name for name, kind, has_default in parameters
                        if kind == "KEYWORD_ONLY" and not has_default]
    fits = (len(positional) >= n or takes_more) and len(required) <= n and not keyword_required
    why = (f"Keep the template's parameters in the template's order, def {template.signature()}: "
           f"the check passes its {n} arguments by position.")
    if not fits:
        raise Finding(WRONG, f"{learner.name} takes ({shown(parameters)}), but the check calls "
                      f"it with {n} argument{'s' if n > 1 else ''} by position: "
                      f"{template.signature()}", why)
    names = [name for name, _ in positional][:n]
    if names != list(template.parameters) and sorted(names) == sorted(template.parameters):
        first = next(k for k in range(n) if names[k] != template.parameters[k])
        raise Finding(WRONG, f"{learner.name} takes the template's parameters in another order, "
                      f"({', '.join(names)}): the check passes ({expected}) by position, so "
                      f"your {names[first]} receives {template.parameters[first]}", why)


def shown(parameters):
    """Parameters as a def line writes them: "theta, g, *, lr=..., **options"."""
    parts, starred = [], False
    for name, kind, has_default in parameters:
        if kind == "VAR_POSITIONAL":
            parts.append(f"*{name}")
            starred = True
        elif kind == "VAR_KEYWORD":
            parts.append(f"**{name}")
        else:
            if kind == "KEYWORD_ONLY" and not starred:
                parts.append("*")
                starred = True
            parts.append(name + ("=..." if has_default else ""))
    return ", ".join(parts)


def as_array(value):
    """A learner's plain result as a NumPy array of numbers, keeping a floating dtype (float32
    stays float32, for the float32 policy of `compare`); other numbers become float64."""
    if isinstance(value, Opaque):
        raise TypeError(value.type_name)
    array = np.asarray(value)
    if array.dtype.kind not in "fiub":
        raise TypeError(str(array.dtype))
    return array if array.dtype.kind == "f" else array.astype(np.float64)


def unpack(name, result, names):
    """The learner's result as one array per name in `names`, or a Finding: why not."""
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
            kind = part.type_name if isinstance(part, Opaque) else type(part).__name__
            raise Finding(WRONG, f"{name}: {part_name} is a {kind}, not an array of numbers",
                          f"Return {expected} as NumPy arrays.") from None
    return arrays


def both(first, check_first, second, check_second):
    """Check two of the learner's functions (Learners), each by a function of no arguments that
    raises a Finding or returns a result: the two results, or one Finding for both (`combined`),
    so that a message about the first says how the second stands."""
    findings, results = {}, []
    for learner, check in ((first, check_first), (second, check_second)):
        try:
            results.append(check())
        except Finding as finding:
            findings[learner.name] = finding
            results.append(None)
    if findings:
        raise combined(findings, [first.name, second.name])
    return results


def combined(findings, names, asides=None):
    """One Finding for several functions checked together ({name: Finding} of the wrong ones):
    the first flagged one's, else the first wrong one's, else the first not done, with how each
    of the others stands as an aside ("kl_gradient: right"), or as `asides` says for a name (a
    function not checked because another one is wrong). All of them not done: one line."""
    asides = asides or {}
    if len(findings) == len(names) > 1 and all(f.status == NOT_DONE for f in findings.values()):
        listed = f"{', '.join(names[:-1])} and {names[-1]}"
        return Finding(NOT_DONE, f"{listed} still raise NotImplementedError",
                       findings[names[0]].why)
    shown = next(n for status in (FLAGGED, WRONG, NOT_DONE) for n in names
                 if n in findings and findings[n].status == status)
    status = {None: RIGHT, NOT_DONE: "not done yet", WRONG: "wrong too", FLAGGED: "flagged too"}
    others = [f"{n}: {asides.get(n) or status[findings[n].status if n in findings else None]}"
              for n in names if n != shown]
    finding = findings[shown]
    return Finding(finding.status, finding.what, finding.why, [*finding.asides, *others])
