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
# # 8. Posterior collapse
#
# A latent unit $u$ has collapsed when its posterior is the prior for every input,
# $q(z_u \mid x) = \mathcal{N}(0, 1) = p(z_u)$: its KL is 0, its code says nothing about $x$,
# and the decoder learns to ignore it. Notebook 7's beta-VAE switched such units off.
# This notebook asks why a unit collapses, whether that is a failure, and what the two usual
# remedies, KL warm-up and free bits, change. First a model where the cause can be seen, a
# linear VAE; then the sprites VAE of notebook 7 epoch by epoch; then free bits, which you
# write; then the three ways of training compared over three seeds.
#
# Two measures of a unit recur, both on the test set:
#
# - **active**: its mean code changes with the input, $\operatorname{Var}_x(\mu_u(x)) > 0.01$
#   (Burda et al., 2016; `evaluate.active_units`), the usual count;
# - **in use**: its KL, averaged over the inputs, is above 0.1 nats,
#   $\mathrm{KL}_u = \mathbb{E}_x\big[\mathrm{KL}(q(z_u \mid x) \,\|\, p(z_u))\big] > 0.1$
#   (`evaluate.latent_statistics`), where
#   $\mathrm{KL}(q(z_u \mid x) \,\|\, p(z_u)) = \frac12(\mu_u^2 + \sigma_u^2 - 1 -
#   \mathrm{logvar}_u)$.
#
# A collapsed unit fails both. We will see that they can disagree.

# %% [markdown]
# **The exercise version of this notebook**, made from `notebooks/08_posterior_collapse.py` by
# `python -m minivae.course.make_exercises` (edit that one, not this). The cells marked
# **Exercise** leave 2 functions for you to write: `free_bits_kl`, `free_bits_backward`.
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
from minivae.models.optim import Adam
from minivae.rng import CounterRNG
from minivae.training import evaluate
from minivae.training.trainer import TrainConfig, Trainer

RUNS = tempfile.TemporaryDirectory(prefix="minivae-notebook-8-")  # checkpoints of the runs
rng = np.random.default_rng(0)

# %% [markdown]
# ## A linear VAE: collapse whose cause can be seen
#
# Take the simplest VAE there is. With no hidden layers (`hidden=()`) the encoder is one linear
# layer, $x \mapsto (\mu, \mathrm{logvar})$, and the decoder another, $z \mapsto Wz + b$; the
# likelihood is Gaussian, $p(x \mid z) = \mathcal{N}(Wz + b, \sigma_x^2 I)$, with the decoder's
# variance $\sigma_x^2$ (its `decoder.logvar` is $\log \sigma_x^2$) held fixed: we set it and
# leave it out of the optimizer. The data: 4,000 points in $D = 6$ dimensions, Gaussian, whose
# covariance has the principal variances $\lambda = 4, 2, 1, 0.5, 0.25, 0.125$ along six
# directions in a random rotation (exactly: the sample's covariance is made to be that matrix).
#
# This model is probabilistic PCA (Tipping and Bishop, 1999), whose maximum-likelihood fit is
# known in closed form: up to a rotation of the latent space, the columns of $W$ point along
# the principal directions whose variance exceeds the noise, $\lambda_i > \sigma_x^2$, with
# lengths $\sqrt{\lambda_i - \sigma_x^2}$, and every other direction gets no column at all:
# the model explains it as noise. Its posterior $p(z \mid x)$ is Gaussian, with a diagonal
# covariance when the columns of $W$ are orthogonal, so a VAE's $q(z \mid x)$ can equal it
# exactly and the ELBO reach $\log p(x)$: the optimum of the linear VAE's ELBO is
# probabilistic PCA, in the rotation where each unit takes one direction (Lucas et al., 2019,
# "Don't Blame the ELBO!"). At that optimum a unit $u$ that takes direction $i$ has
#
# $$
# \operatorname{Var}_x(\mu_u) = 1 - \frac{\sigma_x^2}{\lambda_i}, \qquad
# \sigma_u^2 = \frac{\sigma_x^2}{\lambda_i}, \qquad
# \mathrm{KL}_u = \frac12 \log \frac{\lambda_i}{\sigma_x^2}
# \qquad \text{if } \lambda_i > \sigma_x^2,
# $$
#
# and a unit with no direction left collapses: $\mu_u = 0$, $\sigma_u = 1$, $\mathrm{KL}_u =
# 0$. (The KL follows from the other two: $\frac12(\operatorname{Var}_x(\mu_u) + \sigma_u^2 - 1
# - \log \sigma_u^2)$, with the mean of $\mu_u$ at 0.)
#
# **Predict first:** with $\sigma_x^2 = 0.71$, how many of the six units will be active? And
# what will $\operatorname{Var}_x(\mu_u)$ be for the unit that takes the direction of
# $\lambda = 4$?

# %%
LAMBDAS = np.array([4.0, 2.0, 1.0, 0.5, 0.25, 0.125])  # the data's principal variances
D = len(LAMBDAS)
rotation, _ = np.linalg.qr(rng.standard_normal((D, D)))  # a random orthogonal matrix
white = rng.standard_normal((4000, D))
white -= white.mean(axis=0)
white = white @ np.linalg.inv(np.linalg.cholesky(np.cov(white.T, bias=True))).T  # covariance I
x_linear = (white * np.sqrt(LAMBDAS)) @ rotation.T  # (N, D), covariance Q diag(lambda) Q^T
principal = x_linear @ rotation  # (N, D): each point's coordinate along each direction


def train_linear_vae(decoder_variance, steps=2000, batch_size=200, seed=0):
    """A linear VAE with the decoder's variance fixed, trained by Adam on x_linear."""
    model = minivae.VAE(D, hidden=(), latent_dim=D, likelihood="gaussian", dtype=np.float64,
                        seed=seed)
    model.decoder.logvar.data[...] = np.log(decoder_variance)  # log sigma_x^2, held fixed
    trained = [p for name, p in model.named_parameters() if name != "decoder.logvar"]
    optimizer = Adam(trained, lr=2e-2)
    noise, draw = CounterRNG(seed), np.random.default_rng(seed)
    for step in range(steps):
        if step == int(0.6 * steps):
            optimizer.lr = 2e-3  # smaller steps for the last 40%, to settle at the optimum
        batch = x_linear[draw.integers(0, len(x_linear), batch_size)]  # (B, D)
        loss = model.loss(batch, noise=noise).objective.mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return model


def exact_neg_log_likelihood(decoder_variance):
    """-log p(x) per point of the maximum-likelihood probabilistic PCA with this noise: its
    covariance has variance max(lambda_i, sigma_x^2) along direction i."""
    c = np.maximum(LAMBDAS, decoder_variance)
    return 0.5 * np.sum(np.log(2 * np.pi * c) + LAMBDAS / c)


def predicted(variance, mu_variance, direction):
    """Each unit's predicted Var_x(mu_u) and KL_u, from the lambda_i of the direction it takes,
    for the #{lambda_i > sigma_x^2} units of largest variance; 0 for the others (collapsed)."""
    used = np.zeros(D, bool)
    used[np.argsort(mu_variance)[::-1][:(LAMBDAS > variance).sum()]] = True
    lam = LAMBDAS[direction]
    return np.where(used, 1 - variance / lam, 0.0), np.where(used, np.log(lam / variance) / 2,
                                                             0.0), used


VARIANCES = (8.0, 2.83, 1.41, 0.71, 0.35)  # sigma_x^2, each between two of the lambdas
linear = {}
for variance in VARIANCES:
    model = train_linear_vae(variance)
    mu, kl_per_unit = evaluate.latent_statistics(model, x_linear)
    count, mu_variance = evaluate.active_units(mu)
    with minivae.no_grad():
        terms = model.loss(x_linear, noise=CounterRNG(evaluate.EVAL_SEED))
    neg_elbo = terms.recon.data + terms.kl.data  # (N,): one z per point
    correlation = np.abs(np.corrcoef(mu.T, principal.T)[:D, D:])  # (unit, direction)
    direction = correlation.argmax(axis=1)  # (D,): the direction each unit follows best
    run = dict(active=count, mu_variance=mu_variance, kl=kl_per_unit, direction=direction,
               alignment=correlation.max(axis=1), neg_elbo=neg_elbo.mean(),
               stderr=neg_elbo.std() / np.sqrt(len(mu)), exact=exact_neg_log_likelihood(variance))
    run["predicted_variance"], run["predicted_kl"], run["used"] = predicted(
        variance, mu_variance, direction)
    linear[variance] = run
    print(f"sigma_x^2 = {variance:4.2f}: {count} active units (lambda_i > sigma_x^2: "
          f"{(LAMBDAS > variance).sum()}); -ELBO {run['neg_elbo']:.3f} +- {run['stderr']:.3f}, "
          f"exact -log p(x) {run['exact']:.3f}")

# %% [markdown]
# Each active unit's $\mu_u$ is one principal coordinate of $x$ (its correlation with it is
# printed below, and asserted above 0.95), so each unit can be matched with its direction $i$
# and its $\lambda_i$. The staircase on the left is $\#\{i : \lambda_i > \sigma_x^2\}$, the
# number of units the theory uses; the other two panels put every unit of every run against
# its prediction (0 for a unit that takes no direction).

# %%
figure, (left, middle, right) = plt.subplots(1, 3, figsize=(15, 4.4), layout="constrained")
grid = np.geomspace(0.1, 16, 400)
left.step(grid, [(LAMBDAS > v).sum() for v in grid], where="post", color="gray",
          label=r"theory: $\#\{i : \lambda_i > \sigma_x^2\}$")
for value in LAMBDAS:
    left.axvline(value, color="gray", lw=0.5, linestyle=":")
left.plot(VARIANCES, [linear[v]["active"] for v in VARIANCES], "o", color="C3", ms=8,
          label="trained: active units")
left.set_xscale("log")
left.set_xlabel(r"the decoder's variance $\sigma_x^2$ (dotted: the $\lambda_i$)")
left.set_ylabel("active units (of 6)")
left.set_title("Active units against the decoder's noise")
left.legend(fontsize=8)
for variance, run in linear.items():
    colour = plt.cm.viridis(np.log(variance / 0.3) / np.log(30))
    middle.plot(run["predicted_variance"], run["mu_variance"], "o", color=colour,
                label=rf"$\sigma_x^2 = {variance}$")
    right.plot(run["predicted_kl"], run["kl"], "o", color=colour)
for panel, top in ((middle, 1.0), (right, 1.3)):
    panel.plot([0, top], [0, top], color="gray", lw=1)
middle.set_xlabel(r"predicted $1 - \sigma_x^2 / \lambda_i$")
middle.set_ylabel(r"$\mathrm{Var}_x(\mu_u)$")
middle.set_title("Each unit's variance of the mean code")
middle.legend(fontsize=8)
right.set_xlabel(r"predicted $\frac{1}{2} \log(\lambda_i / \sigma_x^2)$, nats")
right.set_ylabel(r"$\mathrm{KL}_u$, nats")
right.set_title("Each unit's KL")
plt.show()

runs = linear.values()
alignment = min(run["alignment"][run["used"]].min(initial=1.0) for run in runs)
worst_variance = max(np.abs(run["mu_variance"] - run["predicted_variance"]).max() for run in runs)
worst_kl = max(np.abs(run["kl"] - run["predicted_kl"]).max() for run in runs)
print(f"each active unit's |correlation| with its principal coordinate: at least {alignment:.3f}; "
      f"largest difference from the prediction: Var_x(mu_u) {worst_variance:.3f}, KL_u "
      f"{worst_kl:.3f} nats")
for variance, run in linear.items():
    assert run["active"] == (LAMBDAS > variance).sum()
    assert np.all(np.sort(run["direction"][run["used"]]) == np.arange(run["used"].sum()))
    assert abs(run["neg_elbo"] - run["exact"]) < 3 * run["stderr"]
assert alignment > 0.95 and worst_variance < 0.1 and worst_kl < 0.05

# %% [markdown]
# The trained models use exactly the units the theory says (asserted for each $\sigma_x^2$):
# at $\sigma_x^2 = 0.71$ three, those of $\lambda = 4, 2, 1$, and the one of $\lambda = 4$ has
# $\operatorname{Var}_x(\mu_u)$ near $1 - 0.71/4 = 0.82$. Every unit's variance and KL lie on
# the predictions, within 0.1 (the variance) and 0.05 nats (the KL; both asserted), and the
# active units take the directions of the largest $\lambda_i$ (asserted). At $\sigma_x^2 = 8$,
# above every $\lambda_i$, all six units collapse.
#
# And the bound is tight: each model's $-\mathrm{ELBO}$ equals the exact $-\log p(x)$ of the
# maximum-likelihood probabilistic PCA, within 3 standard errors of its one-sample estimate
# (asserted, printed above). So the collapse here is no failure of the optimizer, nor a loose
# bound: it is what maximum likelihood does. A direction whose variance is below the decoder's
# noise is explained as noise by the best model of this family, and a code for it would cost
# KL and buy nothing. What decides how many units are used is the decoder's noise against the
# data's variances. Every decoder makes that trade: one that explains more of $x$ on its own
# (here a larger $\sigma_x^2$; in other models a decoder that predicts each pixel from the
# others, as autoregressive decoders do) leaves less for the code to carry.
#
# ## Collapse early in training, and KL warm-up
#
# Now a sprites VAE like notebook 7's, with $L = 16$ latent units, a deep decoder (16-256-256-784)
# and the Bernoulli likelihood, trained for six epochs on 10,000 sprites. Its collapse has a
# second cause, in the optimization: the KL term pulls every $q(z \mid x)$ towards the prior
# from the first step, while the reconstruction term rewards a code only once the decoder has
# learned to read it. A decoder that does well early without reading the code makes that
# worse; a deep one learns the average sprite quickly.
#
# KL warm-up (Bowman et al., 2016; Sønderby et al., 2016) lets the codes get established
# first: $\beta$ rises linearly from 0 over the first epochs,
#
# $$
# \beta_t = \beta \min(1, t / T), \qquad t \text{ the optimizer step},\ T \text{ the steps of the
# warm-up epochs}
# $$
#
# (`TrainConfig.warmup_epochs`, `Trainer.beta_at`), so early on the model is an almost free
# autoencoder. Each epoch we record the test KL, the units in use (KL above 0.1 nats) and the
# test $-\mathrm{ELBO}$, for the deep decoder without and with a warm-up of three epochs, each
# from three seeds, and a shallow decoder (16-256-784) without.

# %%
SEEDS = (0, 1, 2)


def train_sprites(name, seed, hidden=(256, 256), **remedy):
    """A sprites VAE (L = 16, 6 epochs, 10,000 examples); `.history` per epoch: beta at its end,
    test KL, units with KL above 0.1 nats, test -ELBO, test reconstruction loss."""
    config = TrainConfig(dataset="sprites", limit=10_000, epochs=6, hidden=hidden, latent_dim=16,
                         seed=seed, out=os.path.join(RUNS.name, f"{name}-{seed}"), **remedy)
    history = []
    with Trainer(config, log=lambda line: None) as run:
        while run.epoch < config.epochs:
            row = run.run_epoch()
            _, kl_per_unit = evaluate.latent_statistics(run.model, run.test_x)
            history.append((row["beta"], row["test_kl"], int((kl_per_unit > 0.1).sum()),
                            row["test_neg_elbo"], row["test_recon"]))
    run.history = np.array(history)  # (epochs, 5)
    return run


REMEDIES = {"no remedy": {}, "warm-up": {"warmup_epochs": 3.0}}
sprites_runs = {(remedy, seed): train_sprites(remedy, seed, **options)
                for remedy, options in REMEDIES.items() for seed in SEEDS}
shallow = train_sprites("shallow", 0, hidden=(256,)).history
for (remedy, seed), run in sprites_runs.items():
    print(f"{remedy:9s} seed {seed}: test KL by epoch {np.round(run.history[:, 1], 1)}, units in "
          f"use {run.history[:, 2].astype(int)}, -ELBO {np.round(run.history[:, 3], 1)}")
print(f"shallow   seed 0: test KL by epoch {np.round(shallow[:, 1], 1)}, units in use "
      f"{shallow[:, 2].astype(int)}, -ELBO {np.round(shallow[:, 3], 1)}")

# %%
figure, (left, middle, right) = plt.subplots(1, 3, figsize=(15, 4.3), layout="constrained")
epochs = np.arange(1, 7)
styles = {"no remedy": "C0", "warm-up": "C1"}
for (remedy, seed), run in sprites_runs.items():
    label = f"deep, {remedy}" if seed == 0 else None
    width = 2 if seed == 0 else 0.8
    for panel, column in ((left, 1), (middle, 2), (right, 3)):
        panel.plot(epochs, run.history[:, column], "o-" if seed == 0 else "-",
                   color=styles[remedy], lw=width, ms=4, label=label)
for panel, column in ((left, 1), (middle, 2), (right, 3)):
    panel.plot(epochs, shallow[:, column], "o-", color="C2", lw=2, ms=4,
               label="shallow, no remedy")
schedule = left.twinx()
schedule.plot(epochs, sprites_runs["warm-up", 0].history[:, 0], "k:",
              label=r"$\beta$ with warm-up (right axis)")
schedule.set_ylabel(r"$\beta$ at the end of the epoch")
schedule.set_ylim(0, 1.1)
left.set_xlabel("epoch")
left.set_ylabel("test KL, nats per example")
left.set_title("The KL")
lines = left.get_legend_handles_labels()
beta_line = schedule.get_legend_handles_labels()
left.legend(lines[0] + beta_line[0], lines[1] + beta_line[1], loc="lower right", fontsize=8)
middle.set_xlabel("epoch")
middle.set_ylabel("latent units with KL > 0.1 nats (of 16)")
middle.set_title("Units in use")
right.set_xlabel("epoch")
right.set_ylabel(r"test $-\mathrm{ELBO}$, nats per example")
right.set_yscale("log")
right.set_title(r"The $-\mathrm{ELBO}$ (log scale)")
figure.suptitle("Deep decoder (thick: seed 0; thin: seeds 1 and 2) and shallow decoder (seed 0)")
plt.show()

for seed in SEEDS:
    none, warm = sprites_runs["no remedy", seed].history, sprites_runs["warm-up", seed].history
    assert none[0, 1] < 2 and none[0, 2] <= 6  # deep, no warm-up: nearly collapsed at epoch 1
    assert warm[0, 1] > 2 * none[0, 1] and warm[0, 2] >= 12  # warm-up: in use from epoch 1
    assert np.all(warm[1:3, 3] < none[1:3, 3] - 1)  # warm-up ahead at epochs 2 and 3 ...
    assert abs(warm[-1, 3] - none[-1, 3]) < 2.5  # ... and level by the end
    assert abs(warm[-1, 1] - none[-1, 1]) < 1.5 and abs(warm[-1, 2] - none[-1, 2]) <= 3
first = sprites_runs["no remedy", 0].history
assert shallow[0, 1] > 4 * first[0, 1] and shallow[0, 2] >= 12  # shallow: in use at once

# %% [markdown]
# After the first epoch the deep decoder without warm-up has almost every unit collapsed (a KL
# under 2 nats, at most 6 units in use, asserted for each seed), while the shallow decoder,
# trained the same way, already uses nearly all 16 with several times the KL: the deeper
# decoder does make the early collapse worse. With warm-up the deep model has at least 12
# units in use from the first epoch. The run without warm-up climbs out as its decoder learns
# to read the code: its $-\mathrm{ELBO}$ trails the warm-up run's at epochs 2 and 3 (by more
# than a nat, in each seed), and by epoch 6 the two end within a few nats of each other, with
# KLs within 1.5 nats and as many units in use, give or take three (all asserted). (At epoch 1
# the warm-up run's $-\mathrm{ELBO}$ is no better: it was trained with $\beta < 1$, on another
# objective.) With this decoder the collapse is temporary, and warm-up only gives the model a
# faster start.
#
# ## Free bits: a floor on each unit's KL
#
# Warm-up is over after a few epochs. Free bits (Kingma et al., 2016) change the objective for
# the whole run instead: each unit gets $\lambda$ nats of KL for nothing. With
# $\mathrm{KL}_{bj} = \frac12(\mu_{bj}^2 + \sigma_{bj}^2 - 1 - \mathrm{logvar}_{bj})$ the KL of
# example $b$ in unit $j$, and $\overline{\mathrm{KL}}_j$ its mean over the batch of $B$
# examples, the KL term of a batch becomes
#
# $$
# \sum_{j=1}^{L} \max\big(\lambda,\ \overline{\mathrm{KL}}_j\big),
# \qquad
# \overline{\mathrm{KL}}_j = \frac1B \sum_{b=1}^{B} \mathrm{KL}_{bj}.
# $$
#
# (This $\lambda$, without an index, is the floor, in nats; it has nothing to do with the
# principal variances $\lambda_i$ of the linear VAE.) Below the floor a unit's term is the
# constant $\lambda$: nothing pulls its code back to the prior until it carries more than
# $\lambda$ nats, on average over the batch. The floor is on the batch mean, unit by unit, not
# on each example, and not on the total. The reported KL and the ELBO stay the true ones; only
# what training minimizes changes (`TrainConfig.free_bits`, `--free-bits`,
# `VAE.loss(x, free_bits=...)`).
#
# ### Exercise 10: the free-bits KL and its backward pass
#
# minivae's ops return one number per example, so that the loss can average over the batch
# (notebook 5). Write the free-bits term that way: `free_bits_kl(mu, logvar, floor)` returns
# each example's share $\mathrm{kl}_b$, shape (B,), whose mean over the batch is the sum above;
# `free_bits_backward(g, mu, logvar, floor)` returns $(\partial L / \partial \mu,
# \partial L / \partial\, \mathrm{logvar})$, each (B, L), given $g_b = \partial L / \partial
# \mathrm{kl}_b$, shape (B,). `floor` is $\lambda$, in nats. Derive both first: which units'
# terms does $\mathrm{kl}_b$ hold, and what does a unit below the floor contribute to it and
# to the gradient? (Notebook 1's KL gradient is the rest.)
#
# <details><summary>Hint</summary>
#
# With $m_j = 1[\overline{\mathrm{KL}}_j > \lambda]$, one flag per unit (the mean is over the
# examples, axis 0):
#
# $$
# \mathrm{kl}_b = \sum_j \big(m_j\, \mathrm{KL}_{bj} + (1 - m_j)\, \lambda\big),
# \qquad
# \frac{\partial L}{\partial \mu_{bj}} = g_b\, m_j\, \mu_{bj},
# \qquad
# \frac{\partial L}{\partial\, \mathrm{logvar}_{bj}} = g_b\, m_j\, \frac{\sigma_{bj}^2 - 1}{2}.
# $$
#
# Its mean over the batch is $\sum_j \max(\lambda, \overline{\mathrm{KL}}_j)$. The flags are
# treated as constants: away from the floor they do not change under a small step.
#
# </details>
#
# The check compares both with minivae's `ops.free_bits_kl` and its backward pass on batches
# whose floor lies away from every unit's $\overline{\mathrm{KL}}_j$ (at the floor the
# derivative jumps, and a finite difference across it means nothing), then runs
# `minivae.gradcheck` with your backward pass.


# %%
# The check calls free_bits_kl(mu, logvar, floor) and free_bits_backward(g, mu, logvar, floor).
def free_bits_kl(mu, logvar, floor):
    """Each example's free-bits KL, kl_b: (B, L) -> (B,), floor in nats."""
    # YOUR CODE HERE
    raise NotImplementedError()


def free_bits_backward(g, mu, logvar, floor):
    """(dL/dmu, dL/dlogvar), (B, L) each, given g = dL/dkl_b (B,)."""
    # YOUR CODE HERE
    raise NotImplementedError()


# %%
minivae.course.check_free_bits(free_bits_kl, free_bits_backward)

# %% [markdown]
# ## No remedy, warm-up and free bits, over three seeds
#
# The same deep sprites VAE, trained a third way: with free bits of $\lambda = 0.5$ nats per
# unit (`TrainConfig(free_bits=0.5)`), from the same three seeds.
#
# **Predict first:** after six epochs, which of the three ends with the best test
# $-\mathrm{ELBO}$? Which has the most units in use?

# %%
sprites_runs.update({("free bits", seed): train_sprites("free-bits", seed, free_bits=0.5)
                     for seed in SEEDS})
REMEDIES = ("no remedy", "warm-up", "free bits")


def reconstruction_without_each_unit(model, x, mu):
    """For each unit u: the mean -log p(x|z) over x with z = mu(x) except z_u = 0 (the prior's
    mean), less that with z = mu(x): how much the decoder loses without the unit, nats (L,)."""
    def reconstruction(z):
        with minivae.no_grad():
            return float(model.decoder.nll(model.decode(z), x).data.mean())

    unit = np.arange(mu.shape[1])  # (L,)
    full = reconstruction(mu)
    return np.array([reconstruction(np.where(unit == u, 0, mu)) - full for u in unit])


units = {}
x_test = sprites_runs["no remedy", 0].test_x  # (2000, 784)
for key, run in sprites_runs.items():
    mu, kl_per_unit = evaluate.latent_statistics(run.model, x_test)
    active, mu_variance = evaluate.active_units(mu)
    lost = reconstruction_without_each_unit(run.model, x_test, mu)
    units[key] = dict(mu_variance=mu_variance, kl=kl_per_unit, lost=lost, active=active,
                      in_use=int((kl_per_unit > 0.1).sum()), needed=int((lost > 1).sum()))
    _, test_kl, _, neg_elbo, recon = run.history[-1]
    print(f"{key[0]:9s} seed {key[1]}: test -ELBO {neg_elbo:.2f} = recon {recon:.2f} + KL "
          f"{test_kl:.2f}; units active {active:2d}, in use {units[key]['in_use']:2d}, needed "
          f"{units[key]['needed']} (of 16)")

# %% [markdown]
# Besides the two counts, a third: the units the decoder **needs**, those without which it
# reconstructs the test set worse by more than a nat: set $z_u = 0$, the prior's mean, for
# every input, decode, and compare the reconstruction loss $-\log p(x \mid z)$ with that at
# $z = \mu(x)$ (`reconstruction_without_each_unit`).

# %%
COUNTS = {"active": ("o", r"active: $\mathrm{Var}_x(\mu_u) > 0.01$"),
          "in_use": ("s", "in use: KL > 0.1 nats"),
          "needed": ("^", "needed: the decoder loses > 1 nat without it")}
figure, (left, right) = plt.subplots(1, 2, figsize=(13, 4.5), layout="constrained")
for position, remedy in enumerate(REMEDIES):
    for seed in SEEDS:
        colour, shift = f"C{position}", 0.06 * (seed - 1)
        left.plot(position + shift, sprites_runs[remedy, seed].history[-1, 3], "o", color=colour)
        for offset, (count, (marker, label)) in zip((-0.25, 0, 0.25), COUNTS.items(),
                                                    strict=True):
            right.plot(position + offset + shift, units[remedy, seed][count], marker,
                       color=colour, markerfacecolor="none" if count != "active" else colour,
                       label=label if (position, seed) == (0, 0) else None)
for panel in (left, right):
    panel.set_xticks(range(len(REMEDIES)), REMEDIES)
    panel.set_xlim(-0.5, len(REMEDIES) - 0.5)
left.set_ylabel(r"test $-\mathrm{ELBO}$ after 6 epochs, nats")
left.set_title(r"The $-\mathrm{ELBO}$, one point per seed")
right.set_ylabel("units, of 16")
right.set_ylim(0, 21.5)
right.set_yticks(range(0, 17, 2))
right.set_title("Units counted three ways, one point per seed")
right.legend(fontsize=8, loc="upper center")
plt.show()

final = {key: run.history[-1] for key, run in sprites_runs.items()}  # beta, KL, units, -ELBO, recon
for seed in SEEDS:
    none, warm, floor = (final[remedy, seed] for remedy in REMEDIES)
    assert abs(warm[3] - none[3]) < 2  # warm-up: level with no remedy by the end
    assert floor[3] > none[3] + 1.5  # free bits: a worse -ELBO ...
    assert floor[1] > none[1] + 1.5  # ... and more KL
    assert units["free bits", seed]["in_use"] == 16
    for remedy in ("no remedy", "warm-up"):
        assert units[remedy, seed]["in_use"] <= 10
        assert units[remedy, seed]["active"] >= units[remedy, seed]["in_use"] + 2
recon_change = np.mean([final["free bits", seed][4] - final["no remedy", seed][4]
                        for seed in SEEDS])
print(f"free bits against no remedy, mean over the seeds: reconstruction {recon_change:+.2f} nats")
assert recon_change > -0.5  # no better
assert all(2 <= counts["needed"] <= 8 for counts in units.values())

# %% [markdown]
# By the end, warm-up has changed little: its $-\mathrm{ELBO}$ is within 2 nats of no remedy's
# in each seed (asserted), with as few units in use. Free bits keep all 16 units in use in
# every seed (asserted), and pay for it: a $-\mathrm{ELBO}$ worse by more than 1.5 nats in each
# seed, for a KL higher by more than 1.5 nats in each seed and a reconstruction no better
# (on average over the seeds, not better by even half a nat; all asserted). The units the
# decoder needs number between 2 and 8 in every run, whichever way it was trained (asserted):
# free bits do not give it more to work with.
#
# And the two usual counts disagree: in every run without free bits at least two more units
# are active, by the variance of their mean code, than are in use by their KL (asserted). To
# see why, here is every unit of the nine runs: its $\operatorname{Var}_x(\mu_u)$, its KL, and
# what the decoder loses without it.

# %%
figure, (left, right) = plt.subplots(1, 2, figsize=(13, 5), layout="constrained")
for position, remedy in enumerate(REMEDIES):
    variances, kls, lost = (np.concatenate([units[remedy, seed][name] for seed in SEEDS])
                            for name in ("mu_variance", "kl", "lost"))
    left.scatter(variances, kls, s=18, alpha=0.7, color=f"C{position}", label=remedy)
    right.scatter(kls, np.maximum(lost, 1e-3), s=18, alpha=0.7, color=f"C{position}",
                  label=remedy)
left.axvline(evaluate.ACTIVE_UNIT_THRESHOLD, color="gray", lw=1, linestyle="--")
left.axhline(0.1, color="gray", lw=1, linestyle=":")
right.axvline(0.1, color="gray", lw=1, linestyle=":")
right.axvline(0.5, color="C2", lw=1, linestyle="--")
for panel in (left, right):
    panel.set_xscale("log")
    panel.set_yscale("log")
    panel.legend(fontsize=8)
left.set_xlabel(r"$\mathrm{Var}_x(\mu_u)$ (dashed: the active-unit threshold 0.01)")
left.set_ylabel(r"$\mathrm{KL}_u$, nats (dotted: 0.1)")
left.set_title("Every unit of the nine runs")
right.set_xlabel(r"$\mathrm{KL}_u$, nats (dotted: 0.1; dashed: the floor $\lambda = 0.5$)")
right.set_ylabel("what the decoder loses without the unit, nats")
right.set_title(r"What each unit's KL buys (losses under $10^{-3}$, some below 0, at $10^{-3}$)",
                fontsize=10)
plt.show()


def ranks(values):
    return np.argsort(np.argsort(values))


plain = [key for key in units if key[0] != "free bits"]
variances, kls, lost = (np.concatenate([units[key][name] for key in plain])
                        for name in ("mu_variance", "kl", "lost"))
between = (variances > evaluate.ACTIVE_UNIT_THRESHOLD) & (kls < 0.1)  # active, not in use
rank_correlation = np.corrcoef(ranks(variances), ranks(kls))[0, 1]
at_floor = np.concatenate([np.abs(units["free bits", seed]["kl"] - 0.5) < 0.1 for seed in SEEDS])
floor_lost = np.concatenate([units["free bits", seed]["lost"] for seed in SEEDS])[at_floor]
print(f"without free bits: rank correlation of a unit's variance and its KL "
      f"{rank_correlation:.3f}; {between.sum()} units active but not in use, whose KL is at "
      f"most {kls[between].max():.3f} nats and without which the decoder loses at most "
      f"{lost[between].max():.2f} nats")
print(f"free bits: {at_floor.sum()} of {at_floor.size} units within 0.1 nats of the floor; the "
      f"decoder loses {np.median(floor_lost):.2f} nats without one of them (the median; at "
      f"most {floor_lost.max():.2f})")
assert rank_correlation > 0.9
assert between.sum() >= 9 and lost[between].max() < 0.2
assert at_floor.sum() >= 24 and floor_lost.max() < 1.5

# %% [markdown]
# Without free bits the units lie along one rising curve (left): the more a unit's mean code
# varies with the input, the more KL it costs (their rank correlation is above 0.9, asserted).
# There is no gap between collapsed units and used ones, so where to draw the line is a choice,
# and the two thresholds choose differently. The units between them, active by their variance
# but under 0.1 nats of KL, carry almost nothing: the decoder loses under 0.2 nats without any
# of them (asserted). After six epochs they are still drifting towards the prior; the variance
# threshold was chosen for models trained to convergence, where a collapsed unit's
# $\operatorname{Var}_x(\mu_u)$ is far below 0.01. So "active" says that a unit's code still
# moves, and the KL how many nats it carries; what the decoder makes of them (right) rises
# with the KL, steeply above about half a nat.
#
# Free bits move most units to the floor: at least 24 of their 48 units sit within 0.1 nats
# of $\lambda = 0.5$ (asserted). Those nats cost nothing in the objective, so the encoder
# spends them, and the decoder uses each of them a little (the median loss without one is
# printed above) and never much: it loses under 1.5 nats without any one of them (asserted).
# Together they add nothing: the reconstruction is no better than without free bits, so what
# they hold, the other units held already, or the decoder could do without. "In use" by the KL
# is, under free bits, a property of the objective: the floor puts the nats there, and the
# $-\mathrm{ELBO}$ pays for them.
#
# ## What depends on the data
#
# The sprites are made from five factors (shape, scale, rotation, x and y), and this decoder
# sees nothing but the code: each pixel's probability is a function of $z$ alone, so with every
# unit collapsed it could draw only one image for every input. So the model keeps a handful of
# units in use, and the surplus units of a 16-unit model collapse because nothing is left for
# them to carry that is worth its KL, as the directions below the noise collapsed in the linear
# VAE: there the collapse was the optimum itself. The remedies cannot create information the
# model has no use for: warm-up only speeds the start, and the extra nats of free bits buy no
# reconstruction. These measurements hold for this data, this decoder and six epochs; the
# linear VAE's follow from a theory that holds for any data whose principal variances are known.
#
# Where collapse is a failure, it looks different: a decoder strong enough to model $x$ without
# any code (an autoregressive decoder of text or of pixels, which predicts each part of $x$ from
# the parts before it) can reach a good likelihood with every unit collapsed, so the code
# carries nothing though the data has factors to carry. That is where free bits and warm-up
# earn their cost (Bowman et al., 2016; Kingma et al., 2016), and where the ELBO alone does not
# tell whether the code is used: watch each unit's KL, and what the decoder loses without it.
