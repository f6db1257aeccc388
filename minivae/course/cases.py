"""Inputs a teacher adds to the checks, from a JSON file, without editing minivae.

Every check runs on inputs it draws itself. A teacher who wants more (an input the class got
wrong, a size the course does not try) writes them in a file, by exercise:

    {
      "kl": [{"label": "for mu = 1000", "mu": [[1000.0, -2.0]], "logvar": [[0.5, 3.0]]}],
      "iwae": [{"log_px_z": [[-90.0], [-95.0]], "log_pz": [[-3.0], [-2.5]],
                "log_qz": [[1.0], [0.5]], "why": "Take the log-sum-exp over axis 0."}]
    }

Each case holds the arrays (nested lists of numbers) and numbers that exercise's check takes
(each exercise's `CASE` says which, with their axes), a "label" said with a wrong answer's
message ("for mu = 1000"; by default "on case 1 of minivae_cases.json") and a "why", the advice
given when an answer goes wrong on that case only. The check runs its own inputs first, then the
teacher's; a backward pass is gradchecked on its own inputs only.

The file is `$MINIVAE_COURSE_CASES` if that is set, else `minivae_cases.json` in the current
folder, which is the notebook's folder in Jupyter and in nbgrader (put it beside the notebooks
of an nbgrader assignment's source folder: nbgrader copies it with them). `python -m
minivae.course.grade --cases FILE` reads the given one. A file that holds anything else (an
exercise or a name the check does not know, arrays whose shapes disagree) is refused with a
ConfigError that names the file, the case and what is wrong.
"""

import dataclasses
import json
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from minivae.errors import ConfigError

ENVIRONMENT = "MINIVAE_COURSE_CASES"
FILE_NAME = "minivae_cases.json"


@dataclasses.dataclass(frozen=True)
class Case:
    """What one case of an exercise holds: arrays by their axes, and numbers."""

    arrays: dict  # name -> its axes, e.g. {"mu": "B L"}; "..." stands for any axes, shared
    numbers: tuple = ()  # names of plain numbers, e.g. ("lr", "b1", "b2", "eps")
    optional: dict = dataclasses.field(default_factory=dict)  # array name -> inputs -> default
    check: Callable = None  # arrays and numbers -> what is wrong with them, or ""


def location():
    """The teacher's file of cases, or None if there is none."""
    named = os.environ.get(ENVIRONMENT)
    if named:
        if not Path(named).is_file():
            raise ConfigError(f"${ENVIRONMENT} names {named}, which is not a file: set it to "
                              "the JSON file of cases, or unset it")
        return Path(named)
    here = Path.cwd() / FILE_NAME
    return here if here.is_file() else None


def teacher_cases(exercise, case):
    """[(label, why, inputs)] of the teacher's cases for `exercise`, checked against `case`."""
    path = location()
    if path is None:
        return []
    everything = read(path)
    found = []
    for number, entry in enumerate(everything.get(exercise, []), start=1):
        where = f"{path}: case {number} of {exercise!r}"
        if not isinstance(entry, dict):
            raise ConfigError(f"{where} is a {type(entry).__name__}: write each case as an "
                              "object of names and values")
        label = entry.get("label", f"on case {number} of {path.name}")
        why = entry.get("why", "")
        found.append((str(label), str(why), inputs_of(entry, case, where)))
    return found


def read(path):
    try:
        everything = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ConfigError(f"{path}: cannot be read as JSON ({error}): fix or remove it") from None
    if not isinstance(everything, dict):
        raise ConfigError(f"{path}: holds a {type(everything).__name__}; it must be an object "
                          "of exercises, {\"kl\": [case, ...], ...}")
    from minivae.course.exercises import EXERCISES  # here: the exercises import this module

    names = [exercise.name for exercise in EXERCISES]
    unknown = sorted(set(everything) - set(names))
    if unknown:
        raise ConfigError(f"{path}: no exercise is called {', '.join(map(repr, unknown))}; "
                          f"the exercises are {', '.join(names)}")
    for exercise, entries in everything.items():
        if not isinstance(entries, list):
            raise ConfigError(f"{path}: {exercise!r} holds a {type(entries).__name__}; it must "
                              "be a list of cases")
    return everything


def inputs_of(entry, case, where):
    """A case's arrays (float64) and numbers, their names and shapes checked."""
    allowed = {*case.arrays, *case.numbers, "label", "why"}
    unknown = sorted(set(entry) - allowed)
    missing = sorted(set(case.arrays) - set(case.optional) - set(entry)
                     | set(case.numbers) - set(entry))
    takes = ", ".join([*case.arrays, *case.numbers])
    if unknown or missing:
        said = "; ".join([f"unknown: {', '.join(unknown)}"] * bool(unknown)
                         + [f"missing: {', '.join(missing)}"] * bool(missing))
        raise ConfigError(f"{where}: {said}. A case of this exercise takes {takes} (and "
                          "optionally label and why)")
    inputs = {}
    for name in case.numbers:
        value = entry[name]
        if isinstance(value, bool) or not isinstance(value, int | float) \
                or not np.isfinite(value):
            raise ConfigError(f"{where}: {name} is {value!r}; it must be a finite number")
        inputs[name] = float(value)
    for name in case.arrays:
        if name not in entry:
            continue
        try:
            array = np.asarray(entry[name], dtype=np.float64)
        except (TypeError, ValueError):
            raise ConfigError(f"{where}: {name} is not a (nested) list of numbers, one length "
                              "per level") from None
        if not np.isfinite(array).all():
            raise ConfigError(f"{where}: {name} holds a value that is not finite")
        inputs[name] = array
    problem = axes_problem(inputs, case.arrays) or (case.check(inputs) if case.check else "")
    if problem:
        raise ConfigError(f"{where}: {problem}")
    for name, default in case.optional.items():
        inputs.setdefault(name, default(inputs))
    return inputs


def axes_problem(inputs, axes):
    """What is wrong with the arrays' shapes given their axes ("B L", "T ..."), or ""."""
    sizes, shared = {}, None
    for name, spec in axes.items():
        if name not in inputs:
            continue
        shape, letters = inputs[name].shape, spec.split()
        fixed = [letter for letter in letters if letter != "..."]
        if "..." in letters:
            if len(shape) < len(fixed):
                return f"{name} has shape {shape}; it needs at least {len(fixed)} axes ({spec})"
            rest = shape[len(fixed):]
            if shared is not None and rest != shared:
                return f"{name}'s trailing axes {rest} differ from the others' {shared}"
            shared, shape = rest, shape[:len(fixed)]
        elif len(shape) != len(letters):
            return f"{name} has shape {shape}; it needs {len(letters)} axes ({spec})"
        if 0 in shape:
            return f"{name} has shape {shape}: every axis needs at least one element"
        for letter, size in zip(fixed, shape, strict=True):
            if sizes.setdefault(letter, (size, name))[0] != size:
                other = sizes[letter][1]
                return (f"{name} has {size} along {letter}, {other} has {sizes[letter][0]}: "
                        f"they must agree ({', '.join(f'{n} {a}' for n, a in axes.items())})")
    return ""
