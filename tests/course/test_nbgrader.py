"""The course in nbgrader: generated, handed out, autograded and scored, by nbgrader itself.

`python -m minivae.course.make_course` writes a course directory for notebook 1 (the smallest
notebook with an exercise: it runs in seconds, where notebook 5 trains); `nbgrader
generate_assignment` makes the learners' version of it, with nbgrader's stub where the answers
were and the check cell locked; three learners hand it in (the solution, the untouched blank,
a planted mistake); `nbgrader autograde` executes them, and the gradebook must hold 2, 0 and 0
of 2 points, with the check's message in the autograded notebook. nbgrader comes with the dev
extra (`pip install -e ".[dev]"`); without it this test skips, except in CI, where it fails.
"""

import json
import os
import subprocess
import sys

import pytest
from support import ROOT
from support.planted_mistakes import MISTAKES

from minivae.course import EXERCISES, make_course

ASSIGNMENT = "01_from_autoencoder_to_vae"
KL = next(e for e in EXERCISES if e.name == "kl")
WRONG = next(m for m in MISTAKES if m.exercise == "kl" and m.says.startswith("The 1/2 in front "
                                                                               "of the KL stays"))


def nbgrader(*arguments, cwd):
    done = subprocess.run([sys.executable, "-m", "nbgrader", *arguments], cwd=cwd,
                          capture_output=True, text=True, env={**os.environ,
                                                               "MPLBACKEND": "Agg"})
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def cells_of(path, key):
    """The cells of a notebook whose nbgrader metadata has `key` true."""
    notebook = json.loads(path.read_text())
    return [c for c in notebook["cells"] if c["metadata"].get("nbgrader", {}).get(key)]


def source(cell):
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def hand_in(course, student, release, answer):
    """The released notebook with its solution cell's source replaced by `answer` (None: the
    untouched blank), handed in as nbgrader expects it: submitted/STUDENT/ASSIGNMENT/."""
    notebook = json.loads(release.read_text())
    for cell in notebook["cells"]:
        if answer is not None and cell["metadata"].get("nbgrader", {}).get("solution"):
            cell["source"] = answer
    folder = course / "submitted" / student / ASSIGNMENT
    folder.mkdir(parents=True)
    (folder / f"{ASSIGNMENT}.ipynb").write_text(json.dumps(notebook))


def test_nbgrader_generates_autogrades_and_scores_the_course(tmp_path):
    try:
        from nbgrader.api import Gradebook
    except ImportError:
        if os.environ.get("CI", "").lower() in ("1", "true"):
            pytest.fail("nbgrader is missing in CI: it comes with the dev extra", pytrace=False)
        pytest.skip('nbgrader is not installed: pip install -e ".[dev]"')
    course = tmp_path / "course"
    assert make_course.main([str(course), "--notebooks", "01",
                             "--source", str(ROOT / "notebooks")]) == 0
    nbgrader("generate_assignment", ASSIGNMENT, cwd=course)

    released = course / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    (answer_cell,) = cells_of(course / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", "solution")
    (blank,) = cells_of(released, "solution")
    (check,) = cells_of(released, "grade")
    assert "raise NotImplementedError()" in source(blank)
    assert "BEGIN SOLUTION" not in source(blank) and "np.exp(logvar) - 1 - logvar" not in \
        source(blank)
    assert source(check) == f"minivae.course.check_kl(kl_closed_form, kl_gradient).points(" \
                            f"{KL.points})"
    assert check["metadata"]["nbgrader"]["locked"] and check["metadata"]["nbgrader"]["points"] \
        == KL.points

    answer = source(answer_cell)
    wrong = answer
    for old, new in WRONG.edits:
        assert wrong.count(old) == 1
        wrong = wrong.replace(old, new)
    hand_in(course, "right", released, answer)
    hand_in(course, "blank", released, None)
    hand_in(course, "wrong", released, wrong)
    nbgrader("autograde", ASSIGNMENT, cwd=course)

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        scores = {student: (gradebook.find_submission(ASSIGNMENT, student).score,
                            gradebook.find_submission(ASSIGNMENT, student).max_score)
                  for student in ("right", "blank", "wrong")}
    assert scores == {"right": (2.0, 2.0), "blank": (0.0, 2.0), "wrong": (0.0, 2.0)}
    graded = course / "autograded" / "wrong" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    (check,) = cells_of(graded, "grade")
    printed = "".join("".join(o.get("text", "")) for o in check["outputs"])
    assert printed.startswith("Not yet: ") and WRONG.says in printed, printed
