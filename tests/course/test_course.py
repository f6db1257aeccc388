"""The exercises' checks, in every direction: solutions pass, blanks fail, mistakes are named.

For every exercise in minivae.course.EXERCISES:
- its solution, as the solution notebook writes it, passes its check;
- its blank, as the generated exercise notebook leaves it, fails with "Not done yet";
- each common mistake of tests/support/planted_mistakes.py, planted into the solution's text, fails
  with its own message, and the teacher's guide lists exactly those mistakes.
The solutions and the planted mistakes go through the grader's own reading of a notebook
(`minivae.course.grade.grade_text`), so these tests also prove what a teacher's grading run
does; the last tests run the grader's command on a folder. The exercise notebooks must be what
`python -m minivae.course.make_exercises` makes of the solution notebooks.
"""

import json
import re
import subprocess
import sys

import numpy as np
import pytest
from support import ROOT
from support.planted_mistakes import MISTAKES

from minivae.course import EXERCISES, make_exercises
from minivae.course.grade import code_cells, grade_text
from minivae.course.make_exercises import RegionError, exercise_version, regions

NOTEBOOKS = ROOT / "notebooks"
BY_NAME = {exercise.name: exercise for exercise in EXERCISES}
GUIDE = ROOT / "docs" / "teachers_guide.md"


def notebook_of(exercise, folder=NOTEBOOKS):
    (path,) = folder.glob(f"{exercise.notebook}_*.py")
    return path


def graded(text, exercise, path):
    results, problems = grade_text(text, ".py", path.name)
    assert not problems, problems
    return results[exercise.name]


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
def test_the_solution_passes_its_check(exercise):
    path = notebook_of(exercise)
    status, message = graded(path.read_text(), exercise, path)
    assert status == "right" and message.startswith("Right: "), message
    assert len(message.split("\n")) == 2


@pytest.mark.parametrize("exercise", EXERCISES, ids=lambda e: e.name)
def test_each_check_runs_on_its_own_cell_alone(exercise):
    """The exercise's cell needs nothing but NumPy: a check can run it without the notebook."""
    text = notebook_of(exercise).read_text()
    (cell,) = [c for c in code_cells(text, ".py") if f"def {exercise.functions[0]}(" in c]
    namespace = {"np": np}
    exec(cell, namespace)
    assert exercise.check(*[namespace[f] for f in exercise.functions]).passed


@pytest.mark.parametrize("exercise", EXERCISES, ids=lambda e: e.name)
def test_the_untouched_blank_fails_as_not_done(exercise):
    path = notebook_of(exercise, ROOT / "exercises")
    status, message = graded(path.read_text(), exercise, path)
    assert status == "not done" and message.startswith("Not done yet: "), message
    assert "NotImplementedError" in message


def plant(text, exercise, edits):
    """The notebook's text with each (old, new) made inside the exercise's solution regions."""
    lines = text.split("\n")
    spans = [(b + 1, e) for b, e, name in regions(lines) if name in exercise.functions]
    for old, new in edits:
        where = [(b, e) for b, e in spans if old in "\n".join(lines[b:e])]
        assert len(where) == 1, f"{old!r} is in {len(where)} of {exercise.name}'s regions"
        b, e = where[0]
        region = "\n".join(lines[b:e])
        assert region.count(old) == 1, f"{old!r} stands {region.count(old)} times in its region"
        replaced = region.replace(old, new).split("\n")
        lines[b:e] = replaced
        spans = [(sb, se + len(replaced) - (e - b) if sb == b else se) for sb, se in spans]
    return "\n".join(lines)


@pytest.mark.parametrize("mistake", MISTAKES, ids=lambda m: m.id)
def test_a_planted_mistake_fails_with_its_message(mistake):
    exercise = BY_NAME[mistake.exercise]
    path = notebook_of(exercise)
    status, message = graded(plant(path.read_text(), exercise, mistake.edits), exercise, path)
    assert status == "not yet", message
    assert message.startswith("Not yet: ") and len(message.split("\n")) <= 2, message
    assert mistake.says in message, message


def test_every_exercise_has_planted_mistakes_and_the_guide_lists_exactly_them():
    listed, exercise = set(), None
    for line in GUIDE.read_text().split("\n"):
        heading = re.match(r"### Exercise \d: .*\(`(\w+)`", line)
        exercise = heading.group(1) if heading else exercise
        row = re.match(r"\|.*\| `([^`]+)` \|$", line)
        if row and exercise:
            listed.add((exercise, row.group(1)))
    planted = {(m.exercise, m.says) for m in MISTAKES}
    assert {e for e, _ in planted} == set(BY_NAME)
    assert listed == planted, (f"in the guide only: {sorted(listed - planted)}; "
                               f"planted only: {sorted(planted - listed)}")


# -- the grading command -----------------------------------------------------------------


def test_the_grader_prints_a_row_per_submission_and_what_each_check_said(tmp_path):
    kl, adam = BY_NAME["kl"], BY_NAME["adam"]
    (tmp_path / "ann").mkdir()
    (tmp_path / "ann" / notebook_of(kl).name).write_text(notebook_of(kl).read_text())
    blank = notebook_of(adam, ROOT / "exercises").read_text()
    before, adam_step, after = blank.partition("def adam_step(")
    after = after.replace("    raise NotImplementedError()", "    return theta, m, v", 1)
    (tmp_path / "ben.py").write_text(before + adam_step + after)  # adam_step changes nothing
    cells = [{"cell_type": "code", "source": "%matplotlib inline\nimport numpy as np"},
             {"cell_type": "markdown", "source": "# Hi"},
             {"cell_type": "code", "source": ["def kl_closed_form(mu, logvar):\n",
                                               "    return 0.5 * (mu**2 + np.exp(logvar) - 1)"]}]
    (tmp_path / "cai.ipynb").write_text(json.dumps({"cells": cells}))
    (tmp_path / "dee.py").write_text("def linear_backward(g, x, weight):\n    while True:\n"
                                     "        pass\n")
    (tmp_path / "eve.py").write_text("def iwae_bound(a, b, c:\n")
    command = [sys.executable, "-m", "minivae.course.grade", str(tmp_path), "--timeout", "10"]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    header, *lines = done.stdout.split("\n")
    names = [e.name for e in EXERCISES]
    starts = [header.index(name) for name in names] + [None]
    columns = list(zip(names, starts, starts[1:], strict=False))  # (name, start, end)
    cell = {line.split()[0]: {n: line[a:b].strip() for n, a, b in columns} for line in lines[:5]}
    assert cell["ann/01_from_autoencoder_to_vae.py"] == {n: "right" if n == "kl" else "."
                                                         for n in names}
    assert [cell["ben.py"][n] for n in ("bernoulli", "adam", "iwae")] == ["not done", "not yet",
                                                                         "not done"]
    assert cell["cai.ipynb"]["kl"] == "missing"
    assert cell["dee.py"]["linear"] == "error"
    assert set(cell["eve.py"].values()) == {"."}
    assert "ben.py, adam: Not yet: adam_step at step 3: m is the m that came in" in done.stdout
    assert "cai.ipynb, kl: kl_gradient not defined" in done.stdout
    assert "dee.py: timed out after 10" in done.stdout
    assert "eve.py: code cell 0: SyntaxError at line 1" in done.stdout
