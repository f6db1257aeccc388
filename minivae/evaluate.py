"""One evaluation protocol for a trained VAE, every number in nats per example.

- test negative ELBO: mean over the test set of recon + KL, one z ~ q(z|x) per example
  (fixed evaluation noise, so two evaluations of the same model agree);
- -log p(x) estimated with the importance-weighted bound (IWAE, Burda et al. 2016) with k
  samples per example (k = 5000 by default): an upper bound on -log p(x) that tightens as k grows;
- the KL of each latent dimension, averaged over the test set, and the number of active units:
  dimension u is active when Var_x(E_q[z_u | x]) = Var_x(mu_u(x)) > 0.01 (Burda et al.), i.e.
  when its code changes with the input rather than collapsing to the prior.
Pixels are binarized as the run was trained (a fixed binarization of the test set for "static"
and "dynamic"; the [0, 1] intensities for "none").
"""

import numpy as np

from minivae import backend
from minivae.function import no_grad
from minivae.inputs import check_layout
from minivae.progress import ProgressBar
from minivae.rng import CounterRNG

ACTIVE_UNIT_THRESHOLD = 0.01
EVAL_SEED = 2**31 - 1  # the evaluation noise: the same draws at every evaluation


def mean_elbo_terms(model, x, beta=1.0, batch_size=1000):
    """Mean negative ELBO, reconstruction and KL over x (nats per example), fixed noise."""
    check_layout(x, "mean_elbo_terms")
    noise = CounterRNG(EVAL_SEED)
    totals = np.zeros(3)
    with no_grad():
        for start in range(0, len(x), batch_size):
            terms = model.loss(x[start : start + batch_size], beta, noise=noise)
            kl = 0.0 if terms.kl is None else float(terms.kl.data.sum())
            totals += [float(terms.neg_elbo.sum()), float(terms.recon.data.sum()), kl]
    neg_elbo, recon, kl = totals / len(x)
    return {"neg_elbo": neg_elbo, "recon": recon, "kl": kl}


def latent_statistics(model, x, batch_size=1000):
    """mu (N, L) as NumPy, and the KL of each latent dimension averaged over x: (L,)."""
    check_layout(x, "latent_statistics")
    mus, kl_sum = [], 0.0
    with no_grad():
        for start in range(0, len(x), batch_size):
            mu, logvar = model.encode(x[start : start + batch_size])
            mu, logvar = mu.data, logvar.data
            kl_sum = kl_sum + 0.5 * (mu * mu + model.xp.exp(logvar) - 1 - logvar).sum(axis=0)
            mus.append(backend.to_numpy(mu))
    return np.concatenate(mus), backend.to_numpy(kl_sum) / len(x)


def active_units(mu):
    """How many latent dimensions have Var_x(mu_u) above the threshold, and the variances."""
    variances = mu.astype(np.float64).var(axis=0)
    return int((variances > ACTIVE_UNIT_THRESHOLD).sum()), variances


def iwae_negative_log_likelihood(model, x, k, batch_size=100, progress=None):
    """Mean over x of the IWAE estimate of -log p(x) with k importance samples."""
    check_layout(x, "iwae_negative_log_likelihood")
    total = 0.0
    bar = ProgressBar(len(x), f"IWAE k={k}", enabled=progress)
    for start in range(0, len(x), batch_size):
        batch = x[start : start + batch_size]
        total -= float(backend.to_numpy(model.log_likelihood(batch, k)).sum())
        bar.update(min(start + batch_size, len(x)))
    bar.close()
    return total / len(x)
