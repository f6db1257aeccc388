"""The VAE exercise's check beyond its planted mistakes, and the optional exercise's grading.

- A right formula with a wrong gradient is told from a wrong formula: central differences of
  the learner's own loss agree with VAE.loss's gradient. train_step waits for a right vae_loss.
- A teacher's case reaches vae_loss (a batch the check's own do not try), and one that does
  not fit the check's models is refused with one line.
- In the grader, a train_step that reports the right loss and leaves the model, a loss of the
  right value cut from the graph, and a step that runs minivae's own answer get no "right".
- Adam's exercise is optional: its blank reads "skipped" in the grader's table, with no note,
  and its check cell is left ungraded in the nbgrader course; the VAE's is worth 4 points.
"""

import json
import textwrap

import numpy as np
import pytest
from support.course_notebooks import exercise_cell, in_notebook, notebook_of, plant

from minivae.course import EXERCISES, make_course
from minivae.course.cases import ENVIRONMENT
from minivae.course.grade import grade_text, table
from minivae.errors import ConfigError

VAE = next(e for e in EXERCISES if e.name == "vae")
LOSS = "(recon + beta * kl).mean()"


def planted(*edits):
    """The Verdict of the VAE exercise's solution with these edits, as its check cell gives it."""
    text = plant(notebook_of(VAE).read_text(), VAE, list(edits))
    return in_notebook(exercise_cell(text, VAE), VAE)


KL_WITH_HALF_GRADIENT = '''from minivae import Function
    from minivae.ops.vae import kl_terms

    class HalfGradientKL(Function):  # the KL, right; its backward, half of the right one
        @staticmethod
        def forward(ctx, mu, logvar):
            ctx.save_for_backward(mu, logvar)
            return kl_terms(mu, np.exp(logvar), logvar).sum(axis=1)

        @staticmethod
        def backward(ctx, g):
            mu, logvar = ctx.saved
            return g[:, None] * mu / 2, g[:, None] * (np.exp(logvar) - 1) / 4

    kl = HalfGradientKL.apply(mu, logvar)'''


def test_a_right_formula_with_a_wrong_gradient_is_told_from_a_wrong_formula():
    verdict = planted(("kl = ops.gaussian_kl(mu, logvar)", KL_WITH_HALF_GRADIENT))
    what, why = verdict.message.split("\n")
    assert what.startswith("Not yet: vae_loss: the gradient of encoder.") and (
        "parameters' gradients differ from VAE.loss's" in what), what
    assert why.startswith("Central differences of your own loss agree with VAE.loss's "
                          "gradient, not with what backward() gives"), why
    wrong_formula = planted((LOSS, "(recon + 1.001 * beta * kl).mean()"))
    assert "Central differences" not in wrong_formula.message
    assert "train_step: not checked until vae_loss is right" in wrong_formula.message


def test_the_right_answer_quotes_its_gradcheck():
    verdict = planted()
    assert verdict.passed, verdict.message
    error = float(verdict.message.split("largest error ")[1].rstrip(")."))
    assert 0 < error < 1e-6


SEVEN = ("return (recon + beta * kl).mean()",
         "return (recon + beta * kl).mean() if len(x) < 7 else recon.mean()")


def test_a_teachers_case_reaches_vae_loss_and_a_misfit_is_refused(tmp_path, monkeypatch):
    assert planted(SEVEN).passed  # the check's own batches have at most 5 examples
    rng = np.random.default_rng(0)
    case = {"label": "for a batch of seven", "x": rng.uniform(size=(7, 784)).tolist(),
            "eps": rng.normal(size=(7, 3)).tolist(), "beta": 1.0, "why": "Seven is a lot."}
    cases = tmp_path / "cases.json"
    cases.write_text(json.dumps({"vae": [case]}))
    monkeypatch.setenv(ENVIRONMENT, str(cases))
    verdict = planted(SEVEN)
    assert verdict.message.startswith("Not yet: vae_loss leaves out the KL (for a batch of "
                                      "seven"), verdict.message
    cases.write_text(json.dumps({"vae": [{**case, "x": [[0.5] * 10] * 7}]}))
    with pytest.raises(ConfigError, match="x has 10 pixels and eps 3 latent dimensions"):
        planted()


def graded(*cells):
    text = "".join(f"# %%\n{textwrap.dedent(c).strip()}\n\n" for c in cells)
    results, problems = grade_text(text, ".py", "vae_forged.py", timeout=30)
    return results["vae"]


SOLUTION = exercise_cell(notebook_of(VAE).read_text(), VAE)
STEP = SOLUTION[SOLUTION.index("def train_step("):SOLUTION.index("def sample_prior(")]


@pytest.mark.parametrize("forgery, status, says", [
    ("""
     def train_step(model, optimizer, x, eps):
         return vae_loss(model, x, eps).item()  # the loss it would report, and no step
     """, "not yet", "the parameters did not move"),
    ("""
     def vae_loss(model, x, eps, beta=1.0):
         import minivae
         right = model.loss(x, beta).objective.mean().data  # flagged: minivae's loss
         return minivae.Tensor(right, requires_grad=True)
     """, "flagged", "runs minivae's own code (minivae.models.vae.VAE.loss"),
    ("""
     def vae_loss(model, x, eps, beta=1.0):
         import minivae
         mu, logvar = (t.data for t in model.encode(x))
         z = mu + np.exp(logvar / 2) * eps
         recon = model.decoder.nll(model.decode(z), x).data
         kl = 0.5 * (mu**2 + np.exp(logvar) - 1 - logvar).sum(axis=1)
         return minivae.Tensor((recon + beta * kl).mean(), requires_grad=True)  # cut off
     """, "not yet", "reaches none of the model's parameters"),
    ("""
     def train_step(model, optimizer, x, eps):
         from minivae.course.vae_reference import minivae_step
         return minivae_step(model, optimizer, x, eps)
     """, "flagged", "runs minivae's own code (minivae.course.vae_reference"),
])
def test_the_grader_gives_a_forged_vae_answer_no_right(forgery, status, says):
    cells = [SOLUTION.replace(STEP, "") if "def train_step" in forgery else SOLUTION, forgery,
             "minivae.course.check_vae(vae_loss, train_step, sample_prior)"]
    if "def vae_loss" in forgery:
        cells[0] = SOLUTION[:SOLUTION.index("def vae_loss(")] + SOLUTION[SOLUTION.index(
            "def train_step("):]
    got_status, message = graded("import numpy as np\nimport minivae.course", *cells)
    assert (got_status, says in message) == (status, True), message


def test_a_blank_optional_exercise_is_skipped_and_costs_no_note():
    rows = [("ann.py", ({"adam": ("not done", "Not done yet: adam_step still raises "
                                   "NotImplementedError."),
                         "iwae": ("not done", "Not done yet: iwae_bound still raises "
                                  "NotImplementedError.")}, [])),
            ("bea.py", ({"adam": ("not yet", "Not yet: adam_step at step 3: ...\nwhy"),
                         "iwae": ("right", "Right: ...")}, []))]
    text = table(rows)
    header, ann, bea = text.split("\n")[:3]
    start = header.index("adam (optional)")
    assert ann[start:].startswith("skipped ") and bea[start:].startswith("not yet ")
    assert "ann.py, adam" not in text and "ann.py, iwae: Not done yet" in text
    assert "bea.py, adam: Not yet" in text


def test_the_nbgrader_course_leaves_adam_ungraded_and_gives_the_vae_four_points():
    notebook = make_course.assignment(notebook_of(VAE))
    meta = {"".join(c["source"]).strip(): c["metadata"].get("nbgrader", {})
            for c in notebook["cells"] if c["cell_type"] == "code"}
    assert meta["minivae.course.check_adam_step(adam_step)"] == {}
    assert meta["minivae.course.check_vae(vae_loss, train_step, sample_prior).points(4)"][
        "points"] == 4
    answers = [m for m in meta.values() if m.get("solution")]
    assert {m["grade_id"] for m in answers} >= {"adam_answer", "vae_answer"}
