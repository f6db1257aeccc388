"""The exercises' notebooks as the course tests use them: find an exercise's cell, plant a
mistake in it, and run its check as the notebook's check cell does (in this process)."""

import numpy as np

from minivae.course.make_exercises import regions
from minivae.course.submission import code_cells
from support import ROOT

NOTEBOOKS = ROOT / "notebooks"


def notebook_of(exercise, folder=NOTEBOOKS):
    (path,) = folder.glob(f"{exercise.notebook}_*.py")
    return path


def exercise_cell(text, exercise):
    """The code cell of a notebook's text that defines the exercise's first function."""
    (cell,) = [c for c in code_cells(text, ".py") if f"def {exercise.functions[0]}(" in c]
    return cell


def in_notebook(cell, exercise):
    """The Verdict of the exercise's check on the functions `cell` defines, in this process, as
    the notebook's check cell gives it (the cell needs NumPy as np, as the notebooks import it)."""
    namespace = {"np": np}
    exec(cell, namespace)
    return exercise.check(*[namespace[f] for f in exercise.functions])


def plant(text, exercise, edits):
    """The notebook's text with each (old, new) made in the exercise's cell: inside its solution
    regions, where `old` must stand exactly once, or, for an `old` no region holds (a def line),
    where it stands exactly once in the cell."""
    cell = exercise_cell(text, exercise)
    lines = cell.split("\n")
    for old, new in edits:
        spans = [(b + 1, e) for b, e, _ in regions(lines)]
        inside = [(b, e) for b, e in spans if old in "\n".join(lines[b:e])] or [(0, len(lines))]
        assert len(inside) == 1, f"{old!r} is in {len(inside)} of the regions"
        b, e = inside[0]
        part = "\n".join(lines[b:e])
        assert part.count(old) == 1, f"{old!r} stands {part.count(old)} times where it is planted"
        lines[b:e] = part.replace(old, new).split("\n")
    return text.replace(cell, "\n".join(lines))
