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
# # 4. The ELBO and training
#
# Notebooks 1 to 3 built the pieces: the encoder's q(z|x), the KL to the prior, gradients
# through a sample. Here they come together as one objective, the evidence lower bound (ELBO),
# and a VAE is trained on it: first on the sprites that ship with minivae, then on
# Fashion-MNIST where it is installed. Then two questions about the objective: what its weight
# beta on the KL does, and how far the ELBO sits below the true log-likelihood log p(x), measured
# with the importance-weighted bound.

# %% [markdown]
# **The exercise version of this notebook**, made from `notebooks/04_elbo_and_training.py` by
# `python -m minivae.course.make_exercises` (edit that one, not this). The cells marked
# **Exercise** leave 3 functions for you to write: `bernoulli_nll`, `adam_step`, `iwae_bound`.
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
# A VAE is a generative model: draw a code z from the prior p(z) = N(0, I), then x from the
# decoder's p(x|z). The probability it gives an example x is an integral over every code,
#
#     p(x) = integral of p(x|z) p(z) dz,
#
# which no one can compute for a neural decoder. Multiply and divide by the encoder's q(z|x)
# inside it, and it becomes an expectation under q:
#
#     log p(x) = log E_{z ~ q(z|x)}[p(x|z) p(z) / q(z|x)]
#             >= E_{z ~ q(z|x)}[log p(x|z) + log p(z) - log q(z|x)]      (Jensen: log E >= E log)
#              = E_q[log p(x|z)] - KL(q(z|x) || p(z))  =  ELBO(x)
#
# The last step groups log p(z) - log q(z|x) into minus the KL of notebook 1. The ELBO is a
# reconstruction term (how well a code drawn from q(z|x) rebuilds x) minus a KL term (how far
# q(z|x) strays from the prior). The gap, log p(x) - ELBO(x), is KL(q(z|x) || p(z|x)), the
# distance from the encoder's q to the true posterior; it is zero only when q is exact.
#
# minivae minimizes the negative ELBO in nats per example: `VAE.loss(x, beta)` returns its two
# parts, `recon` = -log p(x|z) at one z = mu + sigma * eps (`ops.bernoulli_nll` for pixels in
# [0, 1]) and `kl` in closed form (`ops.gaussian_kl`), and the training objective
# `recon + beta * kl`. With beta = 1 that is exactly -ELBO.
#
# ### Exercise 4: the Bernoulli likelihood on logits
#
# For pixels in [0, 1] the decoder outputs one logit l_j per pixel, any real number, and
# p(x_j = 1 | z) = sigmoid(l_j) = 1 / (1 + e^-l_j). The reconstruction term is the binary
# cross-entropy, summed over the D pixels of an example:
#
#     -log p(x|z) = -sum_j [x_j log sigmoid(l_j) + (1 - x_j) log(1 - sigmoid(l_j))]
#
# Write `bernoulli_nll(logits, x)`, for logits and pixels x of shape (B, D), returning one
# number per example, shape (B,). It must stay finite for logits of any size: a trained decoder
# is confident, its logits reach 40 and more, and there sigmoid(l) rounds to exactly 1 in
# float64, so log(1 - sigmoid(l)) is log 0. So work on the logits: with
# softplus(a) = log(1 + e^a), -log sigmoid(l) = softplus(-l) and -log(1 - sigmoid(l)) =
# softplus(l); simplify with softplus(-l) = softplus(l) - l; and compute softplus itself so that
# no e^a can overflow. Use only the arguments and NumPy. The check compares your function with
# `ops.bernoulli_nll` on pixel intensities, binary pixels, one example, one pixel and logits of
# size 38 to 1000.


# %%
# The check calls each function by position, its arguments in the order of the def line:
# keep the parameters and their order as they are (a name may change, the order may not).
def bernoulli_nll(logits, x):
    """-log p(x|z) of each example from the decoder's logits l and the pixels x (B, D): (B,)."""
    # YOUR CODE HERE
    raise NotImplementedError()


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

# %% [markdown]
# An untrained decoder guesses each pixel at about 1/2, which costs log 2 = 0.69 nats for each
# of the 784 pixels: about 540 nats. The KL starts near 0, because the encoder's first outputs
# are all close to mu = 0, logvar = 0, the prior itself.
#
# ## The optimizer: Adam
#
# Training moves the weights against the gradient of the objective, but not by plain gradient
# descent: minivae's trainer uses Adam (Kingma and Ba, 2015; `docs/math.md`), which scales each
# parameter's step by running averages of its gradient g and of g^2. At step t = 1, 2, ...,
# with b1 = 0.9, b2 = 0.999 and eps = 1e-8:
#
#     m = b1 m + (1 - b1) g,            v = b2 v + (1 - b2) g^2
#     m_hat = m / (1 - b1^t),           v_hat = v / (1 - b2^t)
#     theta = theta - lr m_hat / (sqrt(v_hat) + eps)
#
# m and v start at 0, so over the first steps they are too small, by the factors 1 - b1^t and
# 1 - b2^t; m_hat and v_hat undo that (the "bias correction"). At the first step
# m_hat / sqrt(v_hat) = g / |g|, so every parameter moves by lr, whatever its gradient's size.
#
# ### Exercise 5: Adam's update
#
# Write `adam_step(theta, g, m, v, t, lr, b1, b2, eps)`, returning the new (theta, m, v) after
# step t (t = 1 at the first step), for arrays theta, g, m and v of one shape. Use only the
# arguments and NumPy. The check runs it step by step beside minivae's `optim.Adam`, fed the same
# gradients, in two runs with different settings.


# %%
# The check calls each function by position, its arguments in the order of the def line:
# keep the parameters and their order as they are (a name may change, the order may not).
def adam_step(theta, g, m, v, t, lr=1e-3, b1=0.9, b2=0.999, eps=1e-8):
    """One Adam update: the new (theta, m, v) from the gradient g at step t (1 at the first)."""
    # YOUR CODE HERE
    raise NotImplementedError()


# %%
minivae.course.check_adam_step(adam_step)

# %% [markdown]
# minivae's own is `optim.Adam` (`minivae/models/optim.py`), which the trainer uses. Its first step
# moves parameters with gradients of very different sizes by the same lr:

# %%
theta = minivae.Tensor(np.array([1.0, -2.0, 50.0]), requires_grad=True)
start = theta.data.copy()
adam = Adam([theta], lr=0.01)
theta.grad = np.array([1e-4, 3.0, -800.0])
adam.step()
print("gradients", theta.grad, "moved theta by", theta.data - start)
assert np.allclose(theta.data - start, -0.01 * np.sign(theta.grad), rtol=1e-3)

# %% [markdown]
# ## Training on sprites
#
# `minivae.training.trainer.Trainer` runs the loop: shuffled mini-batches of B = 128, for each one
# `loss = model.loss(x, beta).objective.mean()`, `loss.backward()`, an Adam step; after each
# epoch the test set's -ELBO, reconstruction and KL (with fixed evaluation noise). The
# sprites: 20,000 training and 2,000 test images of one shape each, made by the package.

# %%
sprites_config = TrainConfig(dataset="sprites", epochs=8, hidden=(256,), latent_dim=10,
                             out=os.path.join(RUNS.name, "sprites"))
sprites_run = Trainer(sprites_config)
sprites_rows = sprites_run.fit()
sprites_vae = sprites_run.model

# %% [markdown]
# The curves (`minivae.plots.curves`): the negative ELBO falls, and it is the sum of the two
# test terms. The reconstruction term falls steadily as the decoder learns to use the code.
# The KL jumps within the first epoch from almost 0 (the untrained encoder's q(z|x) is nearly
# the prior) to about a dozen nats, and then moves much less: each nat of KL is information
# the code carries about x, paid for against the prior.

# %%
show(plots.curves, sprites_rows, title="VAE on sprites: test terms per epoch (L = 10)")
first, last = sprites_rows[0], sprites_rows[-1]
assert last["test_neg_elbo"] < first["test_neg_elbo"] < terms.neg_elbo.data.mean()
assert np.isclose(last["test_neg_elbo"], last["test_recon"] + last["test_kl"])
assert last["test_kl"] > 1  # the code is in use

# %% [markdown]
# Test images above their reconstructions (the decoder's mean at z = mu(x),
# `VAE.reconstruct`), and new images decoded from z ~ N(0, I) (`VAE.sample`). After 8 epochs
# the reconstructions have each shape's position and size, and the direction of an ellipse,
# but round off corners: squares and triangles come back as blobs. Most samples are one blob
# of a plausible size and place; some are smudges, from codes the decoder has rarely seen.


# %%
def as_images(flat, dataset):
    """(N, D) pixel rows -> (N, H, W) images."""
    return np.asarray(flat).reshape(-1, *dataset.image_shape)


inputs = sprites_test.x[:20]
show(plots.reconstructions, as_images(inputs, sprites_test),
     as_images(sprites_vae.reconstruct(inputs), sprites_test),
     title="Sprites: test inputs and their reconstructions")
show(plots.samples, as_images(sprites_vae.sample(64), sprites_test),
     title="Sprites: 64 samples, z ~ N(0, I) decoded")

# %% [markdown]
# ## Training on Fashion-MNIST
#
# Fashion-MNIST (70,000 28 x 28 photographs of clothes) is real data, much harder than the
# sprites. minivae looks for it on disk (Debian's `dataset-fashion-mnist` package puts it in
# `/usr/share/datasets/fashion-mnist`, or set `MINIVAE_DATA`); this notebook never downloads
# anything, so where it is not installed the section trains on sprites again instead, and
# says so.

# %%
try:
    load_dataset("fashion-mnist", download=False)
    fashion_name = "fashion-mnist"
except minivae.MinivaeError as error:
    fashion_name = "sprites"
    print("NOTE: Fashion-MNIST is not installed on this machine, so this section trains on "
          "sprites instead. To see Fashion-MNIST here: apt-get install dataset-fashion-mnist "
          "(Debian, Ubuntu), or put its four files in a folder and set MINIVAE_DATA to it.\n"
          f"What minivae said: {error}")
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
show(plots.curves, fashion_rows, title=f"VAE on {fashion_name}: test terms per epoch (L = 20)")
show(plots.reconstructions, as_images(fashion_run.test_x[:20], fashion_test),
     as_images(fashion_run.model.reconstruct(fashion_run.test_x[:20]), fashion_test),
     title=f"{fashion_name}: test inputs and their reconstructions")
show(plots.samples, as_images(fashion_run.model.sample(64), fashion_test),
     title=f"{fashion_name}: 64 samples, z ~ N(0, I) decoded")

# %% [markdown]
# On Fashion-MNIST the reconstructions keep each garment's outline and brightness and lose
# fine texture: prints and checks become flat grey (a Bernoulli decoder's mean image is
# blurry where it is unsure). The samples from the prior are mostly recognisable garments,
# blurrier still, and some are blends of two kinds. Three short epochs are far from
# converged: the full 10-epoch run in the README reaches a test -ELBO of 244 nats.
#
# ## The effect of beta
#
# The objective recon + beta * KL is the negative ELBO only at beta = 1. Other values trade the
# two terms differently (beta > 1 is the "beta-VAE", beta < 1 near the start of training is
# "KL warm-up", notebook 5): a larger beta makes information in the code more expensive, so the
# model keeps less of it: the KL falls, and the reconstruction gets worse. Five short runs on
# sprites (5 epochs on 10,000 images), identical but for beta:

# %%
betas = [0.1, 0.3, 1.0, 3.0, 10.0]
beta_runs = {}
for beta in betas:
    config = TrainConfig(dataset="sprites", epochs=5, limit=10_000, hidden=(256,), latent_dim=10,
                         beta=beta, out=os.path.join(RUNS.name, f"beta-{beta}"))
    beta_runs[beta] = Trainer(config, log=lambda line: None)
    beta_runs[beta].fit()

results = {beta: evaluate.mean_elbo_terms(run.model, run.test_x) for beta, run in beta_runs.items()}
for beta, result in results.items():
    print(f"beta {beta:5.1f}: recon {result['recon']:6.2f}  KL {result['kl']:5.2f}  "
          f"-ELBO {result['neg_elbo']:6.2f}")
kls = [results[beta]["kl"] for beta in betas]
recons_by_beta = [results[beta]["recon"] for beta in betas]
assert all(np.diff(kls) < 0) and all(np.diff(recons_by_beta) > 0)
best = min(betas, key=lambda beta: results[beta]["neg_elbo"])
print(f"the best test -ELBO is at beta = {best}")
assert best == 1.0  # the ELBO itself is the objective only at beta = 1

# %% [markdown]
# Left: each run's KL (the nats its codes carry, the "rate") against its reconstruction term
# (the "distortion"): moving along beta traces the trade-off. Right: the same eight test
# images rebuilt by each run.

# %%
originals = sprites_test.x[:8]
rows_of_images = [originals] + [beta_runs[beta].model.reconstruct(originals) for beta in betas]
strip = plots.tile_images(as_images(np.concatenate(rows_of_images), sprites_test), ncols=8)

figure, (left, right) = plt.subplots(1, 2, figsize=(13, 5), layout="constrained",
                                     gridspec_kw=dict(width_ratios=[1, 1.3]))
left.plot(kls, recons_by_beta, "o-")
for beta, kl, recon in zip(betas, kls, recons_by_beta, strict=True):
    left.annotate(f"beta = {beta}", (kl, recon), textcoords="offset points", xytext=(6, 6))
left.set_xlabel("KL(q(z|x) || p(z)), nats per example (rate)")
left.set_ylabel("-log p(x|z), nats per example (distortion)")
left.margins(x=0.15)
left.set_title("Larger beta: less information in z, worse reconstructions")
right.imshow(strip, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
row_height = strip.shape[0] / len(rows_of_images)
right.set_yticks([row_height * (i + 0.5) for i in range(len(rows_of_images))],
                 ["input"] + [f"beta = {beta}" for beta in betas])
right.set_xticks([])
right.set_title("Eight test sprites and their reconstructions, by beta")
plt.show()

# %% [markdown]
# From beta = 0.1 to 3 the pictures differ little, though the reconstruction terms differ by
# 10 nats; at beta = 10 the codes hold so little that the reconstructions are blurred blobs,
# in about the right place and of about the right size. A small beta buys its better
# reconstructions with a large KL, and the -ELBO, which counts both, is best at beta = 1.
# Notebook 5 looks at what beta does to the latent space itself.
#
# ## How tight is the ELBO? The importance-weighted bound
#
# Replace the single ratio inside the derivation by an average of k of them, with
# z_1 ... z_k drawn independently from q(z|x) (Burda et al., 2016; `docs/math.md`):
#
#     log p(x) >= log (1/k) sum_i p(x|z_i) p(z_i) / q(z_i|x)   =:  L_k(x)
#
# Jensen's inequality still applies, so every L_k is a lower bound; k = 1 is the ELBO (in its
# three-term form, with the KL sampled rather than in closed form), and L_k grows with k
# towards log p(x). `VAE.log_likelihood(x, k)` computes it; `evaluate.iwae_negative_log_likelihood`
# averages -L_k over a set of examples.
#
# ### Exercise 6: the importance-weighted bound
#
# For each example `VAE.log_likelihood` draws k samples z_i ~ q(z|x) and computes three
# log-densities of each: log p(x|z_i) (the decoder), log p(z_i) (the prior) and log q(z_i|x)
# (the encoder). Write `iwae_bound(log_px_z, log_pz, log_qz)`, for three arrays of shape (k, B),
# one row per sample and one column per example, returning L_k of each example, shape (B,).
# Mind the sizes: log p(x|z) is about -240 nats for a Fashion-MNIST image, so the weight
# w_i = e^(log w_i) is about 1e-104, below float32's smallest number; for larger images or worse
# models it falls below float64's too (e^-745), and a Gaussian decoder's log-densities can be
# large and positive, where e^(log w_i) overflows (above e^709). So compute L_k from the log w_i
# without forming a w_i that could underflow or overflow, using
# log sum_i e^(a_i) = a_max + log sum_i e^(a_i - a_max). Use only the arguments and NumPy. The
# check compares your function with minivae's log-sum-exp on moderate log weights and on log
# weights near -1500 and near +1000.


# %%
# The check calls each function by position, its arguments in the order of the def line:
# keep the parameters and their order as they are (a name may change, the order may not).
def iwae_bound(log_px_z, log_pz, log_qz):
    """L_k = log (1/k) sum_i w_i of each example, from the (k, B) log-densities of k samples."""
    # YOUR CODE HERE
    raise NotImplementedError()


# %%
minivae.course.check_iwae_bound(iwae_bound)

# %% [markdown]
# minivae's own is at the end of `VAE.log_likelihood` (`minivae/models/vae.py`), which the rest of
# the notebook uses. First, k = 1 against the ELBO from `VAE.loss`, paired example by example
# on 500 test sprites:

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
# Both estimate the same -ELBO. Now growing k, on the same 500 sprites:

# %%
ks = [1, 2, 5, 10, 50, 200, 1000]
bounds = [evaluate.iwae_negative_log_likelihood(sprites_vae, x_eval, k) for k in ks]
for k, bound in zip(ks, bounds, strict=True):
    print(f"k = {k:4d}: -L_k = {bound:.2f} nats")
assert all(np.diff(bounds) < 0.05)  # tighter (smaller -L_k) as k grows, up to Monte Carlo noise
assert bounds[-1] < bounds[0] - 1.0
print(f"-ELBO minus -L_1000: {neg_elbo.mean() - bounds[-1]:.2f} nats")

figure, axes = plt.subplots(figsize=(8, 4.5))
axes.semilogx(ks, bounds, "o-", label="-L_k (IWAE bound), VAE.log_likelihood")
axes.axhline(neg_elbo.mean(), color="gray", linestyle="--", label="-ELBO from VAE.loss")
axes.set_xlabel("importance samples k (log scale)")
axes.set_ylabel("upper bound on -log p(x), nats per example")
axes.set_title("Sprites VAE: the importance-weighted bound tightens as k grows")
axes.legend()
plt.show()

# %% [markdown]
# The bound drops fast over the first few samples, then flattens; as k grows it tends to
# -log p(x) itself. So the distance from the -ELBO line to -L_1000 (printed above) is a lower
# estimate of the gap KL(q(z|x) || p(z|x)): how far this encoder's Gaussian is from the true
# posterior, on average. This is how minivae reports a model's log-likelihood
# (`minivae eval`, k = 5000). The ELBO is what the model is trained on; notebook 5 looks at
# the latent space it learns.
