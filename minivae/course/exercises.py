"""The exercises: where each lives, the functions the learner writes, and the check of them.

The notebooks' exercise cells define the functions; their check cells call the checks; the
grader (`python -m minivae.course.grade`) finds the functions in a submission by these names.
"""

import dataclasses
from collections.abc import Callable

from minivae.course.adam import check_adam_step
from minivae.course.bernoulli import check_bernoulli_nll
from minivae.course.iwae import check_iwae_bound
from minivae.course.kl import check_kl
from minivae.course.linear import check_linear_backward
from minivae.course.reparameterize import check_reparameterize_backward


@dataclasses.dataclass(frozen=True)
class Exercise:
    name: str  # as a Verdict and the grader's table name it
    notebook: str  # the number of the notebook it is in, "01" to "05"
    title: str
    functions: tuple  # what the learner writes, in the order the check takes them
    check: Callable


EXERCISES = (
    Exercise("kl", "01", "the closed-form KL and its gradient", ("kl_closed_form", "kl_gradient"),
             check_kl),
    Exercise("linear", "02", "a dense layer's backward pass", ("linear_backward",),
             check_linear_backward),
    Exercise("reparameterize", "03", "the reparameterization's backward pass",
             ("reparameterize_backward",), check_reparameterize_backward),
    Exercise("bernoulli", "04", "the Bernoulli likelihood on logits", ("bernoulli_nll",),
             check_bernoulli_nll),
    Exercise("adam", "04", "Adam's update", ("adam_step",), check_adam_step),
    Exercise("iwae", "04", "the importance-weighted bound", ("iwae_bound",), check_iwae_bound),
)
