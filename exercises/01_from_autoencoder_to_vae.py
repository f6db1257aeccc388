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
# # 1. From autoencoder to VAE
#
# An autoencoder squeezes each input x (D numbers) through a code z (L numbers, L much smaller
# than D) and rebuilds x from the code. A Variational Autoencoder (VAE) keeps that shape but
# makes the code uncertain: the encoder outputs a Gaussian distribution over z, and the decoder
# rebuilds x from a z drawn from it. This notebook follows the flow of information through
# both, then works out the one new piece of math the distribution brings: the KL divergence
# between two Gaussians, derived in closed form and checked against Monte Carlo estimates.
#
# The symbols are those of `docs/math.md`: x (B, D) a batch of B inputs, z (B, L) their codes,
# mu and logvar (B, L) what the encoder outputs, sigma = exp(logvar / 2), eps ~ N(0, I) noise.

# %% [markdown]
# **The exercise version of this notebook**, made from `notebooks/01_from_autoencoder_to_vae.py` by
# `python -m minivae.course.make_exercises` (edit that one, not this). The cells marked
# **Exercise** leave 2 functions for you to write: `kl_closed_form`, `kl_gradient`.
# Put your code in place of `raise NotImplementedError()`, run the cell, then the check
# cell below it: it tells you whether your answer is right and, if not, what is wrong
# and why. Until then the check says "Not done yet", and the rest of the notebook runs
# all the same, on minivae's own versions.

# %%
# %matplotlib inline
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import FancyBboxPatch

import minivae
import minivae.course
from minivae import ops
from minivae.data import load_dataset
from minivae.ops.vae import kl_terms

rng = np.random.default_rng(0)

# %% [markdown]
# ## The flow of information
#
# Top row: the autoencoder maps x to one point z and decodes it. Bottom row: the VAE's encoder
# outputs two vectors, mu and logvar, the mean and log-variance of
# q(z|x) = N(mu, diag(sigma^2)); a code is drawn as z = mu + sigma * eps (the
# reparameterization, notebook 3) and decoded into the parameters of p(x|z). The loss has two
# terms (notebook 4): the reconstruction -log p(x|z) and the KL divergence from q(z|x) to the
# prior p(z) = N(0, I). Under each box: the minivae function that computes it.


# %%
def box(axes, x, y, text, code="", colour="#dbe9f6"):
    """A rounded box centred at (x, y): `text`, and below it in small type `code`."""
    axes.add_patch(FancyBboxPatch((x - 1.1, y - 0.45), 2.2, 0.9, boxstyle="round,pad=0.05",
                                  facecolor=colour, edgecolor="black"))
    axes.text(x, y + (0.13 if code else 0), text, ha="center", va="center", fontsize=9.5)
    axes.text(x, y - 0.25, code, ha="center", va="center", fontsize=7.5, family="monospace")


def arrow(axes, start, end):
    axes.annotate("", xy=end, xytext=start, arrowprops=dict(arrowstyle="->", lw=1.4))


columns = [0, 2.6, 5.2, 7.8, 10.4, 13.0]  # x, encoder, (mu, logvar), z, decoder, -log p(x|z)
figure, axes = plt.subplots(figsize=(13.5, 5.4))
# the autoencoder, at height 4: no distribution, so nothing in the third column
for column, text, code, colour in [
    (0, "x  (B, D)", "", "white"),
    (1, "encoder MLP", "Autoencoder.encode", "#dbe9f6"),
    (3, "z  (B, L)", "one point per x", "#fde2c8"),
    (4, "decoder MLP", "Autoencoder.decode", "#dbe9f6"),
    (5, "-log p(x|z)", "ops.bernoulli_nll", "#e3f1dc"),
]:
    box(axes, columns[column], 4, text, code, colour)
for a, b in [(0, 1), (1, 3), (3, 4), (4, 5)]:
    arrow(axes, (columns[a] + 1.15, 4), (columns[b] - 1.15, 4))
# the VAE, at height 1.5, with the noise and the KL below it
for column, y, text, code, colour in [
    (0, 1.5, "x  (B, D)", "", "white"),
    (1, 1.5, "encoder MLP", "VAE.encode", "#dbe9f6"),
    (2, 1.5, "mu, logvar  (B, L)", "q(z|x) = N(mu, sigma^2)", "#fde2c8"),
    (3, 1.5, "z = mu + sigma * eps", "ops.reparameterize", "#fde2c8"),
    (4, 1.5, "decoder MLP", "VAE.decode", "#dbe9f6"),
    (5, 1.5, "-log p(x|z)", "ops.bernoulli_nll", "#e3f1dc"),
    (3, -0.4, "eps ~ N(0, I)", "minivae.rng", "white"),
    (2, -0.4, "KL(q(z|x) || p(z))", "ops.gaussian_kl", "#e3f1dc"),
]:
    box(axes, columns[column], y, text, code, colour)
for a, b in [(0, 1), (1, 2), (2, 3), (3, 4), (4, 5)]:
    arrow(axes, (columns[a] + 1.15, 1.5), (columns[b] - 1.15, 1.5))
arrow(axes, (columns[3], 0.1), (columns[3], 1.0))  # the noise enters the sample
arrow(axes, (columns[2], 1.0), (columns[2], 0.1))  # mu, logvar give the KL
axes.text(-1.1, 4.75, "Autoencoder: x -> one point z -> x", fontsize=11, weight="bold")
axes.text(-1.1, 2.25, "VAE: x -> a distribution q(z|x) -> a sample z -> p(x|z)", fontsize=11,
          weight="bold")
axes.text(columns[5], -0.4, "the loss (green):\n-log p(x|z) + beta * KL\n(VAE.loss)",
          ha="center", va="center", fontsize=9)
axes.set_xlim(-1.3, 14.3)
axes.set_ylim(-1.1, 5.1)
axes.axis("off")
axes.set_title("The flow of information: a point code against a distribution over codes")
plt.show()

# %% [markdown]
# The same flow in code, on five sprites (28 x 28 images of shapes, generated by the package,
# so D = 784) and an untrained VAE with a 2-dimensional latent space (L = 2). Only shapes
# matter here; notebook 4 trains it.

# %%
train, _ = load_dataset("sprites")
x = train.x[:5]  # (B, D) = (5, 784), pixels in [0, 1]
vae = minivae.VAE(input_dim=784, hidden=(64,), latent_dim=2, seed=0)

mu, logvar = vae.encode(x)  # (B, L) each
eps = rng.standard_normal(mu.shape).astype(np.float32)  # (B, L), drawn outside the graph
z = ops.reparameterize(mu, logvar, eps)  # (B, L): z = mu + sigma * eps
logits = vae.decode(z)  # (B, D): one logit l_j per pixel, p(x_j = 1 | z) = sigmoid(l_j)
recon = ops.bernoulli_nll(logits, x)  # (B,): -log p(x|z), nats per example
kl = ops.gaussian_kl(mu, logvar)  # (B,): KL(q(z|x) || p(z)), nats per example

for name, value in [("x", x), ("mu", mu), ("logvar", logvar), ("z", z), ("logits", logits),
                    ("recon", recon), ("kl", kl)]:
    print(f"{name:7s} shape {value.shape}")

# %% [markdown]
# ## What changes when the encoder outputs a distribution
#
# The autoencoder's encoder is a function: the same x always gives the same z. The VAE's
# encoder gives a distribution, and each pass draws a different z from it:

# %%
autoencoder = minivae.Autoencoder(input_dim=784, hidden=(64,), latent_dim=2, seed=0)
first, second = autoencoder.encode(x).data, autoencoder.encode(x).data
assert np.array_equal(first, second)  # a point: deterministic

draws = [ops.reparameterize(mu, logvar, rng.standard_normal(mu.shape).astype(np.float32)).data
         for _ in range(2)]
assert not np.allclose(draws[0], draws[1])  # a distribution: a new z each time
print("autoencoder, twice:", first[0], second[0])
print("VAE, twice:        ", draws[0][0], draws[1][0])

# %% [markdown]
# This changes what the decoder learns. It never sees exactly mu, only points scattered around
# it by sigma, so it must decode a whole neighbourhood of each code to something like x: the
# codes of similar inputs overlap, and the space between them means something. And a second
# term in the loss, KL(q(z|x) || p(z)), pulls every q(z|x) towards the prior N(0, I), so that
# the codes fill one region around 0 instead of spreading out anywhere. An autoencoder's codes
# can sit far apart with gaps between them; a VAE's overlap near the origin, which is what lets
# us later draw z ~ N(0, I) and decode a new example (notebook 5 compares trained ones).
#
# A picture with made-up codes for three inputs, in one latent dimension:

# %%
grid = np.linspace(-7, 7, 1000)
figure, (left, right) = plt.subplots(1, 2, figsize=(12, 4), sharex=True, layout="constrained")
for point, colour in zip([-5.2, 0.9, 5.8], ["C0", "C1", "C2"], strict=True):
    left.axvline(point, color=colour, lw=3)
left.set_title("Autoencoder: one point z per input")
left.set_yticks([])
left.set_ylabel("(a point has no spread)")
left.set_xlabel("z")
for m, s, colour in zip([-1.1, 0.3, 1.4], [0.45, 0.6, 0.4], ["C0", "C1", "C2"], strict=True):
    right.plot(grid, np.exp(-0.5 * ((grid - m) / s) ** 2) / (s * np.sqrt(2 * np.pi)),
               color=colour, label=f"q(z|x) = N({m}, {s}^2)")
right.plot(grid, np.exp(-0.5 * grid**2) / np.sqrt(2 * np.pi), "k--", label="prior p(z) = N(0, 1)")
right.set_title("VAE: one Gaussian q(z|x) per input, near the prior")
right.set_xlabel("z")
right.set_ylabel("density")
right.legend(fontsize=8, loc="upper right")
figure.suptitle("Codes of three inputs in a 1-D latent space (made-up numbers)")
plt.show()

# %% [markdown]
# ## Gaussians and the KL divergence, in one dimension
#
# The KL divergence from q to p is the expected log-ratio of their densities under q:
#
#     KL(q || p) = E_{z ~ q}[log q(z) - log p(z)]  >= 0,  and 0 only when q = p.
#
# For q = N(mu, sigma^2) and p = N(0, 1) the log-densities are
#
#     log q(z) = -1/2 (log 2 pi + logvar + (z - mu)^2 / sigma^2)
#     log p(z) = -1/2 (log 2 pi + z^2)
#
# Under q, E[(z - mu)^2] = sigma^2 and E[z^2] = mu^2 + sigma^2. So the log 2 pi terms cancel
# and
#
#     KL = -1/2 (logvar + 1) + 1/2 (mu^2 + sigma^2) = 1/2 (mu^2 + sigma^2 - 1 - logvar).
#
# This is the closed form `ops.gaussian_kl` computes (per row, summed over the L dimensions).
#
# ### Exercise 1: the closed-form KL and its gradient
#
# Write it in NumPy, elementwise: `kl_closed_form(mu, logvar)` takes two arrays of one shape
# and returns the KL term of each element, an array of that shape. Then its gradient:
# `kl_gradient(mu, logvar)` returns the pair (dKL/dmu, dKL/dlogvar), each of that shape too.
# Derive the two derivatives from the formula above; remember that sigma^2 = exp(logvar). Use
# only the arguments and NumPy (`np`): the check calls your functions on inputs of its own.


# %%
# The check calls each function by position, its arguments in the order of the def line:
# keep the parameters and their order as they are (a name may change, the order may not).
def kl_closed_form(mu, logvar):
    """KL(N(mu, sigma^2) || N(0, 1)) = 1/2 (mu^2 + sigma^2 - 1 - logvar), elementwise."""
    # YOUR CODE HERE
    raise NotImplementedError()


def kl_gradient(mu, logvar):
    """(dKL/dmu, dKL/dlogvar) of the KL above, elementwise."""
    # YOUR CODE HERE
    raise NotImplementedError()


# %% [markdown]
# The check runs both on four batches (one of them a single example, one a single latent
# dimension, one with logvar far from 0) against minivae's `ops.gaussian_kl` and its
# backward pass, then runs `minivae.gradcheck` with your gradient as the backward pass of the
# KL. If it finds a mistake, it says which quantity is wrong, how, and the likely reason.

# %%
minivae.course.check_kl(kl_closed_form, kl_gradient)

# %% [markdown]
# From here on the notebook uses minivae's own elementwise KL, `kl_terms` in
# `minivae/ops/vae.py` (the terms `ops.gaussian_kl` sums over each row), so that it runs the
# same whether or not your answer is right yet. Beside it, the log-density that the Monte
# Carlo estimate needs:


# %%
def kl_by_minivae(mu, logvar):
    """minivae's KL terms, 1/2 (mu^2 + sigma^2 - 1 - logvar), elementwise."""
    return kl_terms(mu, np.exp(logvar), logvar)


def log_normal(z, mu, logvar):
    """log N(z; mu, sigma^2) = -1/2 (log 2 pi + logvar + (z - mu)^2 / sigma^2), elementwise."""
    return -0.5 * (np.log(2 * np.pi) + logvar + (z - mu) ** 2 / np.exp(logvar))


# %% [markdown]
# The Monte Carlo estimate draws z = mu + sigma * eps from q and averages log q(z) - log p(z).
# Its standard error is the standard deviation of those terms over sqrt(n): an unbiased
# estimate lands within 3 standard errors of the true value in 99.7% of runs. Both must agree
# with each other and with `ops.gaussian_kl`:

# %%
mu_1d, logvar_1d = 1.5, np.log(0.5**2)  # q = N(1.5, 0.5^2)
n = 200_000
z_1d = mu_1d + np.exp(logvar_1d / 2) * rng.standard_normal(n)  # z ~ q
terms = log_normal(z_1d, mu_1d, logvar_1d) - log_normal(z_1d, 0.0, 0.0)  # log q(z) - log p(z)
mc, stderr = terms.mean(), terms.std(ddof=1) / np.sqrt(n)
closed = kl_by_minivae(mu_1d, logvar_1d)
by_minivae = ops.gaussian_kl(minivae.Tensor([[mu_1d]]), minivae.Tensor([[logvar_1d]])).item()

print(f"closed form {closed:.5f}, ops.gaussian_kl {by_minivae:.5f}, "
      f"Monte Carlo {mc:.5f} +- {stderr:.5f} (n = {n})")
assert np.isclose(by_minivae, closed)
assert abs(mc - closed) < 3 * stderr

# %% [markdown]
# The estimate closes in on the closed form as n grows, its error shrinking like 1 / sqrt(n):

# %%
counts = np.arange(1, n + 1)
running_mean = np.cumsum(terms) / counts
band = 3 * terms.std(ddof=1) / np.sqrt(counts)
figure, axes = plt.subplots(figsize=(8, 4))
axes.plot(counts, running_mean, label="Monte Carlo mean of log q(z) - log p(z)")
axes.fill_between(counts, closed - band, closed + band, alpha=0.25, label="closed form +- 3 stderr")
axes.axhline(closed, color="black", lw=1, label=f"closed form {closed:.4f}")
axes.set_xscale("log")
axes.set_ylim(closed - 1.5, closed + 1.5)
axes.set_xlabel("number of samples n")
axes.set_ylabel("KL estimate (nats)")
axes.set_title("KL(N(1.5, 0.5^2) || N(0, 1)): Monte Carlo against the closed form")
axes.legend()
plt.show()

# %% [markdown]
# One pair (mu, sigma) could agree by luck. Several, from narrow to wide and near to far:

# %%
print(f"{'mu':>5} {'sigma':>6} {'closed form':>12} {'Monte Carlo':>20}")
for mu_i, sigma_i in [(0.0, 1.0), (0.0, 0.2), (0.0, 3.0), (-2.0, 1.0), (1.0, 0.1), (3.0, 2.0)]:
    logvar_i = np.log(sigma_i**2)
    z_i = mu_i + sigma_i * rng.standard_normal(n)
    terms_i = log_normal(z_i, mu_i, logvar_i) - log_normal(z_i, 0.0, 0.0)
    mc_i, stderr_i = terms_i.mean(), terms_i.std(ddof=1) / np.sqrt(n)
    closed_i = kl_by_minivae(mu_i, logvar_i)
    print(f"{mu_i:5.1f} {sigma_i:6.1f} {closed_i:12.5f} {mc_i:12.5f} +- {stderr_i:.5f}")
    assert abs(mc_i - closed_i) <= 3 * stderr_i + 1e-12  # q = p: every term is exactly 0

# %% [markdown]
# ## In L dimensions
#
# The encoder's q(z|x) = N(mu, diag(sigma^2)) has independent coordinates, and so has the prior
# N(0, I). The log-density of independent coordinates is the sum of theirs, so the KL is a sum
# over the L dimensions:
#
#     KL = sum_j 1/2 (mu_j^2 + sigma_j^2 - 1 - logvar_j)
#
# `ops.gaussian_kl(mu, logvar)` takes mu and logvar of shape (B, L) and returns this sum for
# each of the B rows, shape (B,). Checked on four random rows with L = 10, each against its own
# Monte Carlo estimate:

# %%
B, L = 4, 10
mu_bl = rng.normal(0, 1, (B, L))
logvar_bl = rng.normal(0, 1, (B, L))
closed_bl = ops.gaussian_kl(minivae.Tensor(mu_bl), minivae.Tensor(logvar_bl)).data  # (B,)
assert np.allclose(closed_bl, kl_by_minivae(mu_bl, logvar_bl).sum(axis=1))

draws = 50_000
z_bl = mu_bl + np.exp(logvar_bl / 2) * rng.standard_normal((draws, B, L))  # (n, B, L)
terms_bl = (log_normal(z_bl, mu_bl, logvar_bl) - log_normal(z_bl, 0.0, 0.0)).sum(axis=2)
mc_bl = terms_bl.mean(axis=0)  # (B,)
stderr_bl = terms_bl.std(axis=0, ddof=1) / np.sqrt(draws)
for row in range(B):
    print(f"row {row}: ops.gaussian_kl {closed_bl[row]:8.4f}, "
          f"Monte Carlo {mc_bl[row]:8.4f} +- {stderr_bl[row]:.4f}")
assert np.all(np.abs(mc_bl - closed_bl) < 3 * stderr_bl)

# %% [markdown]
# The closed form is exact and costs one pass over mu and logvar; the Monte Carlo estimate is
# noisy, and its noise grows with L (it sums L noisy terms). That is why the VAE's loss uses
# the closed form for the KL and a sample only for the reconstruction, which has no closed form.
#
# ## What the KL penalises
#
# Read term by term, 1/2 (mu^2 + sigma^2 - 1 - logvar) has three things to say:
# - mu^2 / 2: a code away from 0 costs quadratically (left panel);
# - (sigma^2 - logvar - 1) / 2: a sigma away from 1 costs in both directions (middle panel):
#   sigma^2 / 2 penalises wide distributions, -logvar / 2 = -log sigma penalises narrow ones,
#   without bound as sigma -> 0 (a point code, like the autoencoder's, has infinite KL);
# - the minimum, 0, is q = p: mu = 0 and sigma = 1.

# %%
mus = np.linspace(-3, 3, 200)
sigmas = np.geomspace(0.05, 4, 200)
figure, (left, middle) = plt.subplots(1, 2, figsize=(12, 4))
for sigma_i in (0.5, 1.0, 2.0):
    left.plot(mus, kl_by_minivae(mus, np.log(sigma_i**2)), label=f"sigma = {sigma_i}")
left.set_xlabel("mu")
left.set_ylabel("KL (nats)")
left.set_title("KL against mu: quadratic, least at mu = 0")
left.legend()
middle.plot(sigmas, kl_by_minivae(0.0, np.log(sigmas**2)), "k", lw=2, label="KL at mu = 0")
middle.plot(sigmas, sigmas**2 / 2, "--", label="sigma^2 / 2 (too wide)")
middle.plot(sigmas, -np.log(sigmas), ":", label="-log sigma (too narrow)")
middle.set_xscale("log")
middle.set_ylim(-1, 5)
middle.axvline(1.0, color="gray", lw=0.8)
middle.set_xlabel("sigma (log scale)")
middle.set_ylabel("nats")
middle.set_title("KL against sigma: least at sigma = 1")
middle.legend()
plt.show()

# %% [markdown]
# During training the KL does not act through its value but through its gradient, which
# `ops.gaussian_kl`'s hand-written backward pass supplies (the derivatives of exercise 1):
#
#     dKL/dmu = mu,    dKL/dlogvar = (sigma^2 - 1) / 2
#
# Gradient descent moves (mu, logvar) against the gradient, towards (0, 0). The arrows below
# are that step, -gradient, as minivae's backward pass computes it on a grid of (mu, logvar),
# over the contours of the KL:

# %%
mu_grid, logvar_grid = np.meshgrid(np.linspace(-3, 3, 13), np.linspace(-3, 2, 11))
mu_t = minivae.Tensor(mu_grid.reshape(-1, 1), requires_grad=True)  # (143, 1): B = 143, L = 1
logvar_t = minivae.Tensor(logvar_grid.reshape(-1, 1), requires_grad=True)
ops.gaussian_kl(mu_t, logvar_t).sum().backward()
assert np.allclose(mu_t.grad, mu_t.data)  # dKL/dmu = mu
assert np.allclose(logvar_t.grad, (np.exp(logvar_t.data) - 1) / 2)  # dKL/dlogvar

fine_mu, fine_logvar = np.meshgrid(np.linspace(-3, 3, 200), np.linspace(-3, 2, 200))
figure, axes = plt.subplots(figsize=(7, 6))
contours = axes.contour(fine_mu, fine_logvar, kl_by_minivae(fine_mu, fine_logvar),
                        levels=[0.1, 0.5, 1, 2, 3, 4, 5], cmap="viridis")
axes.clabel(contours, fontsize=8)
axes.quiver(mu_grid, logvar_grid, -mu_t.grad.reshape(mu_grid.shape),
            -logvar_t.grad.reshape(mu_grid.shape), angles="xy", color="gray")
axes.plot(0, 0, "r*", markersize=14, label="minimum: mu = 0, logvar = 0 (sigma = 1)")
axes.set_xlabel("mu")
axes.set_ylabel("logvar")
axes.set_title("Contours of the KL (nats) and -gradient from ops.gaussian_kl's backward")
axes.legend(loc="lower left")
plt.show()

# %% [markdown]
# The arrows grow with |mu| (the pull towards 0 is linear in mu) and are lopsided in logvar:
# above logvar = 0 (sigma > 1) the pull down grows like e^logvar, below it levels off at 1/2.
#
# Alone, the KL would pull every q(z|x) onto the prior and the code would say nothing about x.
# The reconstruction term pulls the other way, towards codes precise enough to rebuild x.
# Notebook 2 builds the autograd engine that computed those arrows; notebook 3 shows how a
# gradient gets through the sampling step z = mu + sigma * eps; notebook 4 puts the two terms
# together as the ELBO and trains the model.
