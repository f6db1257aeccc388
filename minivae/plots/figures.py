"""The figures of a trained run, drawn from a model (just trained, or read back with
`minivae.training.run_dir.load_run`) into its run directory.

What each figure shows (all from the test set, so nothing is cherry-picked from training data):
curves.png           -ELBO (train and test), reconstruction and KL per epoch
reconstructions.png  inputs above E[x|z] at z = mu(x)
samples.png          E[x|z] for z ~ N(0, I): what the model generates (for an autoencoder: what
                     its decoder makes of prior draws it was never trained to decode)
latent.png           the codes mu(x) coloured by class (or by a generating factor); the first two
                     principal components when the latent has more than two dimensions
latent-<factor>.png  for datasets with known generating factors, one scatter per factor
manifold.png         a 2-D latent only: the decoder over a regular grid of z in [-3, 3]^2
interpolations.png   decodings along the straight line between the codes of two test inputs
                     (one row per pair of test inputs, up to six; none with a single input)
traversals.png       one latent dimension varied over [-3, 3], the others held at one code;
                     the dimensions with the largest KL (the ones in use) first
points.png           2-D toy datasets: the test points beside the model's samples
"""

import os

import numpy as np

from minivae import backend, plots
from minivae.engine.function import no_grad
from minivae.rng import CounterRNG
from minivae.training.evaluate import latent_statistics
from minivae.training.run_dir import read_metrics

SCATTER_POINTS = 5000
RECONSTRUCTIONS = 30  # test inputs shown with their reconstructions (fewer if fewer exist)
INTERPOLATION_PAIRS = 6  # rows of interpolations, each between two test codes
TRAVERSAL_DIMS = 8
TRAVERSAL_VALUES = np.linspace(-3, 3, 9)


def decode_mean(model, z):
    """E[x|z] as a NumPy array, z (N, L)."""
    with no_grad():
        z = model.xp.asarray(z, dtype=model.dtype)
        return backend.to_numpy(model.decoder.mean(model.decode(z)).data)


def codes(model, x, batch_size=1000):
    """model.code(x), mu(x) for a VAE and f(x) for an autoencoder: (N, L) NumPy array."""
    batches = [model.code(x[i : i + batch_size]) for i in range(0, len(x), batch_size)]
    return np.concatenate([backend.to_numpy(b) for b in batches])  # (N, L)


def principal_plane(z):
    """z (N, L) projected on its first two principal components, and the variance each keeps.

    Codes with fewer than two components (one latent dimension, or one example) get zeros for
    the missing ones, so the plane is always (N, 2).
    """
    centred = z - z.mean(axis=0)
    _, singular, vt = np.linalg.svd(centred, full_matrices=False)
    kept = min(2, len(singular))
    plane, explained = np.zeros((len(z), 2)), np.zeros(2)
    plane[:, :kept] = centred @ vt[:kept].T  # (N, L) @ (L, kept) -> (N, kept)
    variance = singular**2
    explained[:kept] = variance[:kept] / max(variance.sum(), np.finfo(float).tiny)
    return plane, explained


def write_figures(run, run_dir):
    """Draw every figure that fits the run's model and data into run_dir; returns the paths.

    `run` is a SavedRun: read back with minivae.training.run_dir.load_run, or the run just trained.
    """
    model, test = run.model, run.test_set
    x = run.test_x
    path = lambda name: os.path.join(run_dir, name)  # noqa: E731
    written = []
    metrics = path("metrics.jsonl")  # none: a run stopped before its first epoch ended
    rows = read_metrics(metrics) if os.path.lexists(metrics) else []
    if rows:
        plots.curves(rows, path("curves.png"))
        written.append(path("curves.png"))
    is_vae = model.config["kind"] == "vae"
    latent = model.config["latent_dim"]
    if test.image_shape is None:  # 2-D points: as many model points as data points
        points, label = _model_points(model, len(x)) if is_vae else (
            backend.to_numpy(model.reconstruct(x)), "reconstructions")
        plots.points2d(x, points, path("points.png"), model_label=label)
        written.append(path("points.png"))
    else:
        prior = CounterRNG(0).normal(np, (64, latent), np.float64)
        written += _image_figures(model, x, test.image_shape, prior, is_vae, path)
    written += _latent_figures(model, x[:SCATTER_POINTS], test, path)
    return written


def _model_points(model, n):
    """n draws x ~ p(x|z), z ~ N(0, I): the decoder's mean plus its observation noise."""
    z = CounterRNG(0).normal(np, (n, model.config["latent_dim"]), np.float64)
    means = decode_mean(model, z)
    if model.config["likelihood"] != "gaussian":
        return means, "decoder means at z ~ N(0, I)"
    sigma = np.exp(0.5 * backend.to_numpy(model.decoder.logvar.data))  # (D,)
    noise = CounterRNG(1).normal(np, means.shape, np.float64)
    return means + sigma * noise, "samples x ~ p(x|z), z ~ N(0, I)"


def _image_figures(model, x, shape, prior, is_vae, path):
    def images(flat):  # (N, D) -> (N, H, W); a Gaussian decoder's mean may stray outside [0, 1]
        return np.clip(np.asarray(flat), 0, 1).reshape(-1, *shape)  # (N, D) -> (N, H, W)

    written = [path("reconstructions.png"), path("samples.png")]
    recons = backend.to_numpy(model.reconstruct(x[:RECONSTRUCTIONS]))
    plots.reconstructions(images(x[:RECONSTRUCTIONS]), images(recons), written[0])
    title = (
        "Samples from the prior, z ~ N(0, I)"
        if is_vae
        else ("Autoencoder decoder at z ~ N(0, I): it has no prior, so these are not samples")
    )
    plots.samples(images(decode_mean(model, prior)), written[1], title=title)
    pairs = min(INTERPOLATION_PAIRS, len(x) // 2)  # as many as the test examples allow
    if pairs:
        written.append(path("interpolations.png"))
        strips = [backend.to_numpy(model.interpolate(x[2 * i], x[2 * i + 1], 10))
                  for i in range(pairs)]
        plots.interpolations(np.stack([images(s) for s in strips]), written[-1])  # (P, 10, H, W)
    if is_vae:
        written.append(path("traversals.png"))
        _traversals(model, x, images, written[-1])
        if model.config["latent_dim"] == 2:
            written.append(path("manifold.png"))
            grid = np.linspace(-3, 3, 15)
            z1, z2 = np.meshgrid(grid, grid)  # row i: z2 = grid[i]; column j: z1 = grid[j]
            decoded = images(decode_mean(model, np.stack([z1.ravel(), z2.ravel()], axis=1)))
            grid_images = decoded.reshape(15, 15, *shape)  # (225, H, W) -> (15, 15, H, W)
            plots.manifold(grid_images, (-3, 3), written[-1])
    return written


def _traversals(model, x, images, path):
    mu, kl_per_dim = latent_statistics(model, x[:2000])
    dims = np.argsort(kl_per_dim)[::-1][:TRAVERSAL_DIMS]  # most informative first
    base = mu[0]
    rows = []
    for d in dims:
        z = np.repeat(base[None], len(TRAVERSAL_VALUES), axis=0)
        z[:, d] = TRAVERSAL_VALUES
        rows.append(images(decode_mean(model, z)))
    labels = [f"z{d + 1} (KL {kl_per_dim[d]:.1f})" for d in dims]
    plots.traversals(np.stack(rows), labels, TRAVERSAL_VALUES, path)  # (dims, values, H, W)


def _latent_figures(model, x, test, path):
    z = codes(model, x)
    if z.shape[1] == 2:
        plane, axis_labels, note = z, ("z1", "z2"), ""
    else:
        plane, explained = principal_plane(z)
        axis_labels = (f"PC1 ({explained[0]:.0%} of variance)", f"PC2 ({explained[1]:.0%})")
        dims = "one dim" if z.shape[1] == 1 else f"{z.shape[1]} dims"
        note = f"\n(the first two principal components of {dims})"  # a line of its own
    what = "mu(x)" if model.config["kind"] == "vae" else "z = f(x)"
    written = [path("latent.png")]
    labels = None if test.labels is None else test.labels[: len(x)]
    plots.latent_scatter(plane, written[0], colors=labels, color_label="class",
                         class_names=test.class_names,
                         title=f"Test codes {what}{note}", axis_labels=axis_labels)
    for k, name in enumerate(test.factor_names or []):
        written.append(path(f"latent-{name}.png"))
        plots.latent_scatter(plane, written[-1], colors=test.factors[: len(x), k],
                             color_label=name, title=f"Test codes {what} coloured by {name}{note}",
                             axis_labels=axis_labels)
    return written
