# ---
# jupyter:
#   jupytext:
#     notebook_metadata_filter: -jupytext.text_representation.jupytext_version
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 4. The reparameterization trick
#
# The VAE's loss contains an expectation over a random code,
# $\mathbb{E}_{q(z \mid x)}[-\log p(x \mid z)]$, and training needs its gradient with respect
# to the encoder's outputs $\mu$ and $\mathrm{logvar}$. A sample drawn by a random number
# generator is just a number: it does not remember which $\mu$ and $\sigma$ it came from, so no
# gradient can flow back through it. This notebook shows that, then the two ways around it:
#
# - the **pathwise** estimator (the reparameterization trick): write the sample as a
#   differentiable function of $\mu$ and $\mathrm{logvar}$, $z = \mu + \sigma \epsilon$, and
#   differentiate through it;
# - the **score-function** estimator (REINFORCE): differentiate the density $q$ instead.
#
# Both are unbiased. Their variances differ, by a factor of ten and more for a smooth loss like
# the VAE's, which we measure over many draws; and we find a loss for which the order
# reverses.

# %% [markdown]
# **The exercise version of this notebook**, made from `notebooks/04_reparameterization_trick.py` by
# `python -m minivae.course.make_exercises` (edit that one, not this). The cells marked
# **Exercise** leave 1 function for you to write: `reparameterize_backward`.
# Put your code in place of `raise NotImplementedError()`, run the cell, then the check
# cell below it: it tells you whether your answer is right and, if not, what is wrong
# and why. Until then the check says "Not done yet", and the rest of the notebook runs
# all the same, on minivae's own versions.

# %%
# %matplotlib inline
import matplotlib.pyplot as plt
import numpy as np

import minivae
import minivae.course
from minivae import ops

rng = np.random.default_rng(0)

# %% [markdown]
# ## The problem: a sample has no gradient
#
# A small problem with a known answer stands in for the VAE. One latent dimension,
# $q = \mathcal{N}(\mu, \sigma^2)$ with $\sigma = e^{\mathrm{logvar}/2}$, and a loss
# $f(z) = (z - 2)^2$ standing in for $-\log p(x \mid z)$. The objective and its exact gradient:
#
# $$
# J(\mu, \mathrm{logvar}) = \mathbb{E}_{z \sim q}\big[(z - 2)^2\big] = (\mu - 2)^2 + \sigma^2,
# \qquad
# \frac{\partial J}{\partial \mu} = 2 (\mu - 2), \qquad
# \frac{\partial J}{\partial\, \mathrm{logvar}} = \sigma^2
# $$
#
# (since $\partial \sigma^2 / \partial\, \mathrm{logvar} = \sigma^2$). We take $\mu = 0$ and
# $\mathrm{logvar} = 0$ ($\sigma = 1$), where $\partial J / \partial \mu = -4$ and
# $\partial J / \partial\, \mathrm{logvar} = 1$.

# %%
MU, LOGVAR = 0.0, 0.0
SIGMA = np.exp(LOGVAR / 2)
TRUE_GRAD_MU, TRUE_GRAD_LOGVAR = 2 * (MU - 2), SIGMA**2


def f(z):
    """The loss of one code, (z - 2)^2: works on Tensors and on NumPy arrays alike."""
    return (z - 2) ** 2


# %% [markdown]
# Drawing $z$ with NumPy from $\mathcal{N}(\mu, \sigma^2)$ gives an array. Wrapped as a
# Tensor, it is a leaf with no record of $\mu$ or $\mathrm{logvar}$, so `backward()` has
# nowhere to go:

# %%
mu = minivae.Tensor(np.array([[MU]]), requires_grad=True)  # (B, L) = (1, 1)
logvar = minivae.Tensor(np.array([[LOGVAR]]), requires_grad=True)
z_drawn = minivae.Tensor(rng.normal(mu.data, np.exp(logvar.data / 2)))  # a number, nothing more
try:
    f(z_drawn).sum().backward()
except minivae.MinivaeError as error:
    print(type(error).__name__ + ":", error)

# %% [markdown]
# ## The pathwise estimator: $z = \mu + \sigma \epsilon$
#
# Move the randomness into a noise $\epsilon \sim \mathcal{N}(0, 1)$ that does not depend on
# $\mu$ or $\mathrm{logvar}$, and make $z$ a deterministic, differentiable function of all three
# (`docs/math.md`, reparameterization):
#
# $$
# z = \mu + \sigma \epsilon, \qquad \sigma = e^{\mathrm{logvar}/2}
# $$
#
# $z$ still has the distribution $\mathcal{N}(\mu, \sigma^2)$, so
# $\mathbb{E}_q[f(z)] = \mathbb{E}_\epsilon[f(\mu + \sigma \epsilon)]$, and the gradient moves
# inside the expectation over $\epsilon$, which does not depend on $\mu$ and $\mathrm{logvar}$:
#
# $$
# \frac{\partial J}{\partial \mu}
# = \mathbb{E}_\epsilon\!\left[f'(z)\, \frac{\partial z}{\partial \mu}\right],
# \qquad
# \frac{\partial J}{\partial\, \mathrm{logvar}}
# = \mathbb{E}_\epsilon\!\left[f'(z)\, \frac{\partial z}{\partial\, \mathrm{logvar}}\right]
# $$
#
# ### Exercise 4: the reparameterization's backward pass
#
# As an op, $z = \mu + \sigma \epsilon$ takes `mu`, `logvar` and `eps`, all (B, L), and its
# backward pass receives $g = \partial \mathcal{L} / \partial z$ of the same shape. Write
# `reparameterize_backward(g, mu, logvar, eps)`, returning
# $(\partial \mathcal{L} / \partial \mu, \partial \mathcal{L} / \partial\, \mathrm{logvar})$:
# derive $\partial z / \partial \mu$ and $\partial z / \partial\, \mathrm{logvar}$ (the
# second goes through $\sigma$ by the chain rule) and multiply each by $g$, element by element.
# $\epsilon$ is a constant here, drawn outside the graph, so it needs no gradient. Use only the
# arguments and NumPy. The check compares your function with the backward pass of
# `ops.reparameterize` on four batches and runs `minivae.gradcheck` with it as the backward
# pass of $z = \mu + \sigma \epsilon$.


# %%
# The check calls each function by position, its arguments in the order of the def line:
# keep the parameters and their order as they are (a name may change, the order may not).
def reparameterize_backward(g, mu, logvar, eps):
    """(dL/dmu, dL/dlogvar) of z = mu + exp(logvar / 2) * eps, from g = dL/dz; all (B, L)."""
    # YOUR CODE HERE
    raise NotImplementedError()


# %%
minivae.course.check_reparameterize_backward(reparameterize_backward)

# %% [markdown]
# The derivatives: $\partial z / \partial \mu = 1$ and, because
# $\partial \sigma / \partial\, \mathrm{logvar} = \sigma / 2$,
# $\partial z / \partial\, \mathrm{logvar} = \epsilon \sigma / 2$. So
#
# $$
# \frac{\partial J}{\partial \mu} = \mathbb{E}_\epsilon\big[f'(z)\big], \qquad
# \frac{\partial J}{\partial\, \mathrm{logvar}}
# = \mathbb{E}_\epsilon\!\left[f'(z)\, \frac{\epsilon \sigma}{2}\right]
# $$
#
# `ops.reparameterize(mu, logvar, eps)` is this op, with its hand-written backward
# (`minivae/ops/vae.py`); the rest of the notebook uses it. $\epsilon$ is passed in, drawn
# outside the graph. One draw:

# %%
eps = rng.standard_normal((1, 1))
z = ops.reparameterize(mu, logvar, eps)
f(z).sum().backward()
slope = 2 * (z.data - 2)  # f'(z)
assert np.allclose(mu.grad, slope) and np.allclose(logvar.grad, slope * eps * SIGMA / 2)
print(f"eps = {eps.item():.3f}, z = {z.item():.3f}: "
      f"dmu = {mu.grad.item():.3f}, dlogvar = {logvar.grad.item():.3f}")
print(minivae.gradcheck(ops.reparameterize, [rng.normal(size=(3, 2)) for _ in range(3)],
                        name="reparameterize"))

# %% [markdown]
# One draw is one noisy estimate of the gradient. Many at once: give every draw its own row,
# so that $B = n$ rows hold $n$ independent copies of $(\mu, \mathrm{logvar})$. Each row's loss
# depends only on its own row of `mu` and `logvar`, so after one `backward()` of the sum, row
# $i$ of `mu.grad` is the estimate from draw $i$.


# %%
def copies(value, n):
    """n rows holding `value`, as a leaf tensor: (n, 1)."""
    return minivae.Tensor(np.full((n, 1), value), requires_grad=True)


def pathwise_estimates(eps, loss=f):
    """One estimate of (dJ/dmu, dJ/dlogvar) per noise draw eps (n,): f'(z) times dz/d(.)."""
    mu, logvar = copies(MU, len(eps)), copies(LOGVAR, len(eps))
    z = ops.reparameterize(mu, logvar, eps[:, None])  # (n, 1)
    loss(z).sum().backward()
    return mu.grad[:, 0], logvar.grad[:, 0]


# %% [markdown]
# ## The score-function estimator (REINFORCE)
#
# The other way keeps $z$ as a plain sample and differentiates the density instead. Since
# $\partial q / \partial \mu = q\, \partial \log q / \partial \mu$,
#
# $$
# \frac{\partial J}{\partial \mu} = \frac{\partial}{\partial \mu} \int f(z)\, q(z)\, dz
# = \mathbb{E}_q\!\left[f(z)\, \frac{\partial \log q(z)}{\partial \mu}\right]
# $$
#
# and the same for $\mathrm{logvar}$. It needs no derivative of $f$ at all, so it works for
# discrete $z$ or a loss we cannot differentiate; that is its appeal. With $\log q(z)$ from
# `docs/math.md`'s Gaussian likelihood (`ops.gaussian_nll(z, mu, logvar)` is $-\log q(z)$):
#
# $$
# \frac{\partial \log q}{\partial \mu} = \frac{z - \mu}{\sigma^2} = \frac{\epsilon}{\sigma},
# \qquad
# \frac{\partial \log q}{\partial\, \mathrm{logvar}} = \frac{\epsilon^2 - 1}{2}
# $$
#
# In code: hold $z$ and $f(z)$ fixed as constants, and differentiate the "surrogate"
# $f(z) \log q(z)$ with respect to $\mu$ and $\mathrm{logvar}$: its gradient is exactly the
# estimate.


# %%
def score_function_estimates(eps, loss=f):
    """One estimate per draw: f(z) times d log q(z)/d(.), with z = mu + sigma * eps held fixed."""
    mu, logvar = copies(MU, len(eps)), copies(LOGVAR, len(eps))
    z = MU + SIGMA * eps[:, None]  # (n, 1): a plain array, no path back to mu and logvar
    log_q = -ops.gaussian_nll(minivae.Tensor(z), mu, logvar)  # (n,): log q(z) of each row
    (log_q * loss(z)[:, 0]).sum().backward()  # f(z) is a constant weight
    return mu.grad[:, 0], logvar.grad[:, 0]


check_eps = rng.standard_normal(5)
pathwise_check, score_check = pathwise_estimates(check_eps), score_function_estimates(check_eps)
z_check = MU + SIGMA * check_eps
assert np.allclose(pathwise_check[0], 2 * (z_check - 2))  # f'(z)
assert np.allclose(score_check[0], f(z_check) * check_eps / SIGMA)  # f(z) eps / sigma
assert np.allclose(score_check[1], f(z_check) * (check_eps**2 - 1) / 2)

# %% [markdown]
# ## Both are unbiased
#
# Averaged over many draws, each estimator lands on the exact gradient, within 3 standard
# errors (the standard deviation of the per-draw estimates over $\sqrt{n}$):

# %%
n = 2000 * 1024  # 2000 repetitions of up to 1024 samples, used below
all_eps = rng.standard_normal(n)
estimates = {"pathwise": pathwise_estimates(all_eps),
             "score function": score_function_estimates(all_eps)}
for name, (grad_mu, grad_logvar) in estimates.items():
    for what, values, truth in [("dJ/dmu", grad_mu, TRUE_GRAD_MU),
                                ("dJ/dlogvar", grad_logvar, TRUE_GRAD_LOGVAR)]:
        stderr = values.std(ddof=1) / np.sqrt(n)
        print(f"{name:15s} {what:11s} mean {values.mean():8.4f} +- {stderr:.4f} "
              f"(exact {truth}), one-draw standard deviation {values.std():6.2f}")
        assert abs(values.mean() - truth) < 3 * stderr

# %% [markdown]
# But look at the spread of single-draw estimates of $\partial J / \partial \mu$. The pathwise
# estimate is $f'(z) = 2 (z - 2)$, a Gaussian around $-4$; the score-function estimate
# multiplies the loss itself by a random sign and size, $(z - 2)^2 \epsilon$, and scatters far
# more widely, with heavy tails:

# %%
figure, axes = plt.subplots(figsize=(8, 4.2))
bins = np.linspace(-40, 40, 161)
for name, (grad_mu, _) in estimates.items():
    axes.hist(grad_mu, bins=bins, density=True, histtype="step", lw=1.5, label=name)
axes.axvline(TRUE_GRAD_MU, color="black", lw=1,
             label=rf"exact $\partial J / \partial \mu = {TRUE_GRAD_MU:g}$")
axes.set_yscale("log")
outside = np.mean(np.abs(estimates["score function"][0]) > 40)
axes.set_xlabel(rf"one-draw estimate of $\partial J / \partial \mu$ (axis cut at $\pm 40$; "
                f"{outside:.1%} of the score-function estimates lie beyond)")
axes.set_ylabel("density (log scale)")
axes.set_title("Single-draw gradient estimates: pathwise against score function")
axes.legend()
plt.show()

# %% [markdown]
# ## Variance against the number of samples
#
# Averaging $S$ independent draws divides an estimator's variance by $S$. Measured: for each
# $S$, 2000 repetitions of the average of $S$ draws, and the variance of those 2000 averages.
# Both estimators follow the $1/S$ line (dashed: the one-draw variance over $S$), but the score
# function's line sits far higher: to be as precise as the pathwise estimator it needs that
# many times more samples.

# %%
sample_counts = 2 ** np.arange(11)  # S = 1, 2, 4, ..., 1024
repetitions = n // sample_counts[-1]


def variance_of_average(values, s):
    """Variance, over the repetitions, of the average of s draws: (repetitions, s) -> mean."""
    return values.reshape(repetitions, -1)[:, :s].mean(axis=1).var(ddof=1)


figure, panels = plt.subplots(1, 2, figsize=(12, 4.5), layout="constrained")
for panel, index, what, label in [
    (panels[0], 0, "dJ/dmu", r"$\partial J / \partial \mu$"),
    (panels[1], 1, "dJ/dlogvar", r"$\partial J / \partial\, \mathrm{logvar}$"),
]:
    measured = {}
    for (name, values), colour in zip(estimates.items(), ["C0", "C1"], strict=True):
        measured[name] = np.array([variance_of_average(values[index], s) for s in sample_counts])
        slope = np.polyfit(np.log(sample_counts), np.log(measured[name]), 1)[0]
        assert abs(slope + 1) < 0.1, f"{name} {what}: variance falls like S^{slope:.2f}"
        panel.loglog(sample_counts, measured[name], "o-", color=colour,
                     label=f"{name} (fitted slope {slope:.2f})")
        panel.loglog(sample_counts, values[index].var() / sample_counts, "--", color=colour,
                     lw=0.8)
    ratio = measured["score function"] / measured["pathwise"]
    assert np.all(ratio > 10)
    print(f"{what}: the score function's variance is {ratio.min():.0f} to {ratio.max():.0f} "
          "times the pathwise one")
    panel.set_xlabel("samples $S$ averaged per estimate")
    panel.set_ylabel(f"variance of the estimate of {label}")
    panel.set_title(f"{label}: variance against $S$ (dashed: one-draw variance / $S$)")
    panel.legend()
plt.show()

# %% [markdown]
# ## When the pathwise estimator wins, and when it does not
#
# The pathwise estimator uses $f'(z)$, how the loss *changes* with $z$; the score function
# uses only $f(z)$, the loss's *value*, and has to discover the slope by correlating values
# with random perturbations. Which is noisier depends on $f$. For a Gaussian $q$ the two
# single-draw estimates of $\partial J / \partial \mu$ have the variances
#
# $$
# \operatorname{Var}\big[f'(z)\big] \;\le\; \sigma^2\, \mathbb{E}\big[f''(z)^2\big]
# \qquad\text{and}\qquad
# \operatorname{Var}\!\left[f(z)\, \frac{\epsilon}{\sigma}\right]
# = \frac{\mathbb{E}\big[f(z)^2 \epsilon^2\big]}{\sigma^2}
# - \left(\frac{\partial J}{\partial \mu}\right)^2
# $$
#
# (the first is the Gaussian Poincaré inequality applied to $f'$). The pathwise estimate is
# precise when the slope changes little across the width $\sigma$ of $q$; the score-function
# estimate grows with the size of $f$ itself, even where $f$ is flat. For
# $f(z) = (z - 2)^2$, $f'' = 2$: the pathwise variance is at most 4, while $f(z)^2$ is large
# over much of $q$, hence the factor above. (Subtracting a constant baseline from $f(z)$,
# which leaves the estimate unbiased since $\mathbb{E}[\epsilon] = 0$, is how REINFORCE is
# used in practice, and narrows the gap; it still does not use $f'$.)
#
# The order reverses for a loss whose slope changes much faster than $\sigma$: a smoothed step,
# $f(z) = \tanh(\omega z)$ with $\omega = 20$. Its slope $\omega (1 - \tanh^2 \omega z)$
# is up to 20 in a band of width about $1/\omega$ around 0 and almost 0 elsewhere, so a
# pathwise estimate is near 0 for most draws and large for the few that land in the band; a
# score-function estimate is $f(z) \epsilon / \sigma$, with $|f| \le 1$. The exact gradient
# at $\mu = 0$, $\sigma = 1$ is $\mathbb{E}[\omega (1 - \tanh^2 \omega z)]$, which we take
# from a million-point quadrature of the Gaussian:

# %%
OMEGA = 20.0


def smoothed_step(z):
    """tanh(omega z): a step from -1 to 1 over a width of about 1 / omega around z = 0."""
    return ops.tanh(z * OMEGA) if isinstance(z, minivae.Tensor) else np.tanh(OMEGA * z)


grid = np.linspace(-8, 8, 1_000_001)  # the exact gradient E[f'(z)], z ~ N(0, 1), by quadrature
density = np.exp(-grid**2 / 2) / np.sqrt(2 * np.pi)
step_gradient = np.sum(OMEGA * (1 - np.tanh(OMEGA * grid) ** 2) * density) * (grid[1] - grid[0])
step_eps = rng.standard_normal(200_000)
step_estimates = {"pathwise": pathwise_estimates(step_eps, smoothed_step)[0],
                  "score function": score_function_estimates(step_eps, smoothed_step)[0]}
for name, values in step_estimates.items():
    stderr = values.std(ddof=1) / np.sqrt(len(values))
    print(f"{name:15s} dJ/dmu mean {values.mean():.4f} +- {stderr:.4f} (exact "
          f"{step_gradient:.4f}), one-draw variance {values.var():6.2f}")
    assert abs(values.mean() - step_gradient) < 3 * stderr
step_ratio = step_estimates["pathwise"].var() / step_estimates["score function"].var()
print(f"smoothed step: the pathwise variance is {step_ratio:.0f} times the score function's")
assert step_ratio > 10

# %% [markdown]
# Both are unbiased again, and now the pathwise estimator's variance is the larger by more than
# a factor of ten: lower variance is a property of the loss, not a law of the estimator. In a
# VAE the loss is the decoder's $-\log p(x \mid z)$, differentiable in $z$, and there the
# pathwise estimator is the usual, low-variance choice (it is how Kingma and Welling, 2014,
# made the VAE trainable); the case above is the kind of loss to be wary of. So
# `VAE.loss` draws its code as $z = \mu + \sigma \epsilon$ with `ops.reparameterize`, one
# $\epsilon$ per example from `minivae.rng`, and a single backward pass gives the gradient for
# every encoder weight. Notebook 5 trains it.
