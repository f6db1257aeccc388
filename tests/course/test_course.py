"""The exercises' checks, in every direction: solutions pass, blanks fail, mistakes are named.

For every exercise in minivae.course.EXERCISES, run as a notebook runs it (the check in the
learner's process, on the functions the exercise's cell defines):
- its solution, as the solution notebook writes it, passes its check, in under a second;
- its blank, as the generated exercise notebook leaves it, fails with "Not done yet";
- each mistake of tests/support/planted_mistakes.py, planted into the solution's cell, fails
  with its own message and status, and the teacher's guide lists exactly those mistakes.
tests/course/test_grader.py shows that the grader gives every one of these the same verdict.
The exercise notebooks must be what `python -m minivae.course.make_exercises` makes of the
solution notebooks.
"""

import re
import time

import pytest
from support import ROOT
from support.course_notebooks import exercise_cell, in_notebook, notebook_of, plant
from support.planted_mistakes import MISTAKES

from minivae.course import EXERCISES, make_exercises
from minivae.course.make_exercises import RegionError, exercise_version, regions
from minivae.course.submission import code_cells

NOTEBOOKS = ROOT / "notebooks"
BY_NAME = {exercise.name: exercise for exercise in EXERCISES}
GUIDE = ROOT / "docs" / "teachers_guide.md"


# -- the exercise notebooks are generated from the solution notebooks --------------------


def test_the_committed_exercise_notebooks_are_what_the_script_makes():
    made = {}
    for source in sorted(NOTEBOOKS.glob("[0-9][0-9]_*.py")):
        text = exercise_version(source.read_text(), f"notebooks/{source.name}")
        if text is not None:
            made[source.name] = text
    committed = {p.name: p.read_text() for p in (ROOT / "exercises").glob("[0-9][0-9]_*.py")}
    assert sorted(committed) == sorted(made), "run: python -m minivae.course.make_exercises"
    for name, text in made.items():
        assert committed[name] == text, f"exercises/{name} is stale: run the script"
    assert make_exercises.main(["--check", "--notebooks", str(NOTEBOOKS),
                                "--out", str(ROOT / "exercises")]) == 0


def test_every_exercise_is_marked_in_its_notebook_and_checked_by_its_check_cell():
    for exercise in EXERCISES:
        text = notebook_of(exercise).read_text()
        marked = {name for _, _, name in regions(text.split("\n"))}
        assert set(exercise.functions) <= marked, exercise.name
        check_call = f"minivae.course.{exercise.check.__name__}({', '.join(exercise.functions)})"
        cells = [c.strip() for c in code_cells(text, ".py")]
        assert check_call in cells, f"no cell is exactly {check_call}"


def test_a_region_becomes_nbgraders_stub_and_a_bad_region_is_refused():
    solution = ("# %% [markdown]\n# # Title\n\n# %%\ndef f(x):\n    \"\"\"Doc.\"\"\"\n"
                "    ### BEGIN SOLUTION\n    return x\n    ### END SOLUTION\n")
    made = exercise_version(solution)
    assert "    # YOUR CODE HERE\n    raise NotImplementedError()\n" in made
    assert "return x" not in made and "**The exercise version of this notebook**" in made
    assert exercise_version("# %%\nx = 1\n") is None
    for broken, says in [("def f():\n    ### BEGIN SOLUTION\n    return 1\n", "never closed"),
                         ("### END SOLUTION\n", "without a ### BEGIN"),
                         ("### BEGIN SOLUTION\nx = 1\n### END SOLUTION\n", "inside a function"),
                         ("def f():\n    ### BEGIN SOLUTION\n    ### BEGIN SOLUTION\n",
                          "inside the region")]:
        with pytest.raises(RegionError, match=says):
            regions(broken.split("\n"), "x.py")


# -- every direction of every check ----------------------------------------------------


@pytest.mark.parametrize("exercise", EXERCISES, ids=lambda e: e.name)
def test_the_solution_passes_its_check_in_under_a_second(exercise):
    cell = exercise_cell(notebook_of(exercise).read_text(), exercise)
    started = time.perf_counter()
    verdict = in_notebook(cell, exercise)
    seconds = time.perf_counter() - started
    assert verdict.passed and verdict.message.startswith("Right: "), verdict.message
    assert len(verdict.message.split("\n")) == 2
    assert seconds < 1.0, f"the check of {exercise.name} took {seconds:.2f} s"


@pytest.mark.parametrize("exercise", EXERCISES, ids=lambda e: e.name)
def test_the_untouched_blank_fails_as_not_done(exercise):
    cell = exercise_cell(notebook_of(exercise, ROOT / "exercises").read_text(), exercise)
    verdict = in_notebook(cell, exercise)
    assert verdict.status == "not done" and verdict.message.startswith("Not done yet: "), \
        verdict.message
    assert "NotImplementedError" in verdict.message


@pytest.mark.parametrize("mistake", MISTAKES, ids=lambda m: m.id)
def test_a_planted_mistake_fails_with_its_message(mistake):
    exercise = BY_NAME[mistake.exercise]
    text = plant(notebook_of(exercise).read_text(), exercise, mistake.edits)
    verdict = in_notebook(exercise_cell(text, exercise), exercise)
    message = verdict.message
    assert verdict.status == mistake.status, message
    assert message.startswith("Not yet: ") and len(message.split("\n")) <= 2, message
    assert mistake.says in message, message


def test_every_exercise_has_planted_mistakes_and_the_guide_lists_exactly_them():
    listed, exercise = set(), None
    for line in GUIDE.read_text().split("\n"):
        heading = re.match(r"### Exercise \d+: .*\(`(\w+)`", line)
        exercise = heading.group(1) if heading else exercise
        row = re.match(r"\|.*\| `([^`]+)` \|$", line)
        if row and exercise:
            listed.add((exercise, row.group(1)))
    planted = {(m.exercise, m.says) for m in MISTAKES}
    assert {e for e, _ in planted} == set(BY_NAME)
    assert listed == planted, (f"in the guide only: {sorted(listed - planted)}; "
                               f"planted only: {sorted(planted - listed)}")
