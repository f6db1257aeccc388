"""The grader: the same verdict as the notebook, decided where the submission cannot reach it.

- Every solution, blank and planted mistake gets from the grader the verdict, message included,
  that its notebook's check cell gives (tests/course/test_course.py runs those).
- So does an answer written with a module-level constant, a lambda, functools.partial or a
  helper assigned at the top level; and the grader runs neither the statements after the check
  cell nor those the functions do not need (notebook 5's training).
- A submission that prints a forged verdict, exits, replaces the check, switches off the watch
  on minivae's code or writes garbage to the grader's pipe gets no "right" from it.
- The grading command prints its table; the wire format refuses what is not a plain value.
"""

import ast
import io
import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from support import ROOT
from support.course_notebooks import exercise_cell, in_notebook, notebook_of, plant
from support.planted_mistakes import MISTAKES

from minivae.course import EXERCISES, wire
from minivae.course.grade import grade_exercise, grade_text
from minivae.course.invoke import Opaque
from minivae.course.submission import code_cells, parse, plan

BY_NAME = {exercise.name: exercise for exercise in EXERCISES}
KL = BY_NAME["kl"]


def notebook_text(*cells):
    """A jupytext percent script of these code cells."""
    return "".join(f"# %%\n{textwrap.dedent(cell).strip()}\n\n" for cell in cells)


def run_as_notebook(text, exercise):
    """The Verdict the notebook's check cell shows: every cell above it run in one namespace,
    then the check cell's expression evaluated, as Jupyter does top to bottom."""
    namespace = {"__name__": "__main__"}
    for cell in code_cells(text, ".py"):
        if exercise.check.__name__ in cell:
            return eval(cell.strip(), namespace)
        exec(cell, namespace)
    raise AssertionError("no check cell")


# -- the same verdict as the notebook ----------------------------------------------------


def test_the_grader_agrees_with_the_notebook_on_solutions_blanks_and_planted_mistakes():
    """Every solution and blank; every planted mistake of a class of problem, and the first
    misconception of each exercise (a worker process each: all 91 would take a minute)."""
    first = {m.exercise: m for m in reversed(MISTAKES) if m.kind == "misconception"}
    mistakes = [m for m in MISTAKES if m.kind != "misconception"] + list(first.values())
    cases = [(e, notebook_of(e).read_text()) for e in EXERCISES]
    cases += [(e, notebook_of(e, ROOT / "exercises").read_text()) for e in EXERCISES]
    cases += [(BY_NAME[m.exercise], plant(notebook_of(BY_NAME[m.exercise]).read_text(),
                                          BY_NAME[m.exercise], m.edits)) for m in mistakes]
    for exercise, text in cases:
        notebook = in_notebook(exercise_cell(text, exercise), exercise)
        graded, problems = grade_exercise(exercise, parse(code_cells(text, ".py")))
        assert not problems, problems
        assert graded == (notebook.status, notebook.message)


SETUP = "import numpy as np\nimport minivae.course"
CHECK = "minivae.course.check_kl(kl_closed_form, kl_gradient)"
AFTER = ["HALF = 2.0  # after the check: the check did not see it",
         "raise RuntimeError('the training: never run by the grader')"]
GRADIENT = """
    def kl_gradient(mu, logvar):
        return mu, (np.exp(logvar) - 1) / 2
"""
FORMS = {  # an answer written in each form, right with half = 0.5 and wrong with 1.0
    "a module-level constant": ["HALF = {half}", """
        def kl_closed_form(mu, logvar):
            return HALF * (mu**2 + np.exp(logvar) - 1 - logvar)
    """],
    "a lambda": ["kl_closed_form = lambda mu, logvar: {half} * (mu**2 + np.exp(logvar) - 1 "
                 "- logvar)"],
    "functools.partial": ["""
        import functools

        def scaled_kl(mu, logvar, half):
            return half * (mu**2 + np.exp(logvar) - 1 - logvar)

        kl_closed_form = functools.partial(scaled_kl, half={half})
    """],
    "a helper assigned at the top level": ["""
        def make_variance():
            return np.exp

        variance = make_variance()
        settings = {{}}
        settings["half"] = {half}
    """, """
        def kl_closed_form(mu, logvar):
            return settings["half"] * (mu**2 + variance(logvar) - 1 - logvar)
    """],
}


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("half, status", [(0.5, "right"), (1.0, "not yet")])
def test_an_answer_in_any_form_gets_the_notebooks_verdict(form, half, status):
    cells = [cell.format(half=half) for cell in FORMS[form]]
    text = notebook_text(SETUP, *cells, GRADIENT, CHECK, *AFTER)
    notebook = run_as_notebook(text, KL)
    results, problems = grade_text(text, ".py", "kl_forms.py")
    assert not problems, problems
    assert notebook.status == status, notebook.message
    assert results["kl"] == (notebook.status, notebook.message)


def test_the_plan_holds_what_the_functions_need_as_it_stood_above_the_check():
    cells = code_cells(notebook_text(
        "import numpy as np\nimport time\nimport matplotlib.pyplot as plt",
        "np.random.seed(0)\nHALF = 0.25\nplt.plot([1, 2])",
        "HALF = 0.5\nSCALE = [1.0]\nSCALE.append(2.0)\nmodel = time.sleep(60)",
        "def f(x):\n    return HALF * x * SCALE[-1] + np.random.rand()",
        "check_f(f)", "HALF = 3.0"), ".py")
    planned = plan(parse(cells), ["f"], "check_f")
    run = [code_cells_statement(cells, cell, j) for cell, js in planned.run for j in js]
    assert run == ["import numpy as np", "np.random.seed(0)", "HALF = 0.5", "SCALE = [1.0]",
                   "SCALE.append(2.0)", "def f(x):"]


def code_cells_statement(cells, cell, j):
    return ast.get_source_segment(cells[cell], ast.parse(cells[cell]).body[j]).split("\n")[0]


# -- a grade the submission cannot forge ---------------------------------------------------


RIGHT_KL = """
    def kl_closed_form(mu, logvar):
        return 0.5 * (mu**2 + np.exp(logvar) - 1 - logvar)
"""
FORGERIES = {
    "prints a verdict and exits": """
        def kl_closed_form(mu, logvar):
            print('{"results": {"kl": ["right", "Right: forged."]}, "problems": []}')
            print("Right: forged.")
            import os
            os._exit(0)
    """,
    "replaces the check and the verdict": """
        def kl_closed_form(mu, logvar):
            import minivae.course
            import minivae.course.verdict
            minivae.course.check_kl = lambda *functions: "Right: forged."
            minivae.course.verdict.Verdict.passed = property(lambda self: True)
            minivae.course.verdict.compare = None
            return mu
    """,
    "switches the watch on minivae's code off": """
        def kl_closed_form(mu, logvar):
            import sys
            sys.setprofile(None)
            from minivae.ops.vae import kl_terms
            return kl_terms(mu, np.exp(logvar), logvar)
    """,
    "writes a message of its own to the grader's pipe": """
        def kl_closed_form(mu, logvar):
            import gc, io
            for stream in gc.get_objects():
                if isinstance(stream, io.BufferedWriter) and stream.fileno() > 2:
                    stream.write(b"\\x00" * 7 + b"\\x09" + b"not json!")
                    stream.flush()
            return 0.5 * (mu**2 + np.exp(logvar) - 1 - logvar)
    """,
}


@pytest.mark.parametrize("forgery", FORGERIES)
def test_a_submission_cannot_forge_its_grade(forgery):
    text = notebook_text(SETUP, FORGERIES[forgery], GRADIENT, CHECK)
    results, _ = grade_text(text, ".py", "forged.py", timeout=20)
    status, message = results["kl"]
    assert status in ("not yet", "flagged", "error"), message
    assert not message.startswith("Right"), message


def test_the_forgeries_are_told_what_they_did():
    said = {}
    for forgery, cell in FORGERIES.items():
        text = notebook_text(SETUP, cell, GRADIENT, CHECK)
        said[forgery] = grade_text(text, ".py", "forged.py", timeout=20)[0]["kl"]
    assert said["prints a verdict and exits"][0] == "error"
    assert "exit status 0" in said["prints a verdict and exits"][1]
    assert said["replaces the check and the verdict"][0] == "not yet"
    assert said["switches the watch on minivae's code off"] == (
        "flagged", said["switches the watch on minivae's code off"][1])
    assert "replaced the profile function" in said["switches the watch on minivae's code off"][1]
    assert said["writes a message of its own to the grader's pipe"][0] == "error"
    assert "not a message" in said["writes a message of its own to the grader's pipe"][1]


def test_the_wire_carries_plain_values_and_refuses_anything_else():
    stream = io.BytesIO()
    value = (np.arange(6.0).reshape(2, 3), np.float32(1.5) * np.ones(2, np.float32), [1, 2.5],
             None, Opaque("dict"), float("nan"))
    wire.send(stream, {"result": value})
    stream.seek(0)
    back = wire.receive(stream)["result"]
    assert isinstance(back, tuple) and back[0].shape == (2, 3) and back[1].dtype == np.float32
    assert back[2] == [1, 2.5] and back[3] is None and back[4] == Opaque("dict")
    assert np.isnan(back[5])
    pickled = io.BytesIO()
    np.lib.format.write_array(pickled, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    header = json.dumps({"result": {"$array": 0}}).encode()
    body = len(header).to_bytes(4, "big") + header + pickled.getvalue()
    refused = [len(body).to_bytes(8, "big") + body,  # an object array: pickle
               (2**40).to_bytes(8, "big"),  # longer than the limit
               (100).to_bytes(8, "big") + b"short",  # cut short
               len(b'xxxx{"a": {"$code": 1}}').to_bytes(8, "big") + (19).to_bytes(4, "big")
               + b'{"a": {"$code": 1}}']  # not a plain value
    for message in refused:
        with pytest.raises(wire.ProtocolError):
            wire.receive(io.BytesIO(message))


# -- the grading command -------------------------------------------------------------------


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
    (tmp_path / "fay.py").write_text(notebook_text(
        "import numpy as np", "from minivae.ops.vae import kl_terms", """
        def kl_closed_form(mu, logvar):
            return kl_terms(mu, np.exp(logvar), logvar)
        """, GRADIENT))
    command = [sys.executable, "-m", "minivae.course.grade", str(tmp_path), "--timeout", "4"]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    header, *lines = done.stdout.split("\n")
    names = [e.name for e in EXERCISES]
    starts = [header.index(name) for name in names] + [None]
    columns = list(zip(names, starts, starts[1:], strict=False))  # (name, start, end)
    cell = {line.split()[0]: {n: line[a:b].strip() for n, a, b in columns} for line in lines[:6]}
    assert cell["ann/01_from_autoencoder_to_vae.py"] == {n: "right" if n == "kl" else "."
                                                         for n in names}
    assert [cell["ben.py"][n] for n in ("bernoulli", "adam", "iwae")] == ["not done", "not yet",
                                                                         "not done"]
    assert cell["cai.ipynb"]["kl"] == "missing"
    assert cell["dee.py"]["linear"] == "error"
    assert set(cell["eve.py"].values()) == {"."}
    assert cell["fay.py"]["kl"] == "flagged"
    assert "ben.py, adam: Not yet: adam_step at step 3: m is the m that came in" in done.stdout
    assert "cai.ipynb, kl: kl_gradient not defined" in done.stdout
    assert "dee.py, linear: timed out after 4 s" in done.stdout
    assert "eve.py: code cell 0: SyntaxError at line 1" in done.stdout
    assert "fay.py, kl: Not yet: kl_closed_form runs minivae's own code" in done.stdout
