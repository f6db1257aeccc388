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
# # 5. The latent space
#
# What does a VAE do with its codes z? Notebook 1 argued that encoding each x as a
# distribution q(z|x), pulled towards the prior N(0, I) by the KL term, makes the codes fill
# one region, so that a z drawn from the prior decodes to something plausible. Here we check
# that on trained models, against a deterministic autoencoder of the same size trained on the
# same data; then look inside: the decoder over the whole 2-D latent plane, interpolations,
# traversals of single latent dimensions against the sprites' known factors, the beta-VAE,
# posterior collapse and KL warm-up, and active units.

# %%
# %matplotlib inline
import os
import tempfile

import matplotlib.pyplot as plt
import numpy as np
from IPython.display import Image, display

import minivae
from minivae import plots
from minivae.data import load_dataset
from minivae.plots import figures
from minivae.training import evaluate
from minivae.training.trainer import TrainConfig, Trainer

RUNS = tempfile.TemporaryDirectory(prefix="minivae-notebook-5-")  # checkpoints and figures
rng = np.random.default_rng(0)


def show(draw, *arrays, **options):
    """Draw one of `minivae.plots`' figures (they write PNG files) and display it here."""
    path = os.path.join(RUNS.name, f"{draw.__name__}.png")
    draw(*arrays, path, **options)
    display(Image(filename=path))


def train_quietly(name, **options):
    """Train a model (hidden layer of 256 unless told); returns its Trainer, rows in `.rows`."""
    config = TrainConfig(**{"hidden": (256,), **options}, out=os.path.join(RUNS.name, name))
    run = Trainer(config, log=lambda line: None)
    run.rows = run.fit()
    last = run.rows[-1]
    kl = "" if last["test_kl"] is None else f", KL {last['test_kl']:.2f}"  # an autoencoder has none
    print(f"{name}: {config.epochs} epochs on {config.dataset}, test recon "
          f"{last['test_recon']:.2f}{kl} nats per example")
    return run


# %% [markdown]
# ## The autoencoder against the VAE
#
# Two models with the same encoder and decoder (784-256-2 and back) and a 2-dimensional latent
# space, so that the codes can be looked at directly. The autoencoder (`minivae.Autoencoder`)
# maps each x to one point z = f(x) and minimizes -log p(x|z) alone; the VAE encodes
# q(z|x) = N(mu(x), sigma(x)^2) and minimizes -ELBO = -log p(x|z) + KL(q(z|x) || p(z)).
#
# The data: Fashion-MNIST, whose ten classes of clothes make the structure of a latent space
# easy to see. Where it is not installed, this part runs on the sprites (and says so); the
# sprites, with their known factors, are used from the traversals on.

# %%
try:
    load_dataset("fashion-mnist", download=False)
    DATA = "fashion-mnist"
except minivae.MinivaeError:
    DATA = "sprites"
    print("NOTE: Fashion-MNIST is not installed here (apt-get install dataset-fashion-mnist, "
          "or set MINIVAE_DATA), so this part uses the sprites instead.")
pair = dict(dataset=DATA, latent_dim=2, epochs=5, limit=20_000)
autoencoder_run = train_quietly("autoencoder-2d", model="autoencoder", **pair)

# %%
vae_run = train_quietly("vae-2d", **pair)
test = vae_run.test_set
x_test, labels = vae_run.test_x[:2000], test.labels[:2000]  # (N, D) = (2000, 784), (N,)
codes = {"autoencoder": figures.codes(autoencoder_run.model, x_test),  # z = f(x), (N, 2)
         "VAE": figures.codes(vae_run.model, x_test)}  # mu(x), (N, 2)

# %% [markdown]
# To generate, each model needs a distribution to draw codes from. The VAE has one by
# construction, its prior N(0, I). The autoencoder has none, so we give it the fairest
# stand-in: the Gaussian with the mean and covariance of its own test codes. 500 random points
# from each; 200 of them drawn over the test codes (coloured by class):

# %%
random_points = {
    "autoencoder": rng.multivariate_normal(codes["autoencoder"].mean(axis=0),
                                           np.cov(codes["autoencoder"].T), 500),
    "VAE": rng.standard_normal((500, 2)),  # z ~ N(0, I)
}
titles = {"autoencoder": "Autoencoder: codes z = f(x); x: a Gaussian fit to them",
          "VAE": "VAE: codes mu(x); x: draws from the prior N(0, I)"}

figure, panels = plt.subplots(1, 2, figsize=(13, 5.6), layout="constrained")
for panel, name in zip(panels, codes, strict=True):
    for label, class_name in enumerate(test.class_names):
        points = codes[name][labels == label]
        panel.scatter(*points.T, s=4, alpha=0.7, color=plt.cm.tab10(label), label=class_name)
    panel.scatter(*random_points[name][:200].T, s=9, c="black", marker="x", linewidths=0.7,
                  alpha=0.8, label="random points (200 of 500)")
    panel.set_aspect("equal", adjustable="datalim")
    panel.set_xlabel("z1")
    panel.set_ylabel("z2")
    panel.set_title(titles[name], fontsize=10)
handles, names = panels[1].get_legend_handles_labels()
figure.legend(handles, names, fontsize=8, markerscale=2, loc="outside right upper")
plt.show()

# %% [markdown]
# The autoencoder puts each class where reconstruction wants it, at a scale of its own
# choosing (tens of units), with empty space between the groups; a Gaussian fit to its codes
# throws many points into that space. The VAE's codes are squeezed into the region the prior
# covers, radius about 3, with smaller gaps, though not none: here the centre, where the prior
# is densest, holds few codes. The KL pulls each q(z|x) towards N(0, I), but nothing forces
# the codes of all x together to fill it exactly.
#
# How many random points fall into a hole? Call a point "in a hole" when it is farther from
# every test code than 99% of the test codes are from their nearest neighbour: a rule that uses
# each model's own spacing, so the scale of its latent space does not matter.


# %%
def distances(points, codes):
    """Euclidean distances between each point (M, L) and each code (N, L): (M, N)."""
    return np.sqrt(((points[:, None, :] - codes[None, :, :]) ** 2).sum(axis=2))


def fraction_in_holes(points, codes):
    between_codes = distances(codes, codes)
    np.fill_diagonal(between_codes, np.inf)  # a code is not its own neighbour
    threshold = np.quantile(between_codes.min(axis=1), 0.99)
    return (distances(points, codes).min(axis=1) > threshold).mean()


holes = {name: fraction_in_holes(random_points[name], codes[name]) for name in codes}
for name, fraction in holes.items():
    print(f"{name}: {fraction:.0%} of the random points lie in holes")
assert holes["autoencoder"] > holes["VAE"]

# %% [markdown]
# What each decoder makes of its random points (the first 32 of each):

# %%
decoded = {name: figures.decode_mean(run.model, random_points[name][:32])
           for name, run in [("autoencoder", autoencoder_run), ("VAE", vae_run)]}
figure, panels = plt.subplots(1, 2, figsize=(13, 3.9), layout="constrained")
for panel, name in zip(panels, decoded, strict=True):
    grid = plots.tile_images(np.clip(decoded[name], 0, 1).reshape(-1, *test.image_shape), 8)
    panel.imshow(grid, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    panel.set_axis_off()
panels[0].set_title("Autoencoder: decoded random points (Gaussian fit to its codes)")
panels[1].set_title("VAE: decoded draws z ~ N(0, I), i.e. samples")
plt.show()

# %% [markdown]
# The autoencoder's decodings are sharp where a point lands among codes and faint smudges
# where it lands in a hole. The VAE's are blurrier (a 2-D code cannot say much, and the VAE
# pays for each nat it says) and include faint blends of two classes from the emptier centre,
# but each is some garment. Neither is a good generator with two latent dimensions; the
# difference is how much of the space each can decode at all.

# %% [markdown]
# ## The 2-D manifold
#
# With L = 2 the decoder can be drawn over a whole region of the plane: the image it decodes
# at each point of a 15 x 15 grid of z (`plots.manifold`). For the VAE, the square
# [-3, 3]^2, where the prior puts almost all its mass:


# %%
def decoder_grid(model, low, high, n=15):
    """Decodings of an n x n grid of z over [low, high]^2: (n, n, H, W), row i at z2 = v[i]."""
    values = np.linspace(low, high, n)
    z1, z2 = np.meshgrid(values, values)  # row i: z2 = values[i]; column j: z1 = values[j]
    images = figures.decode_mean(model, np.stack([z1.ravel(), z2.ravel()], axis=1))
    return np.clip(images, 0, 1).reshape(n, n, *test.image_shape)


show(plots.manifold, decoder_grid(vae_run.model, -3, 3), (-3, 3),
     title=f"VAE ({DATA}): the decoder over z in [-3, 3]^2")

# %% [markdown]
# Neighbouring cells decode to similar images, and one kind of garment turns gradually into
# the next all over the square; only the centre, which few codes visit, is faint. The
# autoencoder's decoder over the square that holds its codes (from their 1st to their 99th
# percentile) is another matter: the regions no code visits decode to what the decoder
# extrapolates there, saturated white shapes or faint smudges:

# %%
low, high = np.percentile(codes["autoencoder"], [1, 99])
show(plots.manifold, decoder_grid(autoencoder_run.model, low, high), (low, high),
     title=f"Autoencoder ({DATA}): the decoder over the square of its codes")

# %% [markdown]
# ## Interpolations
#
# Walk along the straight line from the code of one test image to the code of an image of
# another class, and decode each step. The same six pairs for both models:


# %%
def interpolation_strips(model, x, pairs, steps=10):
    """For each pair (i, j): decodings of `steps` points from the code of x[i] to x[j]."""
    z = figures.codes(model, x)
    t = np.linspace(0, 1, steps)[:, None]  # (S, 1)
    strips = [figures.decode_mean(model, (1 - t) * z[i] + t * z[j]) for i, j in pairs]
    return np.clip(np.stack(strips), 0, 1).reshape(len(pairs), steps, *test.image_shape)


def first_of_class(label, skip=0):
    """The index of the (skip+1)-th test image of class `label`."""
    return int(np.flatnonzero(labels == label % len(test.class_names))[skip])


pairs = [(first_of_class(a), first_of_class(b, skip=1))
         for a, b in [(9, 2), (1, 3), (7, 8), (0, 5), (4, 9), (6, 1)]]
show(plots.interpolations, interpolation_strips(vae_run.model, x_test, pairs),
     title="VAE: interpolations between the codes mu(x) of two test images")
show(plots.interpolations, interpolation_strips(autoencoder_run.model, x_test, pairs),
     title="Autoencoder: interpolations between codes z = f(x), same pairs")

# %% [markdown]
# On several paths the autoencoder's decodings fade to almost nothing halfway, where the line
# crosses a hole between classes. The VAE's fade less and pass through blurred blends of the
# two garments (they too dim where a path crosses its emptier centre).

# %% [markdown]
# ## Traversals and the sprites' true factors
#
# The sprites are made from known factors: shape (square, ellipse, triangle), scale, rotation
# and the position x, y. With a latent space of L = 8 the model has room to give factors
# dimensions of their own. Which dimension does what? Two ways to look: measure how each
# dimension of mu(x) correlates with each factor over the test set, and change one
# coordinate of a code and watch the decoding (a traversal). Besides scale, x and y we measure
# the area the shape covers, in pixels (the sum of x over its 784 pixels): at the same scale a
# square covers about twice the pixels of a triangle. Rotation is left out: a square, an
# ellipse and a triangle look the same after a quarter, half or third turn, so no code can be
# a linear function of the angle.
#
# Two VAEs: beta = 1 (the ELBO) and beta = 4, a beta-VAE (Higgins et al., 2017): the KL term
# weighs four times as much, so information in the code costs more (notebook 4). Each is
# trained from three seeds, because, as we will see, the seed matters.

# %%
SEEDS = (0, 1, 2)


def train_sprites_vae(beta, seed):
    return train_quietly(f"sprites-8d-beta-{beta}-seed-{seed}", dataset="sprites", latent_dim=8,
                         epochs=6, beta=beta, seed=seed)


vae_runs = {(1.0, seed): train_sprites_vae(1.0, seed) for seed in SEEDS}

# %%
vae_runs.update({(4.0, seed): train_sprites_vae(4.0, seed) for seed in SEEDS})
sprites = vae_runs[1.0, 0].test_set
x_sprites = vae_runs[1.0, 0].test_x  # (2000, 784)
FACTORS = ("scale", "area", "x", "y")
factor_values = np.column_stack([
    sprites.factors[:, sprites.factor_names.index("scale")],
    x_sprites.sum(axis=1),  # area: pixels covered
    sprites.factors[:, sprites.factor_names.index("x")],
    sprites.factors[:, sprites.factor_names.index("y")],
])  # (N, 4)


def latent_summary(run):
    """mu (N, L), the KL of each dimension (L,), |correlation| of each with each factor (L, 4)."""
    mu, kl_per_dim = evaluate.latent_statistics(run.model, x_sprites)
    latent = mu.shape[1]
    correlations = np.corrcoef(mu.T, factor_values.T)[:latent, latent:]
    return mu, kl_per_dim, np.abs(np.nan_to_num(correlations))


summaries = {key: latent_summary(run) for key, run in vae_runs.items()}

# %% [markdown]
# First, seed 0 of each. Each row of the heat maps is one latent dimension, the most
# informative (largest KL) first; each column a factor; each cell |corr(mu_u(x), factor)| over
# the 2,000 test sprites. A column with one bright cell is a factor with a dimension of its
# own; a column with several middling ones, a factor shared out between dimensions.

# %%
figure, panels = plt.subplots(1, 2, figsize=(10, 4.6), layout="constrained")
for panel, beta in zip(panels, (1.0, 4.0), strict=True):
    _, kl_per_dim, correlations = summaries[beta, 0]
    order = np.argsort(kl_per_dim)[::-1]
    image = panel.imshow(correlations[order], cmap="viridis", vmin=0, vmax=1)
    for row, dim in enumerate(order):
        for column, value in enumerate(correlations[dim]):
            panel.text(column, row, f"{value:.2f}", ha="center", va="center",
                       color="white" if value < 0.6 else "black")
    panel.set_xticks(range(len(FACTORS)), FACTORS)
    panel.set_yticks(range(len(order)), [f"z{d + 1} (KL {kl_per_dim[d]:.2f})" for d in order])
    panel.set_xlabel("factor of the sprite (area: pixels covered)")
    panel.set_ylabel("latent dimension (nats of KL)")
    panel.set_title(f"beta = {beta}, seed 0: |corr(mu_u, factor)|")
figure.colorbar(image, ax=panels, label="|correlation|", shrink=0.8)
plt.show()

# %% [markdown]
# Two questions, asked of all six run_dir. How much of each factor does the code hold, whatever
# the axes? The R^2 of the best linear read-out of the factor from mu(x) (least squares on all
# L dimensions). And how well is each factor given a dimension of its own? For each factor, how
# far its best dimension's |correlation| stands above the second best, averaged over the four
# factors: the separation.


# %%
def linear_r2(mu, values):
    """R^2 of the least-squares fit of each column of values (N, K) on mu (N, L) and 1: (K,)."""
    design = np.column_stack([mu, np.ones(len(mu))])  # (N, L + 1)
    coefficients, *_ = np.linalg.lstsq(design, values, rcond=None)
    residual = ((values - design @ coefficients) ** 2).sum(axis=0)
    return 1 - residual / ((values - values.mean(axis=0)) ** 2).sum(axis=0)


def separation(correlations):
    """Mean over factors of (best |correlation| - second best) across latent dimensions."""
    ranked = np.sort(correlations, axis=0)[::-1]  # each column high to low
    return float((ranked[0] - ranked[1]).mean())


separations = {}
print("                 R^2:  scale   area     x      y    separation")
for (beta, seed), (mu, _, correlations) in summaries.items():
    r2 = dict(zip(FACTORS, linear_r2(mu, factor_values), strict=True))
    separations[beta, seed] = separation(correlations)
    print(f"beta {beta}, seed {seed}:     " + "  ".join(f"{r2[f]:5.2f}" for f in FACTORS)
          + f"     {separations[beta, seed]:.2f}")
    assert r2["area"] > 0.9 and r2["x"] > 0.85 and r2["y"] > 0.85
    assert r2["scale"] < r2["area"]

spread = {beta: np.ptp([separations[beta, seed] for seed in SEEDS]) for beta in (1.0, 4.0)}
effect = abs(np.mean([separations[4.0, s] - separations[1.0, s] for s in SEEDS]))
print(f"separation, range over seeds: beta 1 {spread[1.0]:.2f}, beta 4 {spread[4.0]:.2f}; "
      f"mean difference between the betas {effect:.2f}")
assert min(spread.values()) > effect

# %% [markdown]
# Every run holds the position and the area almost entirely (R^2 above 0.9): the code
# measures how big a shape looks, which is its area, rather than its scale, which it can read
# only through the area (R^2 about 0.6). How those factors are laid out over the dimensions,
# though, changes from seed to seed more than from beta = 1 to beta = 4: the separation's
# range over the three seeds is several times the mean difference between the betas. The
# beta-VAE's extra pull towards the factorized prior is meant to favour one factor per
# dimension ("disentangling"), but with a few epochs on this data the seed decides at least
# as much as beta does. Locatello et al. (2019)
# found the same across many models and datasets: without supervision, disentanglement
# depends on the random seed and the hyperparameters at least as much as on the method.
#
# Traversals of the seed 0 beta-VAE: start from the code mu(x) of one test sprite, set one
# dimension in turn to each value from -3 to 3, and decode (`plots.traversals`). Each row is
# named by the factor its dimension correlates with best, when that correlation is above 0.5:


# %%
def traversal_images(model, base_code, dims, values):
    """Decodings with dimension d of base_code set to each value: (len(dims), S, H, W)."""
    rows = []
    for d in dims:
        z = np.repeat(base_code[None], len(values), axis=0)  # (S, L)
        z[:, d] = values
        rows.append(np.clip(figures.decode_mean(model, z), 0, 1).reshape(-1, *sprites.image_shape))
    return np.stack(rows)


def dimension_label(d, correlations):
    best = correlations[d].argmax()
    if correlations[d, best] > 0.5:
        return f"z{d + 1}: {FACTORS[best]} (|r| {correlations[d, best]:.2f})"
    return f"z{d + 1}: no single factor"


mu, kl_per_dim, correlations = summaries[4.0, 0]
dims = np.argsort(kl_per_dim)[::-1][:5]
values = np.linspace(-3, 3, 9)
traversals = traversal_images(vae_runs[4.0, 0].model, mu[0], dims, values)
show(plots.traversals, traversals, [dimension_label(d, correlations) for d in dims], values,
     title="beta = 4, seed 0: one dimension varied at a time from one sprite's code")

# %% [markdown]
# A row named x or y moves the shape across or up and down, usually changing its size a
# little as well (the factors are not perfectly separated); a row named area or scale grows
# it. The weaker dimensions change its outline a little: shape and rotation, which no single
# linear factor describes. After six epochs the decoder draws every shape as a soft blob, so
# the shape itself is hard to see.
#
# ## Posterior collapse, and how KL warm-up helps
#
# A latent dimension whose q(z_u|x) equals the prior N(0, 1) for every x carries no
# information: its KL is 0, and the decoder learns to ignore it. This is posterior collapse,
# for one dimension or for all of them. It starts early in training: the KL term pulls every
# q(z|x) towards the prior from the first step, while the reconstruction term only rewards a
# code once the decoder has learned to read it. A deeper decoder (two hidden layers) makes it
# worse, because it learns slowly to use z and quickly to model the average image without it.
#
# KL warm-up (Bowman et al., 2016; Sonderby et al., 2016) lets the codes get established
# first: beta rises linearly from 0 over the first epochs,
#
#     beta_t = beta * min(1, t / T),   t the optimizer step, T the steps of the warm-up epochs
#
# (`TrainConfig.warmup_epochs`, `Trainer.beta_at`), so early on the model is an almost free
# autoencoder. Two runs, identical
# but for the warm-up, each with L = 16 and decoder 16-256-256-784, watched epoch by epoch:
# the test KL, and how many dimensions are in use (KL above 0.1 nats).

# %%
def train_watching_units(name, warmup_epochs):
    config = TrainConfig(dataset="sprites", limit=10_000, epochs=6, hidden=(256, 256),
                         latent_dim=16, warmup_epochs=warmup_epochs,
                         out=os.path.join(RUNS.name, name))
    run = Trainer(config, log=lambda line: None)
    history = []  # per epoch: (beta at its end, test KL, dimensions in use)
    while run.epoch < config.epochs:
        row = run.run_epoch()
        _, kl_per_dim = evaluate.latent_statistics(run.model, run.test_x)
        history.append((row["beta"], row["test_kl"], int((kl_per_dim > 0.1).sum())))
    return run, np.array(history)


collapse_runs = {"no warm-up": train_watching_units("deep-no-warmup", 0),
                 "warm-up over 3 epochs": train_watching_units("deep-warmup", 3)}
for name, (_, history) in collapse_runs.items():
    print(f"{name:22s} test KL by epoch {np.round(history[:, 1], 1)}, "
          f"dimensions in use {history[:, 2].astype(int)}")

# %%
figure, (left, right) = plt.subplots(1, 2, figsize=(12, 4.3), layout="constrained")
epochs = np.arange(1, 7)
for name, (_, history) in collapse_runs.items():
    left.plot(epochs, history[:, 1], "o-", label=name)
    right.plot(epochs, history[:, 2], "o-", label=name)
schedule = left.twinx()
schedule.plot(epochs, collapse_runs["warm-up over 3 epochs"][1][:, 0], "k:",
              label="beta with warm-up (right axis)")
schedule.set_ylabel("beta at the end of the epoch")
schedule.set_ylim(0, 1.1)
left.set_xlabel("epoch")
left.set_ylabel("test KL, nats per example")
left.set_title("The KL: without warm-up the codes start nearly collapsed")
lines = left.get_legend_handles_labels()
beta_line = schedule.get_legend_handles_labels()
left.legend(lines[0] + beta_line[0], lines[1] + beta_line[1], loc="lower right")
right.set_xlabel("epoch")
right.set_ylabel("latent dimensions with KL > 0.1 nats (of 16)")
right.set_title("Dimensions in use")
right.legend()
plt.show()

no_warmup, warmup = collapse_runs["no warm-up"][1], collapse_runs["warm-up over 3 epochs"][1]
assert no_warmup[0, 1] < warmup[0, 1] / 2 and no_warmup[0, 2] < warmup[0, 2]

# %% [markdown]
# Without warm-up, after the first epoch almost every dimension has collapsed and the code
# carries about a nat; the model climbs out of it over the next epochs, as the decoder learns
# to read the code. With warm-up nearly all 16 dimensions are in use from the first epoch; as
# beta reaches 1 the KL term prunes the ones the sprites do not need, and both runs end with
# a handful in use. With this decoder the collapse is temporary, so warm-up mainly gives the
# model a better start; with decoders strong enough to model x without any code
# (autoregressive decoders for text or pixels), collapse can be permanent, and warm-up is one
# of the remedies.
#
# ## Active units
#
# The usual count of dimensions in use (Burda et al., 2016; `evaluate.active_units`): a unit
# u is active when its mean code changes with the input, Var_x(mu_u(x)) > 0.01; a collapsed
# unit has mu_u(x) = 0 for every x. The KL of each unit (`evaluate.latent_statistics`) says
# the same in nats. Both, for every unit of the four sprites models of this notebook:

# %%
unit_models = {"L = 8, beta = 1": vae_runs[1.0, 0], "L = 8, beta = 4": vae_runs[4.0, 0],
               "L = 16, deep, no warm-up": collapse_runs["no warm-up"][0],
               "L = 16, deep, warm-up": collapse_runs["warm-up over 3 epochs"][0]}
figure, axes = plt.subplots(figsize=(8, 5.5))
in_use = {}
for (name, run), marker in zip(unit_models.items(), "osD^", strict=True):
    mu, kl_per_dim = evaluate.latent_statistics(run.model, x_sprites)
    active, variances = evaluate.active_units(mu)
    in_use[name] = int((kl_per_dim > 0.1).sum())
    print(f"{name:26s} active (variance): {active:2d}   KL above 0.1 nats: {in_use[name]:2d}"
          f"   of {len(kl_per_dim)}")
    axes.scatter(variances, kl_per_dim, marker=marker, alpha=0.8, label=name)
axes.axvline(evaluate.ACTIVE_UNIT_THRESHOLD, color="gray", lw=1, linestyle="--")
axes.axhline(0.1, color="gray", lw=1, linestyle=":")
axes.set_xscale("log")
axes.set_yscale("log")
axes.set_xlabel("Var_x(mu_u(x)) (dashed: the active-unit threshold 0.01)")
axes.set_ylabel("KL of the unit, nats (dotted: 0.1)")
axes.set_title("Every latent unit of four sprites VAEs: in use (top right) or collapsed")
axes.legend()
plt.show()
assert in_use["L = 8, beta = 4"] < in_use["L = 8, beta = 1"]

# %% [markdown]
# All units lie on one curve (a unit's KL grows with how much its mean code varies), in two
# groups with a gap between: those in use, with a KL from a quarter of a nat to two nats, and
# collapsed ones near the prior, at a few hundredths. The beta-VAE switches off the
# dimensions it cannot afford;
# the deep decoder, with 16 dimensions on offer, keeps only a few. Some collapsed units still
# sit just right of the 0.01 line: after a few epochs their mean codes are still drifting to 0
# (the variance threshold was chosen for trained-to-convergence models), and their KL tells
# them apart more clearly. Inactive units are not a failure as such: the sprites have only a
# few factors to encode, and a unit that would add less to the reconstruction than it costs
# in KL is better off at the prior.
