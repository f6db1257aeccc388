"""The exercises: where each lives, the functions the learner writes, and the check of them.

The notebooks' exercise cells define the functions; their check cells call the checks; the
grader (`python -m minivae.course.grade`) finds the functions in a submission by these names,
and the nbgrader course (`python -m minivae.course.make_course`) gives each check cell its
points. A check is made with `verdict.checked(name, templates)`, which gives it the templates
(each function's name and parameters, in the order the check passes them) read here.
"""

import dataclasses
from collections.abc import Callable

from minivae.course.adam import check_adam_step
from minivae.course.bernoulli import check_bernoulli_nll
from minivae.course.free_bits import check_free_bits
from minivae.course.gaussian import check_gaussian_nll
from minivae.course.iwae import check_iwae_bound
from minivae.course.kl import check_kl
from minivae.course.linear import check_linear_backward
from minivae.course.posterior import check_exact_posterior
from minivae.course.reparameterize import check_reparameterize_backward
from minivae.course.vae import check_vae


@dataclasses.dataclass(frozen=True)
class Exercise:
    name: str  # as a Verdict, the grader's table and a cases file name it
    notebook: str  # the number of the notebook it is in: "01" for 01_from_autoencoder_to_vae
    title: str
    check: Callable  # made by verdict.checked: takes the learner's functions, returns a Verdict
    points: int = 1  # what its check cell is worth in the nbgrader course
    optional: bool = False  # a blank costs nothing: no points in nbgrader, "skipped" when graded

    @property
    def templates(self):
        return self.check.templates

    @property
    def functions(self):
        """The names of the functions the learner writes, in the order the check takes them."""
        return tuple(template.name for template in self.templates)


EXERCISES = (
    Exercise("kl", "01", "the closed-form KL and its gradient", check_kl, points=2),
    Exercise("posterior", "02", "p(x) and p(z|x) on a grid", check_exact_posterior, points=2),
    Exercise("linear", "03", "a dense layer's backward pass", check_linear_backward, points=2),
    Exercise("reparameterize", "04", "the reparameterization's backward pass",
             check_reparameterize_backward, points=2),
    Exercise("bernoulli", "05", "the Bernoulli likelihood on logits", check_bernoulli_nll,
             points=2),
    Exercise("adam", "05", "Adam's update", check_adam_step, points=0, optional=True),
    Exercise("vae", "05", "the VAE built: its loss, a training step, sampling", check_vae,
             points=4),
    Exercise("iwae", "05", "the importance-weighted bound", check_iwae_bound, points=2),
    Exercise("gaussian", "06", "the Gaussian likelihood and its backward pass",
             check_gaussian_nll, points=2),
    Exercise("free_bits", "08", "the free-bits KL and its backward pass", check_free_bits,
             points=2),
)
