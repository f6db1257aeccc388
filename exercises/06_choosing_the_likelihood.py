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
# # 6. Choosing the likelihood
#
# Every VAE so far had the same decoder: one Bernoulli distribution per pixel, with probability
# $p_j = \mathrm{sigmoid}(l_j)$. That is one choice of $p(x \mid z)$ among many, and the choice
# decides more than it seems: what the $-\mathrm{ELBO}$'s number means and which other numbers
# it can be compared with, how much weight the KL really has, and what the model generates.
# This notebook compares three choices on the sprites: the Bernoulli on grey levels and on
# binarized pixels; a Gaussian with a fixed standard deviation $\sigma$, which turns out to be
# the squared error with a $\beta$ in disguise; and a Gaussian whose $\sigma$ is learned, one
# per pixel, whose $-\mathrm{ELBO}$ has no minimum on these images. It ends with what the
# figures of every other notebook leave out: draws $x \sim p(x \mid z)$ beside the decoder's
# mean $\mathbb{E}[x \mid z]$, which is all they show.
#
# Every run here is short (a few epochs on the first 8,000 sprites), so the models are far from
# converged; the claims are about the differences between them, and each is asserted. Which of
# them depend on the data (the sprites' edges are the only grey pixels, and their border is
# black in every image) is said where they are made.

# %% [markdown]
# **The exercise version of this notebook**, made from `notebooks/06_choosing_the_likelihood.py` by
# `python -m minivae.course.make_exercises` (edit that one, not this). The cells marked
# **Exercise** leave 2 functions for you to write: `gaussian_nll`, `gaussian_nll_backward`.
# Put your code in place of `raise NotImplementedError()`, run the cell, then the check
# cell below it: it tells you whether your answer is right and, if not, what is wrong
# and why. Until then the check says "Not done yet", and the rest of the notebook runs
# all the same, on minivae's own versions.

# %%
# %matplotlib inline
import os
import tempfile

import matplotlib.pyplot as plt
import numpy as np

import minivae
import minivae.course
from minivae import plots
from minivae.data import load_dataset
from minivae.models.nn import Parameter
from minivae.models.optim import Adam
from minivae.rng import CounterRNG
from minivae.training import evaluate
from minivae.training.trainer import TrainConfig, Trainer

RUNS = tempfile.TemporaryDirectory(prefix="minivae-notebook-6-")  # the Trainer's checkpoints
N_TRAIN = 8_000  # the first 8,000 training sprites in every run
sprites_train, sprites_test = load_dataset("sprites")
train_x, test_x = sprites_train.x[:N_TRAIN], sprites_test.x  # (8000, 784), (2000, 784)
D = train_x.shape[1]


def image_rows(rows, labels, title, ncols=8):
    """Draw rows of images, (n, D) each with values in [0, 1], one labelled row per array."""
    images = np.concatenate([np.asarray(row)[:ncols] for row in rows]).reshape(-1, 28, 28)
    grid = plots.tile_images(images, ncols=ncols)
    figure, axes = plt.subplots(figsize=(1.0 * ncols + 2.5, 1.0 * len(rows) + 0.6),
                                layout="constrained")
    axes.imshow(grid, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    row_height = grid.shape[0] / len(rows)
    axes.set_yticks([row_height * (i + 0.5) for i in range(len(rows))], labels)
    axes.set_xticks([])
    axes.set_title(title)
    plt.show()


# %% [markdown]
# ## The Bernoulli, on grey levels and on binarized pixels
#
# Notebook 5 showed that the Bernoulli "likelihood" of a grey level $x_j \in (0, 1)$ is not a
# probability of anything (it is not normalized), and that even a perfect decoder pays its floor,
# $\sum_j H(x_j)$ nats per image. Binarizing the pixels, drawing each as 1 with its grey level
# as the probability (`TrainConfig(binarize="dynamic")`, afresh each time an image is used; the
# test set once, with a fixed seed), makes the data fit the likelihood: the floor of a binary
# pixel is $H(0) = H(1) = 0$. Two runs, identical but for that:

# %%
bernoulli_runs = {}
for binarize in ("none", "dynamic"):
    config = TrainConfig(dataset="sprites", epochs=6, limit=N_TRAIN, hidden=(256,), latent_dim=10,
                         binarize=binarize, out=os.path.join(RUNS.name, f"bernoulli-{binarize}"))
    bernoulli_runs[binarize] = Trainer(config, log=lambda line: None)
    bernoulli_runs[binarize].fit()
grey_run, binary_run = bernoulli_runs["none"], bernoulli_runs["dynamic"]


def entropy_floor(x):
    """sum_j H(x_j) of each row of pixels x (N, D): what the Bernoulli's -log p(x|z) is when the
    decoder's p is x itself, the least any decoder pays. (N,)"""
    x = x.astype(np.float64)
    p = np.clip(x, 1e-15, 1 - 1e-15)  # p = 0 or 1 would be a logit of -inf or inf
    return minivae.ops.bernoulli_nll(minivae.Tensor(np.log(p / (1 - p))), minivae.Tensor(x)).data


floor = entropy_floor(test_x).mean()
print(f"the test sprites' floor sum_j H(x_j): {floor:.1f} nats per image; binarized: "
      f"{entropy_floor(binary_run.test_x).mean():.1f}")
assert set(np.unique(binary_run.test_x)) == {0.0, 1.0} and 12 < floor < 14

# %% [markdown]
# **Predict first:** binarizing took the floor of the test set from about 13 nats to 0. Will
# the binarized run's test $-\mathrm{ELBO}$ be about 13 nats below the grey-level run's?

# %%
grey_terms = evaluate.mean_elbo_terms(grey_run.model, grey_run.test_x)
binary_terms = evaluate.mean_elbo_terms(binary_run.model, binary_run.test_x)
crossed_terms = evaluate.mean_elbo_terms(grey_run.model, binary_run.test_x)
print(f"{'model':22s} {'test pixels':12s} {'recon':>7s} {'KL':>6s} {'-ELBO':>7s}")
for model_name, pixels, terms in [("grey levels", "grey levels", grey_terms),
                                  ("binarized", "binarized", binary_terms),
                                  ("grey levels", "binarized", crossed_terms)]:
    print(f"{model_name:22s} {pixels:12s} {terms['recon']:7.2f} {terms['kl']:6.2f} "
          f"{terms['neg_elbo']:7.2f}")
assert abs(binary_terms["neg_elbo"] - grey_terms["neg_elbo"]) < floor / 3
assert abs(crossed_terms["neg_elbo"] - binary_terms["neg_elbo"]) < floor / 3

# %% [markdown]
# No: the two $-\mathrm{ELBO}$s differ by far less than the floor (the first two rows). Two
# facts explain it. For a decoder probability $p_j$ and a pixel drawn as
# $b_j \sim \mathrm{Bernoulli}(x_j)$, the expected cost of the draw is
#
# $$
# \mathbb{E}_{b_j}\big[-\log p(b_j \mid z)\big]
# = -x_j \log p_j - (1 - x_j) \log (1 - p_j),
# $$
#
# the grey-level cross-entropy itself: on average over the draws, the decoder of the binarized
# run is trained on the same loss as the other (only the encoder sees something else, $b$
# rather than $x$). And the floor does not vanish, it moves into the data: given the grey image
# $x$, its binarized pixels are independent coin flips carrying $\sum_j H(x_j)$ nats that no
# model can predict, so no model's $-\log p(b)$ can average below that. What binarizing changes
# is the meaning. $p(b \mid z)$ is a probability over the $2^D$ binary images, the binarized
# $-\mathrm{ELBO}$ is an upper bound on $-\log p(b)$, and the coin flips are the data's own
# randomness rather than an artefact of the formula.
#
# A Bernoulli decoder is a model of binary images whatever it was trained on, so the grey-level
# model can be scored on the binarized test set too (the third row): as a model of binary
# sprites it is as good as the binarized one, to within the same margin. Those two numbers, two
# models' $-\mathrm{ELBO}$s on the same binarized test images, are the pair that can be
# compared. The grey-level $-\mathrm{ELBO}$ can be compared only with another grey-level
# Bernoulli $-\mathrm{ELBO}$ on the same images, because it carries their floor.
#
# The pictures: the binarized test images have ragged edges, since only the edges of a sprite
# are grey (3% of all the test pixels); the decoder's means, at $z = \mu(x)$, look alike for the
# two runs (they differ by a tenth of their distance to the inputs, or less).

# %%
grey_means = grey_run.model.reconstruct(test_x)  # (2000, 784): sigmoid(l), E[x|z] at z = mu(x)
binary_means = binary_run.model.reconstruct(test_x)
mean_gap = np.abs(grey_means - binary_means).mean()
mean_error = np.abs(grey_means - test_x).mean()
grey_share = ((test_x > 0) & (test_x < 1)).mean()
print(f"grey pixels: {grey_share:.1%} of the test pixels; the two runs' means differ by "
      f"{mean_gap:.4f} per pixel, their distance to the inputs is {mean_error:.4f}")
assert grey_share < 0.05 and mean_gap < 0.3 * mean_error
image_rows([test_x, binary_run.test_x, grey_means, binary_means],
           ["test image", "binarized", "mean, grey run", "mean, binarized run"],
           "Bernoulli decoders: grey levels against binarized pixels")

# %% [markdown]
# ## A Gaussian with a fixed $\sigma$ is the squared error
#
# Pixels are numbers; a Gaussian decoder models each as its mean $m_j(z)$, the network's output,
# plus noise of standard deviation $\sigma$. With the same $\sigma$ for every pixel,
#
# $$
# -\log \mathcal{N}(x;\, m, \sigma^2 I)
# = \sum_{j=1}^{D} \left[\frac{(x_j - m_j)^2}{2\sigma^2} + \tfrac12 \log (2\pi\sigma^2)\right]
# = \frac{\lVert x - m \rVert^2}{2\sigma^2} + \frac{D}{2} \log (2\pi\sigma^2),
# $$
#
# so the negative ELBO is
#
# $$
# -\mathrm{ELBO}(x) = \frac{1}{2\sigma^2}\, \mathbb{E}_{q(z \mid x)} \lVert x - m(z) \rVert^2
# + \mathrm{KL}\big(q(z \mid x) \,\|\, p(z)\big) + \frac{D}{2} \log (2\pi\sigma^2).
# $$
#
# Multiply it by the constant $2\sigma^2$, which moves no minimum, and drop the constant term:
# what is left is the squared error plus $\beta$ times the KL,
#
# $$
# \mathbb{E}_{q(z \mid x)} \lVert x - m(z) \rVert^2 + \beta\, \mathrm{KL}\big(q(z \mid x)
# \,\|\, p(z)\big), \qquad \beta = 2\sigma^2.
# $$
#
# So "MSE or BCE?" is two questions: which likelihood (a Gaussian or a Bernoulli), and which
# $\beta$, since a VAE trained on the squared error is a Gaussian VAE whose $\sigma$ is
# $\sqrt{\beta / 2}$. A popular form, the squared error averaged over the pixels plus the KL,
# is $\frac1D \lVert x - m \rVert^2 + \mathrm{KL} \propto \lVert x - m \rVert^2 + D\,
# \mathrm{KL}$: $\beta = D = 784$, a $\sigma$ of $\sqrt{392} = 19.8$ on pixels in $[0, 1]$.
#
# minivae's Gaussian decoder (`VAE(likelihood="gaussian")`, `TrainConfig(likelihood="gaussian")`)
# has a learned log-variance per pixel, `decoder.logvar`. To fix $\sigma$, set it and leave it
# out of the optimizer. The loop below does what the `Trainer` does, written out: shuffled
# batches of 128, the mean objective over the batch, Adam (here with a learning rate of 0.002);
# `objective` is the model's own $-\log p(x \mid z) + \mathrm{KL}$ unless another is given.
# Five Gaussian VAEs follow, identical but for $\sigma$: 0.03, 0.1, 0.3, 1 and 3.


# %%
def gaussian_vae(sigma, seed=0):
    """A sprites VAE, Gaussian decoder, its sigma set to `sigma` (logvar = log sigma^2)."""
    model = minivae.VAE(D, hidden=(256,), latent_dim=10, likelihood="gaussian", seed=seed)
    model.decoder.logvar.data[:] = np.log(sigma**2)
    return model


def negative_elbo(model, x, noise):
    return model.loss(x, noise=noise).objective  # -log p(x|z) + KL per example, (B,)


def fit(model, epochs, seed=0, objective=negative_elbo, logvar_lr=None):
    """Train on train_x with Adam (lr 2e-3); the decoder's logvar only if logvar_lr is given, by
    an Adam of its own. After each epoch: the test set's terms (evaluate.mean_elbo_terms) and
    the decoder's logvar."""
    logvar = model.decoder.logvar
    optimizers = [Adam([p for p in model.parameters() if p is not logvar], lr=2e-3)]
    if logvar_lr is not None:
        optimizers.append(Adam([logvar], lr=logvar_lr))
    order, noise = np.random.default_rng(seed), CounterRNG(seed)
    rows = []
    for _ in range(epochs):
        for batch in np.array_split(order.permutation(N_TRAIN), N_TRAIN // 128):
            loss = objective(model, train_x[batch], noise).mean()
            model.zero_grad()
            loss.backward()
            for optimizer in optimizers:
                optimizer.step()
        rows.append({**evaluate.mean_elbo_terms(model, test_x), "logvar": logvar.data.copy()})
    return rows


sigmas = [0.03, 0.1, 0.3, 1.0, 3.0]
fixed = {sigma: gaussian_vae(sigma) for sigma in sigmas}
for model in fixed.values():
    fit(model, epochs=6)

# %% [markdown]
# First the identity itself, on one batch of test images with the same noise $\epsilon$: the
# Gaussian's $-\log p(x \mid z)$, computed by minivae, against the squared error computed by
# hand, and the gradients of the two objectives (in float64, so that they agree to rounding).

# %%
chosen = 0.3  # sigma for this comparison
exact = minivae.VAE(D, hidden=(256,), latent_dim=10, likelihood="gaussian", dtype=np.float64)
exact.load_state_dict(fixed[chosen].state_dict())
exact.decoder.logvar.data[:] = np.log(chosen**2)  # log 0.09 in float64, not float32's
x = test_x[:256].astype(np.float64)


def squared_error_objective(model, x, noise, beta):
    """||x - m(z)||^2 + beta KL per example: the squared-error VAE, written out. (B,)"""
    mu, logvar = model.encode(x)
    z, kl = model.sample_and_kl(mu, logvar, noise)  # the same eps as model.loss draws
    mean = model.decode(z)  # (B, D): the Gaussian decoder's mean m(z)
    return ((minivae.Tensor(x) - mean) ** 2).sum(axis=1) + beta * kl


gaussian_terms = exact.loss(x, noise=CounterRNG(5))
squared = squared_error_objective(exact, x, CounterRNG(5), beta=0.0)  # ||x - m(z)||^2, (B,)
constant = D / 2 * np.log(2 * np.pi * chosen**2)
print(f"-log p(x|z) {gaussian_terms.recon.data.mean():.4f}; ||x - m||^2 / (2 sigma^2) + "
      f"D/2 log(2 pi sigma^2) = {(squared.data / (2 * chosen**2) + constant).mean():.4f}")
assert np.allclose(gaussian_terms.recon.data, squared.data / (2 * chosen**2) + constant,
                   rtol=1e-10)

gradients = {}
for name, objective in [("gaussian", lambda: gaussian_terms.objective),
                        ("squared error", lambda: squared_error_objective(
                            exact, x, CounterRNG(5), beta=2 * chosen**2))]:
    exact.zero_grad()
    objective().mean().backward()
    gradients[name] = [p.grad.copy() for p in exact.parameters() if p is not exact.decoder.logvar]
ratios = [np.sum(a * b) / np.sum(b * b) for a, b in zip(gradients["squared error"],
                                                       gradients["gaussian"], strict=True)]
print(f"gradient of the squared-error objective / that of the Gaussian -ELBO, for each of the "
      f"{len(ratios)} weight arrays: {min(ratios):.6f} to {max(ratios):.6f} (2 sigma^2 = "
      f"{2 * chosen**2:.6f})")
assert all(np.allclose(a, 2 * chosen**2 * b, rtol=1e-8, atol=1e-12) for a, b in zip(
    gradients["squared error"], gradients["gaussian"], strict=True))

# %% [markdown]
# The two objectives differ by a constant and a factor $2\sigma^2$, in their values and in every
# gradient. **Predict first:** train a VAE on the squared error with $\beta = 2\sigma^2 = 0.18$,
# from the same initial weights, batches and noise as the Gaussian run with $\sigma = 0.3$. Adam
# divides each step by the root of a running average of the squared gradient, so a constant
# factor on the loss cancels from its steps (up to its $\mathrm{eps} = 10^{-8}$). What will the
# two models' KL and reconstructions look like?

# %%
squared_model = gaussian_vae(chosen)  # its decoder.logvar is not used by this objective
fit(squared_model, epochs=6,
    objective=lambda model, x, noise: squared_error_objective(model, x, noise, 2 * chosen**2))
pair = {"Gaussian, sigma = 0.3": fixed[chosen], "squared error, beta = 0.18": squared_model}
kls = {name: evaluate.mean_elbo_terms(model, test_x)["kl"] for name, model in pair.items()}
rebuilt = {name: model.reconstruct(test_x) for name, model in pair.items()}
errors = {name: ((means - test_x) ** 2).sum(axis=1).mean() for name, means in rebuilt.items()}
for name in pair:
    print(f"{name:28s}: test KL {kls[name]:.3f} nats, squared error of the reconstructions "
          f"{errors[name]:.3f}")
apart = np.abs(rebuilt["Gaussian, sigma = 0.3"] - rebuilt["squared error, beta = 0.18"]).max()
print(f"the two reconstructions differ by at most {apart:.3f} at any pixel of any test image")
(kl_a, kl_b), (error_a, error_b) = kls.values(), errors.values()
assert abs(kl_a - kl_b) < 0.02 * kl_a and abs(error_a - error_b) < 0.02 * error_a and apart < 0.2

# %% [markdown]
# The same model, to rounding: the float32 arithmetic of the two runs differs in its last bits
# and the two trajectories drift apart a little over 372 steps, but their KL and their squared
# error agree to within 2%. A VAE trained on the squared error is a Gaussian VAE.
#
# Now $\sigma$ itself. The five runs above differ only in it, from 0.03 to 3 (a $\beta$ of
# 0.0018 to 18 on the squared error). **Predict first:** which of them will use its code least,
# and what will its reconstructions look like?

# %%
total_variance = test_x.var(axis=0).sum()  # what predicting the mean image costs, per image
sweep = {}
for sigma, model in fixed.items():
    mu, _ = evaluate.latent_statistics(model, test_x)
    samples = np.clip(model.sample(200), 0, 1)  # (200, D): E[x|z], z ~ N(0, I)
    nearest = ((samples**2).sum(1)[:, None] - 2 * samples @ train_x.T + (train_x**2).sum(1)).min(1)
    means = model.reconstruct(test_x)
    sweep[sigma] = dict(kl=evaluate.mean_elbo_terms(model, test_x)["kl"],
                        active=evaluate.active_units(mu)[0],
                        error=((means - test_x) ** 2).sum(axis=1).mean(),
                        spread=means.std(axis=0).mean(), nearest=nearest.mean())
print(f"{'sigma':>6s} {'beta':>7s} {'KL':>6s} {'active':>6s} {'squared error':>13s} "
      f"{'spread':>6s} {'samples to nearest':>18s}")
for sigma, row in sweep.items():
    print(f"{sigma:6.2f} {2 * sigma**2:7.4f} {row['kl']:6.2f} {row['active']:6d} "
          f"{row['error']:13.2f} {row['spread']:6.3f} {row['nearest']:18.2f}")
print(f"the test set's total variance sum_j Var(x_j): {total_variance:.2f}")
kl_by_sigma = [sweep[sigma]["kl"] for sigma in sigmas]
assert all(np.diff(kl_by_sigma) < 0)
assert sweep[3.0]["kl"] < 0.1 and sweep[3.0]["active"] == 0 and sweep[3.0]["spread"] < 0.01
assert abs(sweep[3.0]["error"] - total_variance) < 0.03 * total_variance
assert sweep[1.0]["active"] < 10 and sweep[1.0]["error"] > 1.5 * sweep[0.3]["error"]
small = [sweep[sigma]["error"] for sigma in (0.03, 0.1, 0.3)]
assert all(sweep[sigma]["active"] == 10 for sigma in (0.03, 0.1, 0.3))
assert max(small) < 1.1 * min(small) and sweep[0.03]["kl"] > 3 * sweep[0.3]["kl"]
assert sweep[0.03]["nearest"] > 2 * sweep[1.0]["nearest"]
assert sweep[0.1]["nearest"] > 1.8 * sweep[1.0]["nearest"]

# %% [markdown]
# The KL falls at every step up in $\sigma$ (a larger $\beta$ makes the code dearer), and the
# runs fall into three groups (the table):
#
# - **$\sigma = 3$: collapse.** No active unit, a KL of almost 0, and one reconstruction for
#   every input (their spread across the test images, the pixels' standard deviation, is near
#   0): the mean image, whose squared error is the data's total variance. The code is ignored.
# - **$\sigma = 1$: part of the code.** Some units switch off, and the reconstructions' squared
#   error is more than 1.5 times that of $\sigma = 0.3$.
# - **$\sigma \le 0.3$: every unit active**, and reconstructions whose squared error is within
#   10% of each other, while the KL keeps growing (more than 3 times as many nats at
#   $\sigma = 0.03$ as at 0.3). The extra nats buy nothing the squared error shows, and decoded
#   draws from the prior stop looking like sprites: their distance to the nearest training
#   image (last column, a squared error) is more than twice that of $\sigma = 1$ at
#   $\sigma = 0.03$, and more than 1.8 times at $\sigma = 0.1$.
#
# For the averaged squared error, $\sigma = 19.8$, the arithmetic is enough. The most the code
# can save is the squared error of the mean image, the data's total variance; divided by
# $2\sigma^2 = 784$ that is
#
# $$
# \frac{\sum_j \mathrm{Var}(x_j)}{2\sigma^2} = \frac{29.0}{784} \approx 0.04 \text{ nats per image,}
# $$
#
# less than any code worth the name costs in KL: the model collapses, as $\sigma = 3$ did.

# %%
most_saved = total_variance / (2 * 19.8**2)
print(f"sigma = 19.8: a perfect reconstruction saves at most {most_saved:.3f} nats per image "
      f"over the mean image; sigma = 3 already kept a KL of {sweep[3.0]['kl']:.4f}")
assert most_saved < 0.05 and abs(total_variance - 29.0) < 0.1

# %%
reconstructions = [np.clip(fixed[sigma].reconstruct(test_x[:8]), 0, 1) for sigma in sigmas]
samples = [np.clip(fixed[sigma].sample(8, noise=CounterRNG(1)), 0, 1) for sigma in sigmas]
image_rows([test_x] + reconstructions + samples,
           ["test image"] + [f"mean, sigma = {s}" for s in sigmas]
           + [f"prior sample, sigma = {s}" for s in sigmas],
           "Gaussian decoders with a fixed sigma: reconstructions and samples (means, clipped)")

# %% [markdown]
# The figure (the decoder's means, clipped to $[0, 1]$): going down, the reconstructions stay
# close to their inputs until $\sigma = 1$ blurs them and $\sigma = 3$ replaces them all with one
# grey disc; the prior samples of $\sigma = 0.03$ and $0.1$ are fragments and speckle (far from
# every training image, by the table's last column), those of $\sigma = 1$ whole blobs, those of
# $\sigma = 3$ the same disc again. Neither end of the range is a good VAE, and where to stop
# between them is the choice of $\beta$ of notebook 5, made here through $\sigma$.
#
# ## A learned $\sigma$
#
# Rather than choosing $\sigma$, let the decoder learn it: a log-variance $s_j = \log \sigma_j^2$
# for each pixel, trained with the rest (minivae's `decoder.logvar`, `TrainConfig(likelihood=
# "gaussian")`). Its $-\log p(x \mid z)$ is the sum over the pixels of the Gaussian's
# $-\log \mathcal{N}(x_j;\, m_j, e^{s_j})$, and its backward pass needs the derivatives in
# $m_j$ and in $s_j$.
#
# ### Exercise 9: the Gaussian likelihood and its backward pass
#
# Write `gaussian_nll(x, mean, logvar)`, the $-\log p(x \mid z)$ of each example for data `x`
# and means `mean` of shape (B, D), summed over the $D$ dimensions: shape (B,). Start from the
# density of one dimension, $\mathcal{N}(x_j;\, m_j, \sigma_j^2) = (2\pi\sigma_j^2)^{-1/2}
# \exp\!\big(-(x_j - m_j)^2 / (2\sigma_j^2)\big)$ with $\sigma_j^2 = e^{s_j}$, take $-\log$, and
# write it in $s_j$ (no $\sigma$ needed).
#
# <details><summary>Hint: -log p(x | z)</summary>
#
# $$
# -\log p(x \mid z) = \sum_{j=1}^{D} \tfrac12 \left(\log 2\pi + s_j + (x_j - m_j)^2 e^{-s_j}\right)
# $$
#
# </details>
#
# Then `gaussian_nll_backward(g, x, mean, logvar)`: given $g_b$, the gradient of a loss $L$ with
# respect to example $b$'s $-\log p$ (shape (B,)), return $\partial L / \partial m$ (shape
# (B, D)) and $\partial L / \partial s$, which has the shape of `logvar`. Derive the two
# derivatives of one term yourself, using $\partial e^{-s} / \partial s = -e^{-s}$.
#
# <details><summary>Hint: the two derivatives</summary>
#
# $$
# \frac{\partial\, (-\log p)}{\partial m_j} = (m_j - x_j)\, e^{-s_j},
# \qquad
# \frac{\partial\, (-\log p)}{\partial s_j} = \tfrac12 \left(1 - (x_j - m_j)^2 e^{-s_j}\right);
# $$
#
# the chain rule multiplies each by $g_b$ of its example.
#
# </details>
#
# `logvar` comes in three shapes: one per element (B, D), as a decoder that outputs its variance
# would have it; one per dimension shared by the examples (D,), as minivae's decoder has it; or
# one for everything (1,). NumPy broadcasts each against (B, D) as it is. But an entry of
# `logvar` shared by several elements gets, by the chain rule, the sum of their gradients.
#
# <details><summary>Hint: the gradient of a shared logvar</summary>
#
# Compute the (B, D) gradient of each element, then sum it over the axes `logvar` was broadcast
# along: over the examples (axis 0) for shape (D,), and over everything, keeping the shape (1,),
# for (1,). For (B, D), nothing.
#
# </details>
#
# Use only the arguments and NumPy. The check compares both functions with minivae's
# `ops.gaussian_nll` and its backward pass for each shape of `logvar`, one example, one
# dimension, and logvar from $-20$ to $20$, and runs `minivae.gradcheck` with your backward
# pass in place of minivae's.


# %%
# The check calls each function by position, its arguments in the order of the def line:
# keep the parameters and their order as they are (a name may change, the order may not).
def gaussian_nll(x, mean, logvar):
    """-log N(x | mean, exp(logvar)) of each example, summed over its D dimensions: (B,)."""
    # YOUR CODE HERE
    raise NotImplementedError()


def gaussian_nll_backward(g, x, mean, logvar):
    """dL/dmean (B, D) and dL/dlogvar (logvar's shape), from g = dL/d(-log p) per example (B,)."""
    # YOUR CODE HERE
    raise NotImplementedError()


# %%
minivae.course.check_gaussian_nll(gaussian_nll, gaussian_nll_backward)

# %% [markdown]
# minivae's own is `ops.gaussian_nll` (`minivae/ops/likelihoods.py`), which the Gaussian
# decoder uses. Now its learned variance, on the sprites. Two copies of the $\sigma = 0.1$ model
# above go on training for four epochs with their log-variances learned: one with a
# log-variance per pixel, as minivae's decoder has it, and one with a single log-variance shared
# by every pixel (`logvar` of shape (1,), which `gaussian_nll` broadcasts). Adam moves each
# parameter by about its learning rate per step (the first epoch below shows it), so at the
# network's 0.002 a log-variance would take thousands of steps to move by a few units; the
# log-variances get an Adam of their own, with a learning rate of 0.02.
#
# Set $\partial\, (-\log p) / \partial s_j = 0$ in the hint above, averaged over the data: the
# best log-variance for given means is the log of the mean squared residual,
# $s_j^\ast = \log \overline{(x_j - m_j)^2}$. **Predict first:** the sprites' border is black
# in every training image. Which pixels will get the smallest $\sigma$, and what will that do
# to the $-\mathrm{ELBO}$?

# %%
never_on = train_x.max(axis=0) == 0  # (D,): pixels that are 0 in every training image
start = evaluate.mean_elbo_terms(fixed[0.1], test_x)["neg_elbo"]  # where both copies start
learned = {}
for name, shape in [("per pixel", (D,)), ("shared", (1,))]:
    model = minivae.VAE(D, hidden=(256,), latent_dim=10, likelihood="gaussian")
    model.load_state_dict(fixed[0.1].state_dict())
    model.decoder.logvar = Parameter(np.full(shape, np.log(0.1**2), np.float32))
    rows = fit(model, epochs=4, seed=1, logvar_lr=0.02)
    border = [float(np.broadcast_to(row["logvar"], (D,))[never_on].mean()) for row in rows]
    learned[name] = dict(model=model, neg_elbo=[start] + [row["neg_elbo"] for row in rows],
                         border=border)
print(f"{never_on.sum()} of the {D} pixels are 0 in every training image")
for name, result in learned.items():
    print(f"{name:9s}: test -ELBO from the start, by epoch {np.round(result['neg_elbo'], 0)}; "
          f"mean logvar of those pixels {np.round(result['border'], 2)}")

per_pixel, shared = learned["per pixel"], learned["shared"]
logvar = per_pixel["model"].decoder.logvar.data
falls = -np.diff([np.log(0.1**2)] + per_pixel["border"])  # how far the border's logvar fell
steps = N_TRAIN // 128  # per epoch
print(f"per pixel: the border's logvar fell {np.round(falls, 2)} per epoch of {steps} steps; "
      f"the other pixels' mean logvar is {logvar[~never_on].mean():.2f}")
assert all(falls > 0.5) and falls[-1] > 0.5 * falls[0]
assert abs(falls[0] / (0.02 * steps) - 1) < 0.3  # about the learning rate at each step
assert per_pixel["border"][-1] < logvar[~never_on].mean() - 2
assert all(np.diff(per_pixel["neg_elbo"]) < -100)

residual = shared["model"].reconstruct(train_x) - train_x  # at z = mu(x)
print(f"shared: logvar {shared['model'].decoder.logvar.data[0]:.2f}, the log of the mean "
      f"squared residual {np.log(np.mean(residual**2)):.2f}; -ELBO fell by "
      f"{np.round(-np.diff(shared['neg_elbo']), 0)} per epoch")
assert abs(shared["model"].decoder.logvar.data[0] - np.log(np.mean(residual**2))) < 0.3
errors = {name: ((model.reconstruct(test_x) - test_x) ** 2).sum(axis=1).mean() for name, model
          in [("sigma = 0.1", fixed[0.1]), ("per pixel", per_pixel["model"]),
              ("shared", shared["model"])]}
print("squared error of the reconstructions: " + ", ".join(f"{name} {value:.2f}"
                                                         for name, value in errors.items()))
assert errors["per pixel"] > errors["sigma = 0.1"] > errors["shared"]
assert all(np.abs(np.diff(shared["neg_elbo"])) < 0.2 * np.abs(np.diff(per_pixel["neg_elbo"])))

# %% [markdown]
# The per-pixel model spends its learning on the border: there the log-variance falls by more
# than half a unit every epoch (in the first, by about 0.02 at each step), with no sign of
# levelling off (the last epoch's fall is more than half the first's), to more than 2 units
# below the mean of the other pixels, and the test $-\mathrm{ELBO}$ falls by more than 100 nats
# every epoch. Its means meanwhile got worse (their squared error, printed last, rose above
# that of the $\sigma = 0.1$ model it started from):
# where $\sigma_j$ grew, an error of the mean costs less. Nothing stops the border's fall. For
# a pixel that is 0 in every image, a decoder can output exactly 0 (a zero bias and zero
# weights into it), and then its term of $-\log p(x \mid z)$ is
#
# $$
# \tfrac12 \left(\log 2\pi + s_j\right) \;\longrightarrow\; -\infty
# \quad \text{as } s_j \to -\infty:
# $$
#
# the $-\mathrm{ELBO}$ has no minimum, and an optimizer lowers it for ever by predicting a black
# border ever more confidently (Mattei and Frellsen, 2018, show the same for the exact
# likelihood of Gaussian decoders). That is the data's doing: the sprites' border is black in
# every image. Where no pixel is constant, each $\sigma_j$ can shrink only as far as the decoder
# can predict pixel $j$ (the $s_j^\ast$ above), so how far the same runaway goes depends on the
# data and the decoder. Pixel values are also quantized (the sprites' are multiples of
# $\tfrac19$), and a density on quantized values can grow wherever a decoder predicts them
# exactly.
#
# The shared log-variance follows the formula: it sits at the log of the mean squared residual
# of all the pixels together, which the shapes' edges keep well above 0. Its $-\mathrm{ELBO}$
# moves by less than a fifth as much per epoch as the per-pixel model's, and its means improved.
# A shared $\sigma$ is one remedy; others are a floor on each $\sigma_j$ (every term of
# $-\log p$ is then at least $\tfrac12 \log (2\pi\sigma_{\min}^2)$), or adding uniform noise of
# one quantization step to the pixels ("dequantization"), which bounds the density the data can
# have.
#
# Left: where the per-pixel model puts its $\sigma_j = e^{s_j / 2}$; right: in how many
# training images each pixel is on.

# %%
figure, (left, right) = plt.subplots(1, 2, figsize=(10, 4.2), layout="constrained")
sigma_image = left.imshow(np.exp(logvar / 2).reshape(28, 28), cmap="magma",
                          norm="log", interpolation="nearest")
figure.colorbar(sigma_image, ax=left, label=r"$\sigma_j$ (log scale)")
left.set_title(r"learned $\sigma_j$ per pixel, after 4 epochs")
on_image = right.imshow((train_x > 0).mean(axis=0).reshape(28, 28), cmap="viridis",
                        interpolation="nearest")
figure.colorbar(on_image, ax=right, label="fraction of training images")
right.set_title("how often each pixel is not 0")
for axes in (left, right):
    axes.set_xticks([])
    axes.set_yticks([])
plt.show()
sigma_j = np.exp(logvar / 2)  # (D,)
print(f"sigma_j: at most {sigma_j[never_on].max():.4f} on the border, median "
      f"{np.median(sigma_j[~never_on]):.4f} elsewhere")
assert sigma_j[never_on].max() < np.median(sigma_j[~never_on])

# %% [markdown]
# The border, black in every image, has the smallest $\sigma$ of all (every border pixel's is
# below the median of the others); inside it, $\sigma$ is largest where the pixels are on in some
# images and off in others, which is where the model is least sure.
#
# Which of these $-\mathrm{ELBO}$s compare with which? The Gaussian ones are densities over
# $[0, 1]^D$ in nats, which can be negative; on the same test images, two of them can be
# compared, but the per-pixel model's lead over the shared one is made on the border, where
# there is nothing to learn. None of them can be compared with a Bernoulli's: a density is not a
# probability, and its number changes with the units of $x$ (pixels in $[0, 255]$ rather than
# $[0, 1]$ add $D \log 255$ nats). To compare a density with the probabilities of discrete
# data, it has to be turned into one first, by integrating it over each value's interval
# (after dequantization, for example).
#
# ## Draws from $p(x \mid z)$
#
# Every figure so far, here and in the other notebooks, shows $\mathbb{E}[x \mid z]$, the
# decoder's mean: $\mathrm{sigmoid}(l)$ or $m$. But the model is $p(x \mid z)$, and what it
# generates is a draw from it. **Predict first:** what will a draw from the grey-level
# Bernoulli decoder look like, and one from the Gaussian with $\sigma = 0.1$? For eight test
# images, each decoder's mean at $z = \mu(x)$ and one draw $x \sim p(x \mid z)$ beside it:

# %%
rng = np.random.default_rng(0)
shown_x = test_x[:8]
bernoulli_mean = grey_run.model.reconstruct(shown_x)
bernoulli_draw = (rng.random(bernoulli_mean.shape) < bernoulli_mean).astype(np.float32)
gaussian_models = {"sigma = 0.1": fixed[0.1], "learned per pixel": per_pixel["model"],
                   "learned, shared": shared["model"]}
gaussian_means, gaussian_draws = {}, {}
for name, model in gaussian_models.items():
    sigma = np.exp(model.decoder.logvar.data / 2)  # (D,) or (1,)
    gaussian_means[name] = model.reconstruct(shown_x)  # (8, D)
    gaussian_draws[name] = gaussian_means[name] + sigma * rng.normal(size=(8, D))  # m + sigma eps
rows, labels = [shown_x, bernoulli_mean, bernoulli_draw], ["test image", "Bernoulli: mean",
                                                           "Bernoulli: draw"]
for name in gaussian_models:
    rows += [np.clip(gaussian_means[name], 0, 1), np.clip(gaussian_draws[name], 0, 1)]
    labels += [f"{name}: mean", f"{name}: draw"]
image_rows(rows, labels, "Means E[x|z] and draws x ~ p(x|z) (Gaussian ones clipped to [0, 1])")

grey_levels = np.unique(sprites_train.x)
noise = {name: np.abs(draw - gaussian_means[name]) for name, draw in gaussian_draws.items()}
border, inside = ({name: value[:, pixels].mean() for name, value in noise.items()}
                  for pixels in (never_on, ~never_on))
print(f"the sprites hold {len(grey_levels)} grey levels; the Bernoulli draws hold "
      f"{np.unique(bernoulli_draw).tolist()}")
for name, model in gaussian_models.items():
    neg_elbo = evaluate.mean_elbo_terms(model, test_x)["neg_elbo"]
    print(f"{name:17s}: mean |draw - mean| {border[name]:.4f} on the border, {inside[name]:.4f} "
          f"inside it; test -ELBO {neg_elbo:.0f}")
assert len(grey_levels) == 10 and set(np.unique(bernoulli_draw)) == {0.0, 1.0}
assert border["learned per pixel"] < 0.2 * border["sigma = 0.1"]
assert inside["learned per pixel"] > 3 * border["learned per pixel"]
assert border["learned, shared"] > 0.5 * border["sigma = 0.1"]
assert per_pixel["neg_elbo"][-1] < min(shared["neg_elbo"][-1], start)

# %% [markdown]
# The Bernoulli decoder's draws are binary images, every pixel 0 or 1: where its mean is grey,
# each pixel of a draw is a coin flip, so the blobs come out speckled. Trained on ten grey
# levels, it can generate only two of them. The Gaussian with $\sigma = 0.1$ draws the mean plus
# noise of the same size everywhere, the black border included, which no training image has.
# The learned per-pixel $\sigma$ keeps the border clean (its draws differ from the mean there
# by less than a fifth as much as the fixed $\sigma$'s) and puts its noise inside, where the
# shapes vary (more than 3 times as much); the shared $\sigma$ spreads its noise over the
# border again.
#
# The $-\mathrm{ELBO}$ does not rank these draws by how much they look like sprites: it ranks
# the per-pixel model first (the last numbers printed), for its border, and it cannot rank a
# Bernoulli against a Gaussian at all. The figures of the other notebooks show means because
# the means of these decoders are what look like the data; a model whose draws look like the
# data needs a likelihood that fits it, which for images is a research topic of its own
# (discretized logistics, autoregressive decoders). Notebook 7 goes back to the Bernoulli
# decoder and looks at its latent space.
