"""The exact p(x) and p(z|x) of a model with one latent dimension, by quadrature on a grid.

A VAE cannot compute the integral p(x) = int p(x|z) p(z) dz over a latent space of many
dimensions, and so not the posterior p(z|x) = p(x|z) p(z) / p(x) either: the encoder's q(z|x)
stands in for it, and the ELBO for log p(x). With one latent dimension the integral is a sum.
On G evenly spaced points z_1 < ... < z_G, dz apart, covering where the prior has its mass
(a Riemann sum, notebook 2):

    log p(x, z_g) = log p(x|z_g) + log p(z_g)                                    (N, G)
    log p(x) = log sum_g p(x, z_g) dz = logsumexp_g log p(x, z_g) + log dz          (N,)
    log p(z_g|x) = log p(x, z_g) - log p(x),   a density: sum_g p(z_g|x) dz = 1     (N, G)
    KL(q || p) = sum_g q(z_g) (log q(z_g) - log p(z_g)) dz                         (N,)

Everything stays in logs: p(x, z_g) itself underflows to 0 for an x far from the decoder's
curve (log p(x|z) = -5000, say), where its log is an ordinary number. With p(x|z) the Gaussian
decoder's N(x; mean(z), diag(exp(logvar))), `decoder_on_grid` gives mean(z_g) and logvar.
"""

import math

import numpy as np

from minivae import ops
from minivae.backend import to_numpy
from minivae.engine.function import no_grad
from minivae.engine.tensor import Tensor
from minivae.errors import ConfigError, ShapeError

LOG_2PI = math.log(2 * math.pi)


def spacing(z):
    """dz of a grid z (G,) of at least two evenly spaced, increasing points."""
    z = np.asarray(z, dtype=np.float64)
    if z.ndim != 1 or len(z) < 2:
        raise ShapeError(f"exact_posterior: the grid z has shape {z.shape}; give a 1-D array of "
                         "at least two points, e.g. np.linspace(-6, 6, 2401)")
    steps = np.diff(z)
    dz = (z[-1] - z[0]) / (len(z) - 1)
    if not (dz > 0 and np.allclose(steps, dz, rtol=1e-6, atol=0)):
        raise ShapeError(f"exact_posterior: the grid z must be evenly spaced and increasing (its "
                         f"steps run from {steps.min():.3g} to {steps.max():.3g}): make it with "
                         "np.linspace")
    return dz


def log_normal(z, mu, logvar):
    """log N(z; mu, exp(logvar)) = -1/2 (log 2 pi + logvar + (z - mu)^2 / exp(logvar)), elementwise
    (broadcast)."""
    return -0.5 * (LOG_2PI + logvar + (z - mu) ** 2 * np.exp(-logvar))


def log_joint(x, z, mean, logvar):
    """log p(x_n, z_g) = log N(x_n; mean_g, diag(exp(logvar))) + log N(z_g; 0, 1): (N, G).

    x (N, D) the examples; z (G,) the grid; mean (G, D) the decoder's mean at each z_g; logvar
    (D,) its log-variance. The likelihood is `ops.gaussian_nll`, the decoder's own.
    """
    x, mean = np.asarray(x, dtype=np.float64), np.asarray(mean, dtype=np.float64)
    spacing(z)
    n, g = len(x), len(z)
    if x.ndim != 2 or mean.shape != (g, x.shape[1]):
        raise ShapeError(f"exact_posterior.log_joint: x {x.shape} must be (N, D) and mean "
                         f"{mean.shape} (G, D) with G = {g} grid points")
    pairs = (n * g, x.shape[1])  # every (example, grid point) as one row: (N, G, D) -> (NG, D)
    x_rows = np.broadcast_to(x[:, None, :], (n, g, x.shape[1])).reshape(pairs)
    mean_rows = np.broadcast_to(mean[None], (n, g, x.shape[1])).reshape(pairs)
    with no_grad():
        nll = ops.gaussian_nll(Tensor(x_rows), Tensor(mean_rows), Tensor(np.asarray(logvar)))
    return -nll.data.reshape(n, g) + log_normal(np.asarray(z), 0.0, 0.0)  # (N, G)


def log_evidence(log_joint, z):
    """log p(x) = logsumexp_g log p(x, z_g) + log dz, per example: (N, G) -> (N,)."""
    with no_grad():
        return ops.logsumexp(Tensor(np.asarray(log_joint)), axis=1).data + math.log(spacing(z))


def log_posterior(log_joint, z):
    """log p(z_g|x) = log p(x, z_g) - log p(x): the log of a density on the grid, (N, G)."""
    return log_joint - log_evidence(log_joint, z)[:, None]


def kl_on_grid(log_q, log_p, z):
    """KL(q || p) = sum_g q(z_g) (log q(z_g) - log p(z_g)) dz per row: (N, G) -> (N,).

    Where q(z_g) underflows to 0 its term is 0 (q log q -> 0), whatever log p is there.
    """
    q = np.exp(log_q)
    log_ratio = np.where(q > 0, log_q - log_p, 0.0)  # (N, G)
    return (q * log_ratio).sum(axis=1) * spacing(z)


def decoder_on_grid(model, z):
    """(mean (G, D), logvar (D,)) of a Gaussian VAE's p(x|z) at each point of the grid z (G,).

    The model must have one latent dimension and the Gaussian likelihood; on the GPU, both
    come back to the CPU as NumPy arrays.
    """
    config = model.config
    if config["latent_dim"] != 1 or config["likelihood"] != "gaussian":
        raise ConfigError(f"exact_posterior: the model has latent_dim {config['latent_dim']} and "
                          f"likelihood {config['likelihood']!r}; the grid needs latent_dim=1 and "
                          "likelihood='gaussian'")
    spacing(z)
    with no_grad():
        mean = model.decode(model.xp.asarray(z, dtype=model.dtype)[:, None]).data  # (G, D)
    return (to_numpy(mean).astype(np.float64),
            to_numpy(model.decoder.logvar.data).astype(np.float64))
