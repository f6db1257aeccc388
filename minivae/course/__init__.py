"""minivae.course: the checks of the notebooks' exercises, and the tools to hand them out.

Ten exercises, each a function or a few the learner writes in a notebook, each followed there by
a check cell that calls one of these checks with the learner's functions:

    notebook 1   check_kl(kl_closed_form, kl_gradient)            the closed-form KL, its gradient
    notebook 2   check_exact_posterior(log_joint_on_grid, evidence_and_posterior)
                                                                  log p(x) and p(z|x) on a grid
    notebook 3   check_linear_backward(linear_backward)           a dense layer's backward pass
    notebook 4   check_reparameterize_backward(reparameterize_backward)
    notebook 5   check_bernoulli_nll(bernoulli_nll)               -log p(x|z) from logits
                 check_adam_step(adam_step)                       Adam's update (optional)
                 check_vae(vae_loss, train_step, sample_prior)    the VAE built: its loss, a
                                                                  training step, sampling
                 check_iwae_bound(iwae_bound)                     the importance-weighted bound
    notebook 6   check_gaussian_nll(gaussian_nll, gaussian_nll_backward)
                                                                  -log p(x|z) of a Gaussian, its
                                                                  backward pass
    notebook 8   check_free_bits(free_bits_kl, free_bits_backward)
                                                                  the free-bits KL, its gradient

A check calls the functions by position, with the template's parameters (`invoke`), on inputs
it draws (ordinary ones and the edge cases a learner's code meets: one example, one latent
dimension, k = 1, values far from 0 or far apart, Adam late in a run), plus any a teacher adds
in a file (`cases`); compares each result with minivae's own (and, for a backward pass, plugs it
into a Function and runs minivae.gradcheck), and returns a `Verdict`, which a notebook shows as
one or two lines: "Right: ...", "Not done yet: ..." for the untouched blank, or "Not yet: ..."
naming the wrong quantity, how it differs (shape, elements, an exact factor, a term) and the
misconception that matches it. docs/teachers_guide.md lists the mistakes each check recognises.

    python -m minivae.course.make_exercises    the exercise notebooks, from the solution ones
    python -m minivae.course.make_course DIR   the course as an nbgrader course directory
    python -m minivae.course.grade DIR         every submission in DIR, checked, as a table

Nothing in minivae imports this package; it imports from all of it.
"""

from minivae.course.adam import check_adam_step
from minivae.course.bernoulli import check_bernoulli_nll
from minivae.course.exercises import EXERCISES, Exercise
from minivae.course.free_bits import check_free_bits
from minivae.course.gaussian import check_gaussian_nll
from minivae.course.iwae import check_iwae_bound
from minivae.course.kl import check_kl
from minivae.course.linear import check_linear_backward
from minivae.course.posterior import check_exact_posterior
from minivae.course.reparameterize import check_reparameterize_backward
from minivae.course.vae import check_vae
from minivae.course.verdict import Verdict

__all__ = [
    "EXERCISES",
    "Exercise",
    "Verdict",
    "check_adam_step",
    "check_bernoulli_nll",
    "check_exact_posterior",
    "check_gaussian_nll",
    "check_free_bits",
    "check_iwae_bound",
    "check_kl",
    "check_linear_backward",
    "check_reparameterize_backward",
    "check_vae",
]
