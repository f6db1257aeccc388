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
# # 5. The ELBO and training
#
# Notebooks 1 to 3 built the pieces: the encoder's $q(z \mid x)$, the KL to the prior,
# gradients through a sample. Here they come together as one objective, the evidence lower
# bound (ELBO); you build a VAE on it yourself (its loss, a training step, sampling) and train
# it, and then minivae's `Trainer` trains one: first on the sprites that ship with minivae, then
# on Fashion-MNIST where it is installed (on the sprites again where it is not). Then three
# questions about the objective: what the Bernoulli likelihood means for grey pixels, what its
# weight $\beta$ on the KL does, and how far the ELBO sits below the true log-likelihood
# $\log p(x)$, measured with the importance-weighted bound.

# %%
# %matplotlib inline
import os
import tempfile

import matplotlib.pyplot as plt
import numpy as np
from IPython.display import Image, display

import minivae
import minivae.course
from minivae import plots
from minivae.data import load_dataset
from minivae.models.optim import Adam
from minivae.training import evaluate
from minivae.training.trainer import TrainConfig, Trainer

RUNS = tempfile.TemporaryDirectory(prefix="minivae-notebook-4-")  # checkpoints and figures


def show(draw, *arrays, **options):
    """Draw one of `minivae.plots`' figures (they write PNG files) and display it here."""
    path = os.path.join(RUNS.name, f"{draw.__name__}.png")
    draw(*arrays, path, **options)
    display(Image(filename=path))


# %% [markdown]
# ## The ELBO, derived
#
# A VAE is a generative model: draw a code $z$ from the prior $p(z) = \mathcal{N}(0, I)$, then
# $x$ from the decoder's $p(x \mid z)$. The probability it gives an example $x$ is an integral
# over every code,
#
# $$
# p(x) = \int p(x \mid z)\, p(z)\, dz,
# $$
#
# which no one can compute for a neural decoder. Multiply and divide by the encoder's
# $q(z \mid x)$ inside it, and it becomes an expectation under $q$; Jensen's inequality
# ($\log$ is concave, so the log of a mean is at least the mean of the logs) then gives a bound:
#
# $$
# \begin{aligned}
# \log p(x) &= \log \mathbb{E}_{q(z \mid x)}\!\left[\frac{p(x \mid z)\, p(z)}{q(z \mid x)}\right]
# \;\ge\; \mathbb{E}_{q(z \mid x)}\!\left[\log p(x \mid z) + \log p(z) - \log q(z \mid x)\right] \\
# &= \mathbb{E}_{q(z \mid x)}[\log p(x \mid z)] - \mathrm{KL}\big(q(z \mid x) \,\|\, p(z)\big)
# \;=\; \mathrm{ELBO}(x)
# \end{aligned}
# $$
#
# The last step groups $\log p(z) - \log q(z \mid x)$ into minus the KL of notebook 1. The
# ELBO is a reconstruction term (how well a code drawn from $q(z \mid x)$ rebuilds $x$) minus a
# KL term (how far $q(z \mid x)$ strays from the prior). The gap,
# $\log p(x) - \mathrm{ELBO}(x) = \mathrm{KL}(q(z \mid x) \,\|\, p(z \mid x))$, is the
# distance from the encoder's $q$ to the true posterior; it is zero only when $q$ is exact.
#
# minivae minimizes the negative ELBO in nats per example: `VAE.loss(x, beta)` returns its two
# parts, `recon` $= -\log p(x \mid z)$ at one $z = \mu + \sigma \epsilon$
# (`ops.bernoulli_nll` for pixels in $[0, 1]$) and `kl` in closed form (`ops.gaussian_kl`), and
# the training objective `recon + beta * kl`, $-\log p(x \mid z) + \beta\, \mathrm{KL}$.
# With $\beta = 1$ that is exactly $-\mathrm{ELBO}$.
#
# ### Exercise 5: the Bernoulli likelihood on logits
#
# For pixels in $[0, 1]$ the decoder outputs one logit $l_j$ per pixel, any real number, and
# $p(x_j = 1 \mid z) = \mathrm{sigmoid}(l_j) = 1 / (1 + e^{-l_j})$. The reconstruction term is
# the binary cross-entropy, summed over the $D$ pixels of an example:
#
# $$
# -\log p(x \mid z) = -\sum_{j=1}^{D} \Big[x_j \log \mathrm{sigmoid}(l_j)
# + (1 - x_j) \log\big(1 - \mathrm{sigmoid}(l_j)\big)\Big]
# $$
#
# Write `bernoulli_nll(logits, x)`, for logits and pixels `x` of shape (B, D), returning one
# number per example, shape (B,). It must stay finite for logits of any size: a trained decoder
# is confident, its logits reach 40 and more, and there $\mathrm{sigmoid}(l)$ rounds to exactly
# 1 in float64, so $\log(1 - \mathrm{sigmoid}(l))$ is $\log 0$. So work on the logits: write
# $-\log \mathrm{sigmoid}(l)$ and $-\log(1 - \mathrm{sigmoid}(l))$ as functions of $l$ alone,
# with $\mathrm{softplus}(a) = \log(1 + e^a)$, put them into the sum and simplify it as far as
# it goes; then compute softplus itself so that no $e^a$ can overflow. Use only the arguments
# and NumPy. The check compares your function with `ops.bernoulli_nll` on pixel intensities,
# binary pixels, one example, one pixel and logits of size 38 to 1000.
#
# <details><summary>Hint: the two logs in logits</summary>
#
# $\mathrm{sigmoid}(l) = 1 / (1 + e^{-l})$, so
# $-\log \mathrm{sigmoid}(l) = \log(1 + e^{-l}) = \mathrm{softplus}(-l)$; and
# $1 - \mathrm{sigmoid}(l) = e^{-l} / (1 + e^{-l}) = 1 / (1 + e^{l})$, so
# $-\log(1 - \mathrm{sigmoid}(l)) = \mathrm{softplus}(l)$. With
# $\mathrm{softplus}(-l) = \mathrm{softplus}(l) - l$ the sum becomes
# $\sum_j \mathrm{softplus}(l_j) - x_j l_j$.
#
# </details>
#
# <details><summary>Hint: a softplus that cannot overflow</summary>
#
# For $a > 0$, $\log(1 + e^a) = a + \log(1 + e^{-a})$. So
# $\mathrm{softplus}(a) = \max(a, 0) + \log(1 + e^{-|a|})$, in which every exponential is of
# a number $\le 0$ (`np.log1p` keeps the digits of a small $e^{-|a|}$).
#
# </details>


# %%
# The check calls each function by position, its arguments in the order of the def line:
# keep the parameters and their order as they are (a name may change, the order may not).
def bernoulli_nll(logits, x):
    """-log p(x|z) of each example from the decoder's logits l and the pixels x (B, D): (B,)."""
    ### BEGIN SOLUTION
    softplus = np.maximum(logits, 0) + np.log1p(np.exp(-np.abs(logits)))  # log(1 + e^l), stable
    return (softplus - x * logits).sum(axis=1)  # (B, D) -> (B,)
    ### END SOLUTION


# %%
minivae.course.check_bernoulli_nll(bernoulli_nll)

# %% [markdown]
# minivae's own is `ops.bernoulli_nll` (`minivae/ops/likelihoods.py`), which `VAE.loss` uses
# in the rest of the notebook. An untrained VAE's two terms:

# %%
sprites_train, sprites_test = load_dataset("sprites")
x = sprites_test.x[:256]  # (B, D) = (256, 784)
untrained = minivae.VAE(input_dim=784, hidden=(256,), latent_dim=10, seed=0)
with minivae.no_grad():
    terms = untrained.loss(x, beta=1.0)
print(f"untrained: recon {terms.recon.data.mean():.2f} + KL {terms.kl.data.mean():.2f} "
      f"= -ELBO {terms.neg_elbo.data.mean():.2f} nats per example")
assert np.allclose(terms.objective.data, terms.recon.data + terms.kl.data)
assert abs(terms.recon.data.mean() - 784 * np.log(2)) < 30 and terms.kl.data.mean() < 1

# %% [markdown]
# An untrained decoder guesses each pixel at about $\tfrac12$, which costs
# $\log 2 = 0.69$ nats for each of the 784 pixels: about 540 nats. The KL starts near 0, because
# the encoder's first outputs are all close to $\mu = 0$, $\mathrm{logvar} = 0$, the prior
# itself.
#
# ## The optimizer: Adam
#
# Training moves the weights against the gradient of the objective, but not by plain gradient
# descent: minivae's trainer uses Adam (Kingma and Ba, 2015; `docs/math.md`), which scales each
# parameter's step by running averages of its gradient $g$ and of $g^2$. At step
# $t = 1, 2, \dots$, with $b_1 = 0.9$, $b_2 = 0.999$ and $\mathrm{eps} = 10^{-8}$:
#
# $$
# \begin{aligned}
# m &\leftarrow b_1 m + (1 - b_1) g, &
# v &\leftarrow b_2 v + (1 - b_2) g^2, \\
# \hat m &= \frac{m}{1 - b_1^t}, &
# \hat v &= \frac{v}{1 - b_2^t}, \\
# \theta &\leftarrow \theta - \mathrm{lr}\, \frac{\hat m}{\sqrt{\hat v} + \mathrm{eps}}
# \end{aligned}
# $$
#
# $m$ and $v$ start at 0, so over the first steps they are too small, by the factors
# $1 - b_1^t$ and $1 - b_2^t$; $\hat m$ and $\hat v$ undo that (the "bias correction"). At the
# first step $\hat m / \sqrt{\hat v} = g / |g|$ (up to $\mathrm{eps}$), so every parameter
# moves by $\mathrm{lr}$, whatever its gradient's size.
#
# ### Exercise 6 (optional): Adam's update
#
# This exercise is optional: Adam is the tool that trains the VAE, not part of the model, and
# the update is a definition to transcribe rather than something to derive. Skip it if you
# like: its check counts for nothing, and the rest of the notebook runs without it.
#
# Write `adam_step(theta, g, m, v, t, lr, b1, b2, eps)`, returning the new `(theta, m, v)`
# after step $t$ ($t = 1$ at the first step), for arrays `theta`, `g`, `m` and `v` of one
# shape. Use only the arguments and NumPy. The check runs it step by step beside minivae's
# `optim.Adam`, fed the same gradients, in two runs with different settings.


# %%
# The check calls each function by position, its arguments in the order of the def line:
# keep the parameters and their order as they are (a name may change, the order may not).
def adam_step(theta, g, m, v, t, lr=1e-3, b1=0.9, b2=0.999, eps=1e-8):
    """One Adam update: the new (theta, m, v) from the gradient g at step t (1 at the first)."""
    ### BEGIN SOLUTION
    m = b1 * m + (1 - b1) * g  # running average of g
    v = b2 * v + (1 - b2) * g**2  # running average of g^2
    m_hat = m / (1 - b1**t)  # bias corrections: m and v started at 0
    v_hat = v / (1 - b2**t)
    return theta - lr * m_hat / (np.sqrt(v_hat) + eps), m, v
    ### END SOLUTION


# %%
minivae.course.check_adam_step(adam_step)

# %% [markdown]
# minivae's own is `optim.Adam` (`minivae/models/optim.py`), which the trainer uses. Its first
# step moves parameters with gradients of very different sizes by the same $\mathrm{lr}$:

# %%
theta = minivae.Tensor(np.array([1.0, -2.0, 50.0]), requires_grad=True)
start = theta.data.copy()
adam = Adam([theta], lr=0.01)
theta.grad = np.array([1e-4, 3.0, -800.0])
adam.step()
print("gradients", theta.grad, "moved theta by", theta.data - start)
assert np.allclose(theta.data - start, -0.01 * np.sign(theta.grad), rtol=1e-3)

# %% [markdown]
# ## Build the VAE yourself
#
# Every piece is here now: the encoder's $q(z \mid x)$ and its KL to the prior (notebook 1),
# gradients through a graph (notebook 3), the reparameterization (notebook 4), the ELBO and the
# Bernoulli likelihood (above), an optimizer. Before minivae's `Trainer` takes the loop out of
# sight, put them together yourself: the loss of a VAE, one step of training, new images from
# the model; then train your model and look at what it draws.
#
# A minivae `VAE` gives you its parts, each an op of the graph, and minivae's ops the rest:
#
# - `model.encode(x)`: `mu, logvar`, two Tensors (B, L), the parameters of
#   $q(z \mid x) = \mathcal{N}(\mu, \sigma^2)$;
# - `model.decode(z)`: the logits $l$ (B, D) of $p(x \mid z)$, for codes `z` (B, L), a Tensor
#   or an array;
# - `model.decoder.nll(logits, x)`: $-\log p(x \mid z)$ of each example, summed over its
#   pixels, (B,): exercise 5;
# - `model.decoder.mean(logits)`: $\mathbb{E}[x \mid z] = \mathrm{sigmoid}(l)$, the pixels'
#   probabilities, (B, D);
# - `ops.reparameterize(mu, logvar, eps)`: $z = \mu + \sigma \epsilon$ (notebook 4);
# - `ops.gaussian_kl(mu, logvar)`: $\mathrm{KL}(q(z \mid x) \,\|\, p(z))$ of each example, in
#   closed form, (B,) (notebook 1).
#
# A Tensor has `.mean()`, `.sum()`, `.backward()`, `.item()` (its one number) and `.data` (its
# array); an optimizer, such as `Adam(model.parameters(), lr)` above, has `zero_grad()` and
# `step()`; `minivae.no_grad()` is a block in which ops record no graph.
#
# ### Exercise 7: the VAE's loss, a training step, and new images
#
# Write three functions:
#
# - `vae_loss(model, x, eps, beta)`: the training loss of a batch `x` (B, D), one number, a
#   Tensor: the mean over the $B$ examples of the negative ELBO with its KL weighted by
#   $\beta$, the reconstruction term at one sample $z$ made from the noise `eps` (B, L) you are
#   given. Derive it from the ELBO above: which sign, which terms, and how is each reduced over
#   the pixels, the latent dimensions and the examples?
# - `train_step(model, optimizer, x, eps)`: one step of training on the batch: the gradients of
#   `vae_loss` (with $\beta = 1$), then the optimizer's step. Return the batch's loss, a number.
# - `sample_prior(model, eps)`: $n$ new images, the decoder's $\mathbb{E}[x \mid z]$ (n, D),
#   for $n$ codes of the generative model, whose draws of $\mathcal{N}(0, I)$ are given as
#   `eps` (n, L).
#
# Use the model's parts and the ops above, not `model.loss` or `model.sample`, which are the
# answers. The check builds small VAEs of its own and compares your functions with minivae's on
# the same noise: `vae_loss` with `VAE.loss` (its value and the gradient of every parameter,
# and central differences of your loss), `train_step` with the trainer's step on a model that
# comes to it as one does in a training loop, `sample_prior` with `VAE.sample`.
#
# <details><summary>Hint: the loss</summary>
#
# $$
# \mathrm{loss} = \frac1B \sum_{b=1}^{B} \Big[-\log p(x_b \mid z_b)
# + \beta\, \mathrm{KL}\big(q(z \mid x_b) \,\|\, p(z)\big)\Big],
# \qquad z_b = \mu_b + \sigma_b \epsilon_b
# $$
#
# Each term is a sum over its own axis ($-\log p(x \mid z)$ over the pixels, the KL over the
# latent dimensions, as `decoder.nll` and `ops.gaussian_kl` give them), and the two are
# averaged alike over the examples.
#
# </details>
#
# <details><summary>Hint: the step</summary>
#
# `backward()` adds to each parameter's `.grad`, and `optimizer.step()` reads them: so
# `optimizer.zero_grad()`, the loss, `loss.backward()`, `optimizer.step()`, in this order.
#
# </details>
#
# <details><summary>Hint: new images</summary>
#
# The prior is $p(z) = \mathcal{N}(0, I)$, and `eps` is already a draw of it: decode it, and
# take the decoder's mean. No data, no encoder.
#
# </details>


# %%
from minivae import no_grad, ops  # what your functions may use besides the model's parts


# The check calls each function by position, its arguments in the order of the def line:
# keep the parameters and their order as they are (a name may change, the order may not).
def vae_loss(model, x, eps, beta=1.0):
    """The training loss of the batch x (B, D), its sample z made from eps (B, L): a Tensor."""
    ### BEGIN SOLUTION
    mu, logvar = model.encode(x)  # q(z|x) = N(mu, diag(sigma^2)): (B, L) each
    z = ops.reparameterize(mu, logvar, eps)  # z = mu + sigma * eps, (B, L)
    recon = model.decoder.nll(model.decode(z), x)  # -log p(x|z), summed over the pixels: (B,)
    kl = ops.gaussian_kl(mu, logvar)  # KL(q(z|x) || p(z)), summed over the latent dims: (B,)
    return (recon + beta * kl).mean()  # (B,) -> one number
    ### END SOLUTION


def train_step(model, optimizer, x, eps):
    """One step of training on the batch x with the noise eps; returns the batch's loss."""
    ### BEGIN SOLUTION
    optimizer.zero_grad()  # backward() adds to .grad: forget the gradients of the last batch
    loss = vae_loss(model, x, eps)
    loss.backward()  # dloss/dtheta into every parameter's .grad
    optimizer.step()  # Adam's update from those gradients
    return loss.item()
    ### END SOLUTION


def sample_prior(model, eps):
    """E[x|z] (n, D) of n new images, for codes z ~ N(0, I) given as eps (n, L)."""
    ### BEGIN SOLUTION
    with no_grad():  # nothing to train here: no graph
        return model.decoder.mean(model.decode(eps)).data  # sigmoid(l): (n, L) -> (n, D)
    ### END SOLUTION


# %%
minivae.course.check_vae(vae_loss, train_step, sample_prior)

# %% [markdown]
# Now train your model, the size of the one the next section trains (784-256-10): five epochs
# over the 20,000 training sprites in shuffled batches of 128, with your `train_step`, a new
# `eps` for every batch, and Adam with $\mathrm{lr} = 10^{-3}$. While your functions are not right,
# it trains with minivae's own (`minivae.course.vae_reference`, what the check compares yours
# with) and says so, so that the notebook runs on.

# %%
from minivae.course import check_vae
from minivae.course.vae_reference import minivae_sample, minivae_step

if check_vae(vae_loss, train_step, sample_prior).passed:  # the check above, run again
    step, draw = train_step, sample_prior
else:
    step, draw = minivae_step, minivae_sample
    print("NOTE: your functions are not right yet (see the check above), so this trains and "
          "samples with minivae's own. Run this cell again once they are.")

yours = minivae.VAE(input_dim=784, hidden=(256,), latent_dim=10, seed=0)
optimizer = Adam(yours.parameters(), lr=1e-3)
rng = np.random.default_rng(0)
x_yours = sprites_train.x  # (N, D) float32, as the model
epoch_losses = []
for epoch in range(5):
    order = rng.permutation(len(x_yours))
    losses = []
    for start in range(0, len(order), 128):
        batch = x_yours[order[start : start + 128]]  # (B, D)
        eps = rng.standard_normal((len(batch), 10), dtype=np.float32)  # (B, L), eps ~ N(0, I)
        losses.append(step(yours, optimizer, batch, eps))
    epoch_losses.append(np.mean(losses))
    print(f"epoch {epoch + 1}: mean training loss {epoch_losses[-1]:.2f} nats per example")
assert np.all(np.diff(epoch_losses) < 0) and epoch_losses[-1] < terms.neg_elbo.data.mean() / 5

# %% [markdown]
# The loss falls at every epoch, from the untrained model's 550 nats to less than a fifth of
# that. And your samples: codes drawn from the prior, decoded by your `sample_prior`. They are
# blobs, most of them of a sprite's size: over three quarters of them cover an area
# (their total brightness) within the range of the test sprites', though on the large side,
# their median area above the sprites' median. Five epochs are far from a converged model.

# %%
yours_sampled = draw(yours, rng.standard_normal((500, 10), dtype=np.float32))  # (500, D)
area_test = sprites_test.x.sum(axis=1)  # total brightness of each test sprite
area_yours = yours_sampled.sum(axis=1)
low, high = np.percentile(area_test, [1, 99])
within = np.mean((area_yours > low) & (area_yours < high))
print(f"{within:.0%} of 500 samples cover an area within the test sprites' 1st to 99th "
      f"percentile ({low:.0f} to {high:.0f} pixels' worth); median area {np.median(area_yours):.0f}"
      f" against the sprites' {np.median(area_test):.0f}")
assert within > 0.75 and np.median(area_yours) > np.median(area_test)
show(plots.samples, yours_sampled[:64].reshape(-1, *sprites_test.image_shape),
     title="Your VAE on sprites, 5 epochs: 64 samples, z ~ N(0, I) decoded")

# %% [markdown]
# ## Training on sprites
#
# From here on, `minivae.training.trainer.Trainer` runs the loop you just wrote: shuffled
# mini-batches of $B = 128$, for each one `loss = model.loss(x, beta).objective.mean()` (your
# `vae_loss`, with `eps` drawn by the model's own counter-based noise), `loss.backward()`, an
# Adam step; and more: after each epoch the test set's $-\mathrm{ELBO}$, reconstruction and
# KL (with fixed evaluation noise), checkpoints, and an exact resume.
# The sprites: 20,000 training and 2,000 test images of one shape each, made by the package.

# %%
sprites_config = TrainConfig(dataset="sprites", epochs=8, hidden=(256,), latent_dim=10,
                             out=os.path.join(RUNS.name, "sprites"))
sprites_run = Trainer(sprites_config)
sprites_rows = sprites_run.fit()
sprites_vae = sprites_run.model

# %% [markdown]
# The curves (`minivae.plots.curves`): the negative ELBO falls, and it is the sum of the two
# test terms. The reconstruction term falls as the decoder learns to use the code. The KL
# jumps within the first epoch from almost 0 (the untrained encoder's $q(z \mid x)$ is nearly
# the prior) to several nats, and then changes by less than that over the remaining epochs.

# %%
show(plots.curves, sprites_rows, title="VAE on sprites: test terms per epoch (L = 10)")
first, last = sprites_rows[0], sprites_rows[-1]
test_kls = [row["test_kl"] for row in sprites_rows]
print(f"test KL by epoch: {np.round(test_kls, 2)}")
assert last["test_neg_elbo"] < first["test_neg_elbo"] < terms.neg_elbo.data.mean()
assert np.isclose(last["test_neg_elbo"], last["test_recon"] + last["test_kl"])
assert last["test_recon"] < first["test_recon"]
assert terms.kl.data.mean() < 1 and first["test_kl"] > 5  # from almost 0 to several nats
assert np.ptp(test_kls) < first["test_kl"]  # then moves by less than that

# %% [markdown]
# What does a nat of KL buy? Averaged over the data, the KL splits into two parts (Hoffman and
# Johnson, 2016). Write $q(z) = \mathbb{E}_x[q(z \mid x)]$ for the codes of all the data
# together (the aggregate posterior). Then
#
# $$
# \mathbb{E}_x\big[\mathrm{KL}(q(z \mid x) \,\|\, p(z))\big]
# = \mathbb{E}_x \mathbb{E}_{q(z \mid x)}\!\left[\log \frac{q(z \mid x)}{q(z)}
# + \log \frac{q(z)}{p(z)}\right]
# = I(x; z) + \mathrm{KL}\big(q(z) \,\|\, p(z)\big),
# $$
#
# where $I(x; z)$ is the mutual information between an example and its code under the
# encoder: how much the code tells about which $x$ it came from. Both parts are at least 0, so
# the average KL is an upper bound on the information the code carries about $x$, not a
# measure of it; the two are equal only when the codes of all the data together are
# distributed exactly as the prior. Notebook 7 measures both parts.

# %% [markdown]
# Test images above their reconstructions (the decoder's mean at $z = \mu(x)$,
# `VAE.reconstruct`), and new images decoded from $z \sim \mathcal{N}(0, I)$ (`VAE.sample`).
# After 8 epochs the reconstructions put each shape where it was, at its size, but blurred:
# corners are rounded, and squares and triangles come back as soft blobs. The samples are
# blobs too, of the sizes the sprites have. Three numbers say so over all 2,000 test images
# and 500 samples: how far the centre of brightness of a reconstruction lies from its
# input's, the ratio of their total brightness (the area the shape covers), and how sharp an
# image is, measured as the mean squared difference between neighbouring pixels (an edge from
# 0 to 1 in one step adds 1, the same edge spread over three pixels $3 \times (1/3)^2 = 1/3$).


# %%
def as_images(flat, dataset):
    """(N, D) pixel rows -> (N, H, W) images."""
    return np.asarray(flat).reshape(-1, *dataset.image_shape)


def centres_and_areas(images):
    """Centre of brightness (N, 2), in pixels, and total brightness (N,) of (N, H, W) images."""
    rows, columns = np.indices(images.shape[1:])  # (H, W) each
    area = images.sum(axis=(1, 2))  # (N,)
    centre = np.stack([(images * columns).sum(axis=(1, 2)), (images * rows).sum(axis=(1, 2))], 1)
    return centre / area[:, None], area


def sharpness(images):
    """Mean squared difference between horizontally and vertically neighbouring pixels: (N,)."""
    across = (np.diff(images, axis=2) ** 2).mean(axis=(1, 2))
    down = (np.diff(images, axis=1) ** 2).mean(axis=(1, 2))
    return (across + down) / 2


test_images = as_images(sprites_test.x, sprites_test)  # (2000, 28, 28)
rebuilt = as_images(sprites_vae.reconstruct(sprites_test.x), sprites_test)
sampled = as_images(sprites_vae.sample(500), sprites_test)
(centre_in, area_in), (centre_out, area_out) = centres_and_areas(test_images), centres_and_areas(
    rebuilt)
shift = np.linalg.norm(centre_out - centre_in, axis=1)
print(f"centre moved by {np.mean(shift):.2f} pixels on average; area ratio, middle 90%: "
      f"{np.percentile(area_out / area_in, 5):.2f} to {np.percentile(area_out / area_in, 95):.2f}")
print(f"sharpness: inputs {sharpness(test_images).mean():.3f}, reconstructions "
      f"{sharpness(rebuilt).mean():.3f}, samples {sharpness(sampled).mean():.3f}")
_, area_sampled = centres_and_areas(sampled)
typical = (area_sampled > np.percentile(area_in, 1)) & (area_sampled < np.percentile(area_in, 99))
print(f"{typical.mean():.0%} of the samples cover an area within the test images' 1st to 99th "
      "percentile")
assert np.mean(shift) < 1.0 and 0.8 < np.median(area_out / area_in) < 1.2
assert sharpness(rebuilt).mean() < 0.8 * sharpness(test_images).mean()
assert sharpness(sampled).mean() < 0.8 * sharpness(test_images).mean() and typical.mean() > 0.8

show(plots.reconstructions, test_images[:20], rebuilt[:20],
     title="Sprites: test inputs and their reconstructions")
show(plots.samples, sampled[:64], title="Sprites: 64 samples, z ~ N(0, I) decoded")

# %% [markdown]
# ## Training on Fashion-MNIST
#
# Fashion-MNIST (70,000 28 x 28 photographs of clothes) is real data, much harder than the
# sprites. minivae looks for it on disk (Debian's `dataset-fashion-mnist` package puts it in
# `/usr/share/datasets/fashion-mnist`, or set `MINIVAE_DATA`); this notebook never downloads
# anything, so where it is not installed the section trains on sprites again instead, and
# says so. Every statement below holds for either.

# %%
try:
    load_dataset("fashion-mnist", download=False)
    fashion_name = "fashion-mnist"
except minivae.MinivaeError as error:
    fashion_name = "sprites"
    print("NOTE: Fashion-MNIST is not installed here (or is hidden from minivae), so this "
          "section trains on sprites instead. To see Fashion-MNIST here: apt-get install "
          "dataset-fashion-mnist (Debian, Ubuntu), or put its four files in a folder and set "
          f"MINIVAE_DATA to it.\nWhat minivae said: {error}")
print(f"training on {fashion_name}")

# %% [markdown]
# The model of the pytorch/examples VAE (784-400-20-400-784), trained for 3 epochs on the
# first 20,000 training images to keep the notebook quick (`limit` also caps the test split,
# which has 10,000); `minivae train --dataset fashion-mnist` trains on all 60,000 for 10.

# %%
fashion_config = TrainConfig(dataset=fashion_name, epochs=3, limit=20_000,
                             out=os.path.join(RUNS.name, "fashion"))
fashion_run = Trainer(fashion_config)
fashion_rows = fashion_run.fit()
assert fashion_rows[-1]["test_neg_elbo"] < fashion_rows[0]["test_neg_elbo"]

# %%
fashion_test = fashion_run.test_set
fashion_images = as_images(fashion_run.test_x, fashion_test)
fashion_rebuilt = as_images(fashion_run.model.reconstruct(fashion_run.test_x), fashion_test)
fashion_sampled = as_images(fashion_run.model.sample(500), fashion_test)
_, fashion_area_in = centres_and_areas(fashion_images)
_, fashion_area_out = centres_and_areas(fashion_rebuilt)
brightness_r = np.corrcoef(fashion_area_in, fashion_area_out)[0, 1]
print(f"total brightness, input against reconstruction: correlation {brightness_r:.3f}")
print(f"sharpness: inputs {sharpness(fashion_images).mean():.3f}, reconstructions "
      f"{sharpness(fashion_rebuilt).mean():.3f}, samples {sharpness(fashion_sampled).mean():.3f}")
assert brightness_r > 0.9
assert sharpness(fashion_sampled).mean() < sharpness(fashion_rebuilt).mean()
assert sharpness(fashion_rebuilt).mean() < 0.8 * sharpness(fashion_images).mean()
show(plots.curves, fashion_rows, title=f"VAE on {fashion_name}: test terms per epoch (L = 20)")
show(plots.reconstructions, fashion_images[:20], fashion_rebuilt[:20],
     title=f"{fashion_name}: test inputs and their reconstructions")
show(plots.samples, fashion_sampled[:64], title=f"{fashion_name}: 64 samples, z ~ N(0, I) decoded")

# %% [markdown]
# The reconstructions keep each image's overall brightness (the correlation printed above)
# and lose its fine detail: on Fashion-MNIST prints, checks and seams become flat grey. A
# decoder's mean image is blurry where it is unsure, and a code of 20 numbers leaves it unsure
# of much. The samples from the prior are blurrier still (their sharpness is lower than the
# reconstructions'): a code drawn from the prior is not any one image's code, and the decoder
# hedges between the images whose codes lie near it. Three short epochs are far from
# converged: the full 10-epoch run on Fashion-MNIST in the README reaches a test
# $-\mathrm{ELBO}$ of 244 nats.
#
# ## Grey pixels and the Bernoulli likelihood
#
# The Bernoulli distribution is a distribution over $x_j \in \{0, 1\}$. minivae, like the
# pytorch/examples VAE and most tutorials, feeds it grey levels $x_j \in [0, 1]$, and the
# formula still gives a number, the cross-entropy between the grey level and
# $p_j = \mathrm{sigmoid}(l_j)$. But that number is not the log of a probability of the grey
# image, for two reasons.
#
# **It is not normalized.** For one pixel, the "density" it gives a grey level integrates to
#
# $$
# \int_0^1 p^{x} (1 - p)^{1 - x}\, dx = \frac{2p - 1}{\log p - \log(1 - p)} \;\le\; \frac12,
# $$
#
# with $\tfrac12$ reached at $p = \tfrac12$ only (the continuous Bernoulli of Loaiza-Ganem and
# Cunningham, 2019, is this distribution with the missing factor put back).
#
# **It has a floor.** For a grey level $x_j$ the cross-entropy is least at $p_j = x_j$, where it
# equals the binary entropy $H(x_j) = -x_j \log x_j - (1 - x_j) \log (1 - x_j)$, which is 0 only
# for $x_j \in \{0, 1\}$. So even a perfect decoder pays $\sum_j H(x_j)$ nats on every image:
# a constant of the data, not of the model. Both, measured:

# %%
for p in (0.1, 0.5, 0.9, 0.999):
    grey = np.linspace(0, 1, 100_001)
    values = p**grey * (1 - p) ** (1 - grey)
    by_quadrature = np.sum((values[1:] + values[:-1]) / 2) * (grey[1] - grey[0])  # trapezoids
    closed = 0.5 if p == 0.5 else (2 * p - 1) / (np.log(p) - np.log(1 - p))
    print(f"p = {p}: integral over grey levels {by_quadrature:.5f} (formula {closed:.5f})")
    assert np.isclose(by_quadrature, closed, rtol=1e-6) and closed <= 0.5


def entropy_floor(x):
    """sum_j H(x_j) of each row of pixels x (N, D): the least any decoder can pay, (N,)."""
    x = np.clip(x.astype(np.float64), 1e-12, 1 - 1e-12)  # H(0) = H(1) = 0: the clip changes < 1e-9
    return -(x * np.log(x) + (1 - x) * np.log(1 - x)).sum(axis=1)


grey_terms = evaluate.mean_elbo_terms(fashion_run.model, fashion_run.test_x)
floor = entropy_floor(fashion_run.test_x).mean()
print(f"{fashion_name}, grey levels: reconstruction term {grey_terms['recon']:.1f} nats per "
      f"image, of which the floor sum_j H(x_j) is {floor:.1f} ({floor / grey_terms['recon']:.0%})")
assert 0 < floor < grey_terms["recon"]
share = {"sprites": (0.2, 0.5), "fashion-mnist": (0.6, 0.9)}[fashion_name]
assert share[0] < floor / grey_terms["recon"] < share[1]

# %% [markdown]
# The pixels of the sprites are 0 or 1 except along the edges, and there the floor is about a
# third of the reconstruction term; those of Fashion-MNIST are grey almost everywhere a garment
# is, and there it is about three quarters of it.
#
# Binarizing the data makes it fit the likelihood: `TrainConfig(binarize="dynamic")` (on the
# command line `minivae train --binarize dynamic`) draws each pixel as 1 with its grey level as
# the probability, and 0 otherwise, afresh each time a training image is used (`"static"`:
# once, before training), and the test set once with a fixed seed. Then $p(x \mid z)$ is a
# probability over the $2^D$ binary images, the floor is 0, the $-\mathrm{ELBO}$ is an upper
# bound on $-\log p(x)$ of a binary image, and the importance-weighted bound of the last
# section bounds a real log-probability: the log-likelihoods published for "binarized MNIST"
# are of this kind. The same model and training as above, on binarized pixels:

# %%
binarized_config = TrainConfig(dataset=fashion_name, epochs=3, limit=20_000, binarize="dynamic",
                               out=os.path.join(RUNS.name, "fashion-binarized"))
binarized_run = Trainer(binarized_config, log=lambda line: None)
binarized_run.fit()
binary_terms = evaluate.mean_elbo_terms(binarized_run.model, binarized_run.test_x)
binary_floor = entropy_floor(binarized_run.test_x).mean()
print(f"{'pixels':12s} {'recon':>7s} {'KL':>6s} {'-ELBO':>7s} {'floor':>6s}")
for name, result, its_floor in [("grey levels", grey_terms, floor),
                                ("binarized", binary_terms, binary_floor)]:
    print(f"{name:12s} {result['recon']:7.1f} {result['kl']:6.1f} {result['neg_elbo']:7.1f} "
          f"{its_floor:6.1f}")
assert set(np.unique(binarized_run.test_x)) <= {0.0, 1.0} and binary_floor < 1e-6
assert abs(binary_terms["neg_elbo"] - grey_terms["neg_elbo"]) < 0.05 * grey_terms["neg_elbo"]

# %% [markdown]
# The two $-\mathrm{ELBO}$s are within a few percent of each other and mean different things.
# The grey-level one includes the floor, which no model can remove; the binarized one is an
# upper bound on the nats a binary image costs the model. A number computed under one protocol
# cannot be compared with one computed under the other, nor with a model of grey levels that
# has a normalized likelihood (a Gaussian, or a discretized one); that is why papers state the
# binarization with every log-likelihood they report, and `minivae eval` prints it.
#
# ## The effect of $\beta$
#
# The objective $-\log p(x \mid z) + \beta\, \mathrm{KL}$ is the negative ELBO only at
# $\beta = 1$. Other values trade the two terms differently ($\beta > 1$ is the "beta-VAE",
# $\beta < 1$ near the start of training is "KL warm-up", notebook 7): a larger $\beta$ makes
# information in the code more expensive, so the model keeps less of it: the KL falls, and the
# reconstruction gets worse. Five short runs on sprites (5 epochs on 10,000 images), identical
# but for $\beta$, each from two seeds, so that we can see how much of a difference is the
# seed's:

# %%
betas = [0.1, 0.3, 1.0, 3.0, 10.0]
beta_seeds = (0, 1)
beta_runs = {}
for seed in beta_seeds:
    for beta in betas:
        config = TrainConfig(dataset="sprites", epochs=5, limit=10_000, hidden=(256,),
                             latent_dim=10, beta=beta, seed=seed,
                             out=os.path.join(RUNS.name, f"beta-{beta}-seed-{seed}"))
        beta_runs[beta, seed] = Trainer(config, log=lambda line: None)
        beta_runs[beta, seed].fit()

results = {key: evaluate.mean_elbo_terms(run.model, run.test_x) for key, run in beta_runs.items()}
print("             " + "".join(f"   seed {seed}: recon     KL   -ELBO" for seed in beta_seeds))
for beta in betas:
    print(f"beta {beta:5.1f}:  " + "".join(
        f"          {results[beta, seed]['recon']:6.2f} {results[beta, seed]['kl']:6.2f} "
        f"{results[beta, seed]['neg_elbo']:7.2f}" for seed in beta_seeds))
for seed in beta_seeds:
    kls = [results[beta, seed]["kl"] for beta in betas]
    recons = [results[beta, seed]["recon"] for beta in betas]
    assert all(np.diff(kls) < 0) and all(np.diff(recons) > 0)
    ranked = sorted(betas, key=lambda beta: results[beta, seed]["neg_elbo"])
    margin = results[ranked[1], seed]["neg_elbo"] - results[ranked[0], seed]["neg_elbo"]
    print(f"seed {seed}: the best test -ELBO is at beta = {ranked[0]}, {margin:.2f} nats below "
          f"the next best (beta = {ranked[1]})")
    assert ranked[0] == 1.0 and margin > 1.0

# %% [markdown]
# In both seeds the KL falls and the reconstruction term rises at every step up in $\beta$, and
# the test $-\mathrm{ELBO}$ is lowest at $\beta = 1$, by more than a nat over the next best.
# That is what one expects, since only at $\beta = 1$ is the training objective the
# $-\mathrm{ELBO}$ itself; but nothing guarantees it for a finite run (the optimizer need not
# find the best ELBO even when the ELBO is its objective), so it is a measurement on this data
# and grid, confirmed here by two seeds, not a law.
#
# Left: each run's KL (the nats its codes cost, the "rate") against its reconstruction term
# (the "distortion"): moving along $\beta$ traces the trade-off. Right: the same eight test
# images rebuilt by each run of seed 0.

# %%
originals = sprites_test.x[:8]
rows_of_images = [originals] + [beta_runs[beta, 0].model.reconstruct(originals) for beta in betas]
strip = plots.tile_images(as_images(np.concatenate(rows_of_images), sprites_test), ncols=8)

figure, (left, right) = plt.subplots(1, 2, figsize=(13, 5), layout="constrained",
                                     gridspec_kw=dict(width_ratios=[1, 1.3]))
for seed, marker in zip(beta_seeds, "os", strict=True):
    kls = [results[beta, seed]["kl"] for beta in betas]
    recons = [results[beta, seed]["recon"] for beta in betas]
    left.plot(kls, recons, marker + "-", label=f"seed {seed}")
for beta in betas:
    left.annotate(rf"$\beta = {beta}$", (results[beta, 0]["kl"], results[beta, 0]["recon"]),
                  textcoords="offset points", xytext=(6, 6))
left.set_xlabel(r"$\mathrm{KL}(q(z \mid x) \,\|\, p(z))$, nats per example (rate)")
left.set_ylabel(r"$-\log p(x \mid z)$, nats per example (distortion)")
left.margins(x=0.15)
left.legend()
left.set_title(r"Larger $\beta$: fewer nats in $z$, worse reconstructions")
right.imshow(strip, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
row_height = strip.shape[0] / len(rows_of_images)
right.set_yticks([row_height * (i + 0.5) for i in range(len(rows_of_images))],
                 ["input"] + [rf"$\beta = {beta}$" for beta in betas])
right.set_xticks([])
right.set_title("Eight test sprites and their reconstructions, by beta (seed 0)")
plt.show()

by_beta = {beta: as_images(beta_runs[beta, 0].model.reconstruct(sprites_test.x), sprites_test)
           for beta in betas}
blur = {beta: sharpness(images).mean() for beta, images in by_beta.items()}
shift_at_10 = np.linalg.norm(centres_and_areas(by_beta[10.0])[0] - centre_in, axis=1).mean()
print("sharpness of the reconstructions by beta: "
      + ", ".join(f"{beta}: {value:.4f}" for beta, value in blur.items())
      + f"; at beta = 10 the centre moved {shift_at_10:.2f} pixels on average")
assert min(blur, key=blur.get) == 10.0 and shift_at_10 < 2.0

# %% [markdown]
# At $\beta = 10$ the codes hold so little (about two nats) that the reconstructions are the
# blurriest of the five (the lowest sharpness, printed above), though still in about the right
# place (their centres within two pixels of the inputs', on average). A small $\beta$ buys its
# better reconstructions with a large KL, and the $-\mathrm{ELBO}$, which counts both, pays
# for it. Notebook 7 looks at what $\beta$ does to the latent space itself.
#
# ## How tight is the ELBO? The importance-weighted bound
#
# Replace the single ratio inside the derivation by an average of $k$ of them, with
# $z_1, \dots, z_k$ drawn independently from $q(z \mid x)$ (Burda et al., 2016;
# `docs/math.md`). Each importance weight $w_i = p(x \mid z_i)\, p(z_i) / q(z_i \mid x)$ has
# expectation $p(x)$ under $q$ (the $q$ in its denominator cancels the one the expectation
# integrates with), and so has their mean. Take the log of that mean, as the derivation at the
# top took the log of one ratio: the result, $\mathcal{L}_k(x)$, is a random number, and
# Jensen's inequality bounds its expectation. Write $\mathcal{L}_k(x)$ down, and the bound,
# before you open the hint:
#
# <details><summary>Hint: the bound</summary>
#
# $$
# \mathcal{L}_k(x) = \log \frac1k \sum_{i=1}^{k} \frac{p(x \mid z_i)\, p(z_i)}{q(z_i \mid x)},
# \qquad
# \log p(x) = \log \mathbb{E}\Big[\frac1k \sum_{i=1}^{k} w_i\Big]
# \;\ge\; \mathbb{E}\big[\mathcal{L}_k(x)\big]
# $$
#
# </details>
#
# More is true: the bound tightens as $k$ grows, and $k = 1$ is the ELBO,
#
# $$
# \log p(x) \;\ge\; \mathbb{E}\big[\mathcal{L}_{k+1}(x)\big]
# \;\ge\; \mathbb{E}\big[\mathcal{L}_k(x)\big]
# \;\ge\; \mathbb{E}\big[\mathcal{L}_1(x)\big] = \mathrm{ELBO}(x).
# $$
#
# It is the expectation over the draws that is a lower bound, by Jensen's inequality, and that
# grows with $k$ (Burda et al., Theorem 1), towards $\log p(x)$ when the weights are bounded;
# a single draw of $\mathcal{L}_k(x)$ can land above $\log p(x)$, most easily for small $k$.
# $\mathcal{L}_1$ is the ELBO's three-term form with the KL sampled rather than in closed form.
# `VAE.log_likelihood(x, k)` computes one draw per example; `evaluate.iwae_negative_log_likelihood`
# averages $-\mathcal{L}_k$ over a set of examples, an estimate of the average of
# $-\mathbb{E}[\mathcal{L}_k(x)]$ with some Monte Carlo noise. On grey pixels the bound is on
# the log of the unnormalized "likelihood" of the last section; on binarized pixels, on a real
# log-probability.
#
# ### Exercise 8: the importance-weighted bound
#
# For each example `VAE.log_likelihood` draws $k$ samples $z_i \sim q(z \mid x)$ and computes
# three log-densities of each: $\log p(x \mid z_i)$ (the decoder), $\log p(z_i)$ (the prior)
# and $\log q(z_i \mid x)$ (the encoder). Write `iwae_bound(log_px_z, log_pz, log_qz)`, for
# three arrays of shape (k, B), one row per sample and one column per example, returning
# $\mathcal{L}_k$ of each example, shape (B,). First write $\log w_i$ from the three
# log-densities. Then mind the sizes: $\log p(x \mid z)$ is about $-240$ nats for a
# Fashion-MNIST image, so the weight $w_i = e^{\log w_i}$ is about $10^{-104}$, below float32's
# smallest number; for larger images or worse models it falls below float64's too
# ($e^{-745}$), and a Gaussian decoder's log-densities can be large and positive, where
# $e^{\log w_i}$ overflows (above $e^{709}$). So compute $\mathcal{L}_k$ from the $\log w_i$
# without forming a $w_i$ that could underflow or overflow: rewrite
# $\log \frac1k \sum_i e^{\log w_i}$ so that every exponential in it is of a number $\le 0$,
# and one of them is $e^0 = 1$. Use only the arguments and NumPy. The check compares your
# function with minivae's log-sum-exp on moderate log weights and on log weights near $-1500$
# and near $+1000$.
#
# <details><summary>Hint: the log weight</summary>
#
# $\log w_i = \log p(x \mid z_i) + \log p(z_i) - \log q(z_i \mid x)$, one per sample and
# example: (k, B).
#
# </details>
#
# <details><summary>Hint: the log of a mean of exponentials</summary>
#
# Take out the largest: with $a_{\max} = \max_i a_i$ (of each example, over its samples),
# $\log \frac1k \sum_i e^{a_i} = a_{\max} + \log \frac1k \sum_i e^{a_i - a_{\max}}$.
#
# </details>


# %%
# The check calls each function by position, its arguments in the order of the def line:
# keep the parameters and their order as they are (a name may change, the order may not).
def iwae_bound(log_px_z, log_pz, log_qz):
    """L_k = log (1/k) sum_i w_i of each example, from the (k, B) log-densities of k samples."""
    ### BEGIN SOLUTION
    log_w = log_px_z + log_pz - log_qz  # (k, B): log w_i = log p(x|z_i) p(z_i) / q(z_i|x)
    top = log_w.max(axis=0)  # (B,): every exp below is of a number <= 0, and one of them is 1
    return top + np.log(np.exp(log_w - top).mean(axis=0))  # (k, B) -> (B,)
    ### END SOLUTION


# %%
minivae.course.check_iwae_bound(iwae_bound)

# %% [markdown]
# minivae's own is at the end of `VAE.log_likelihood` (`minivae/models/vae.py`), which the rest
# of the notebook uses. First, $k = 1$ against the ELBO from `VAE.loss`, paired example by
# example on 500 test sprites:

# %%
x_eval = sprites_test.x[:500]
with minivae.no_grad():
    neg_elbo = sprites_vae.loss(x_eval).neg_elbo.data  # (500,): recon at one z + KL in closed form
neg_l1 = -sprites_vae.log_likelihood(x_eval, k=1)  # (500,): -L_1 at another z
difference = neg_l1 - neg_elbo
stderr = difference.std(ddof=1) / np.sqrt(len(difference))
print(f"-ELBO {neg_elbo.mean():.2f}, -L_1 {neg_l1.mean():.2f}: difference "
      f"{difference.mean():.2f} +- {stderr:.2f}")
assert abs(difference.mean()) < 3 * stderr

# %% [markdown]
# Both estimate the same $-\mathrm{ELBO}$. Now growing $k$, on the same 500 sprites:

# %%
ks = [1, 2, 5, 10, 50, 200, 1000]
bounds = [evaluate.iwae_negative_log_likelihood(sprites_vae, x_eval, k) for k in ks]
for k, bound in zip(ks, bounds, strict=True):
    print(f"k = {k:4d}: -L_k = {bound:.2f} nats")
assert all(np.diff(bounds) < 0.05)  # tighter (smaller -L_k) as k grows, up to Monte Carlo noise
assert bounds[-1] < bounds[0] - 1.0
assert bounds[0] - bounds[ks.index(10)] > bounds[ks.index(10)] - bounds[-1]  # fast, then flat
print(f"-ELBO minus -L_1000: {neg_elbo.mean() - bounds[-1]:.2f} nats")

figure, axes = plt.subplots(figsize=(8, 4.5))
axes.semilogx(ks, bounds, "o-", label=r"$-\mathcal{L}_k$ (IWAE bound), VAE.log_likelihood")
axes.axhline(neg_elbo.mean(), color="gray", linestyle="--",
             label=r"$-\mathrm{ELBO}$ from VAE.loss")
axes.set_xlabel("importance samples $k$ (log scale)")
axes.set_ylabel(r"estimate of an upper bound on $-\log p(x)$, nats")
axes.set_title("Sprites VAE: the importance-weighted bound tightens as $k$ grows")
axes.legend()
plt.show()

# %% [markdown]
# The bound drops fast over the first few samples, then flattens; as $k$ grows it tends to
# $-\log p(x)$ itself. So the distance from the $-\mathrm{ELBO}$ line to $-\mathcal{L}_{1000}$
# (printed above) estimates a lower bound on the average gap
# $\mathrm{KL}(q(z \mid x) \,\|\, p(z \mid x))$: how far this encoder's Gaussian is from the
# true posterior, on average. This is how minivae reports a model's log-likelihood
# (`minivae eval`, $k = 5000$). The ELBO is what the model is trained on; notebook 7 looks at
# the latent space it learns.
