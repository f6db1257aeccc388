"""A teacher adds inputs to a check with a JSON file, without editing minivae.

A case the default inputs never try catches an answer they pass, in the notebook (the file in
the current folder, or named by $MINIVAE_COURSE_CASES) and in the grader (--cases), with the
case's label and advice in the message; a file that is not right is refused with one line that
names the file, the case and what is wrong.
"""

import json
import subprocess
import sys

import numpy as np
import pytest
from support.course_notebooks import exercise_cell, notebook_of, plant

from minivae.course import EXERCISES
from minivae.course.cases import ENVIRONMENT, FILE_NAME
from minivae.errors import ConfigError

BY_NAME = {exercise.name: exercise for exercise in EXERCISES}
KL = BY_NAME["kl"]
# right, except where mu is above 100: no input of the check's own comes near
ODD = ("0.5 * (mu**2 + np.exp(logvar) - 1 - logvar)",
       "np.where(mu > 100, 0.0, 0.5 * (mu**2 + np.exp(logvar) - 1 - logvar))")
TEACHERS = {"kl": [{"label": "for mu = 1000", "mu": [[1000.0, -2.0]], "logvar": [[0.5, 3.0]],
                    "why": "Large means are where a shortcut shows."}],
            "adam": [{"lr": 0.01, "b1": 0.5, "b2": 0.75, "eps": 1e-3, "theta": [1.0, -2.0],
                      "gradients": [[0.1, 0.2], [0.3, -0.1], [1.0, 2.0]]}],
            "linear": [{"g": [[1.0]], "x": [[2.0, 3.0]], "weight": [[1.0], [-1.0]]}],
            "posterior": [{"x": [[0.5, -1.0]], "z": [-1.0, 0.0, 1.0],
                           "mean": [[0.0, 0.0], [1.0, -1.0], [2.0, 0.5]], "sigma": [0.7, 0.2]}]}


def odd_kl():
    text = plant(notebook_of(KL).read_text(), KL, [ODD])
    namespace = {"np": np}
    exec(exercise_cell(text, KL), namespace)
    return text, [namespace[f] for f in KL.functions]


def test_a_teachers_case_catches_what_the_checks_own_inputs_miss(tmp_path, monkeypatch):
    _, functions = odd_kl()
    assert KL.check(*functions).passed  # the check's own inputs never reach mu > 100
    (tmp_path / FILE_NAME).write_text(json.dumps(TEACHERS))
    monkeypatch.chdir(tmp_path)  # the notebook's folder
    verdict = KL.check(*functions)
    assert verdict.message.startswith("Not yet: kl_closed_form is wrong at 1 of 2 elements"), \
        verdict.message
    assert "(for mu = 1000; kl_gradient: right)" in verdict.message
    assert verdict.message.endswith("\nLarge means are where a shortcut shows.")
    for exercise in ("adam", "linear", "posterior"):  # their solutions pass those cases too
        namespace = {"np": np}
        exec(exercise_cell(notebook_of(BY_NAME[exercise]).read_text(), BY_NAME[exercise]),
             namespace)
        verdict = BY_NAME[exercise].check(*[namespace[f] for f in BY_NAME[exercise].functions])
        assert verdict.passed, verdict.message
    assert "5 batches" in KL.check(*solution_of(KL)).message


def solution_of(exercise):
    namespace = {"np": np}
    exec(exercise_cell(notebook_of(exercise).read_text(), exercise), namespace)
    return [namespace[f] for f in exercise.functions]


def test_the_grader_reads_the_cases_it_is_given(tmp_path):
    text, _ = odd_kl()
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / notebook_of(KL).name).write_text(text)
    cases = tmp_path / "teacher.json"
    cases.write_text(json.dumps(TEACHERS))
    command = [sys.executable, "-m", "minivae.course.grade", str(tmp_path / "in")]
    plain = subprocess.run(command, capture_output=True, text=True, check=True, cwd=tmp_path)
    told = subprocess.run(command + ["--cases", str(cases)], capture_output=True, text=True,
                          check=True, cwd=tmp_path)
    assert plain.stdout.split("\n")[1].split()[1:3] == ["right", "."]
    assert told.stdout.split("\n")[1].split()[1:4] == ["not", "yet", "."]
    assert "for mu = 1000" in told.stdout
    cases.write_text(json.dumps({"kl": [{"mu": [[1.0]]}]}))
    refused = subprocess.run(command + ["--cases", str(cases)], capture_output=True, text=True,
                             cwd=tmp_path)
    assert refused.returncode == 2 and refused.stdout == ""
    assert refused.stderr.startswith(f"grade: {cases}: case 1 of 'kl': missing: logvar")


@pytest.mark.parametrize("cases, says", [
    ({"kll": []}, "no exercise is called 'kll'; the exercises are kl, posterior, linear"),
    ({"posterior": [{"x": [[0.0, 1.0]], "z": [0.0, 1.0], "mean": [[0.0, 0.0], [1.0, 1.0]],
                     "sigma": [0.5, 0.0]}]}, "sigma holds a value that is not positive"),
    ({"posterior": [{"x": [[0.0, 1.0]], "z": [0.0, 1.0, 3.0], "mean": [[0.0, 0.0]] * 3,
                     "sigma": [0.5, 0.5]}]}, "z must be a grid of at least two evenly spaced"),
    ({"posterior": [{"x": [[0.0, 1.0]], "z": [0.0, 1.0], "mean": [[0.0, 0.0]] * 3,
                     "sigma": [0.5, 0.5]}]}, "mean has 3 along G, z has 2"),
    ({"kl": [{"mu": [[1.0]]}]}, "case 1 of 'kl': missing: logvar. A case of this exercise takes "
     "mu, logvar"),
    ({"kl": [{"mu": [[1.0]], "logvar": [[1.0]], "sigma": 2}]}, "unknown: sigma"),
    ({"kl": [{"mu": [[1.0, 2.0]], "logvar": [[1.0]]}]}, "logvar has 1 along L, mu has 2"),
    ({"kl": [{"mu": [1.0], "logvar": [1.0]}]}, "mu has shape (1,); it needs 2 axes (B L)"),
    ({"kl": [{"mu": [[1.0]], "logvar": [["a"]]}]}, "logvar is not a (nested) list of numbers"),
    ({"bernoulli": [{"logits": [[1.0]], "x": [[2.0]]}]}, "x holds values outside [0, 1]"),
    ({"adam": [{"lr": 0.1, "b1": 1.0, "b2": 0.9, "eps": 1e-8, "theta": [1.0],
                "gradients": [[1.0]]}]}, "b1 and b2 must lie in [0, 1)"),
    ({"adam": [{"lr": 0.1, "b1": 0.9, "b2": 0.9, "eps": 1e-8, "theta": [1.0, 2.0],
                "gradients": [[1.0]]}]}, "gradients's trailing axes (1,) differ"),
    ({"iwae": {"log_px_z": [[1.0]]}}, "'iwae' holds a dict; it must be a list of cases"),
])
def test_a_cases_file_that_is_not_right_is_refused_with_what_is_wrong(tmp_path, monkeypatch,
                                                                      cases, says):
    path = tmp_path / "cases.json"
    path.write_text(json.dumps(cases))
    monkeypatch.setenv(ENVIRONMENT, str(path))
    exercise = BY_NAME[next(iter(cases)) if next(iter(cases)) in BY_NAME else "kl"]
    with pytest.raises(ConfigError) as refused:
        exercise.check(*solution_of(exercise))
    assert str(path) in str(refused.value) and says in str(refused.value), str(refused.value)
    path.write_text("{not json")
    with pytest.raises(ConfigError, match="cannot be read as JSON"):
        KL.check(*solution_of(KL))
    monkeypatch.setenv(ENVIRONMENT, str(tmp_path / "absent.json"))
    with pytest.raises(ConfigError, match="which is not a file"):
        KL.check(*solution_of(KL))
