"""One evaluation protocol for a trained VAE, every number in nats per example.

- test negative ELBO: mean over the test set of recon + KL, one z ~ q(z|x) per example;
- -log p(x) estimated with the importance-weighted bound (IWAE, Burda et al. 2016) with k
  samples per example (k = 5000 by default): an upper bound on -log p(x) that tightens as k grows;
- the KL of each latent dimension, averaged over the test set, and the number of active units:
  dimension u is active when Var_x(E_q[z_u | x]) = Var_x(mu_u(x)) > 0.01 (Burda et al.), i.e.
  when its code changes with the input rather than collapsing to the prior.
Pixels are binarized as the run was trained (a fixed binarization of the test set for "static"
and "dynamic"; the [0, 1] intensities for "none").

The noise is fixed: test example n draws from stream n of the evaluation seed, so two
evaluations of the same model agree, whatever the batch size, in a training run or from the
command line, and evaluating never touches the noise of training.
"""

import numpy as np

from minivae import backend
from minivae.engine.function import no_grad
from minivae.inputs import check_layout
from minivae.ops.vae import kl_terms
from minivae.rng import CounterRNG
from minivae.training.progress import ProgressBar

ACTIVE_UNIT_THRESHOLD = 0.01
EVAL_SEED = 2**31 - 1  # the evaluation noise: the same draws at every evaluation


def mean_elbo_terms(model, x, beta=1.0, batch_size=1000):
    """Mean negative ELBO, reconstruction and KL over x (nats per example), fixed noise.

    For an autoencoder, which has no KL and no ELBO, "neg_elbo" and "kl" are None.
    """
    check_layout(x, "mean_elbo_terms")
    noise = CounterRNG(EVAL_SEED)
    recon_sum, kl_sum = 0.0, 0.0
    with no_grad():
        for start in range(0, len(x), batch_size):
            terms = model.loss(x[start : start + batch_size], beta, noise=noise)
            recon_sum += float(terms.recon.data.sum())
            kl_sum += 0.0 if terms.kl is None else float(terms.kl.data.sum())
    recon = recon_sum / len(x)
    if model.config["kind"] != "vae":
        return {"neg_elbo": None, "recon": recon, "kl": None}
    return {"neg_elbo": recon + kl_sum / len(x), "recon": recon, "kl": kl_sum / len(x)}


def latent_statistics(model, x, batch_size=1000):
    """mu (N, L) as NumPy, and the KL of each latent dimension averaged over x: (L,)."""
    check_layout(x, "latent_statistics")
    mus, kl_sum = [], 0.0
    with no_grad():
        for start in range(0, len(x), batch_size):
            mu, logvar = (t.data for t in model.encode(x[start : start + batch_size]))  # (b, L)
            kl_sum = kl_sum + kl_terms(mu, model.xp.exp(logvar), logvar).sum(axis=0)  # (L,)
            mus.append(backend.to_numpy(mu))
    return np.concatenate(mus), backend.to_numpy(kl_sum) / len(x)  # (N, L), (L,)


def active_units(mu):
    """How many latent dimensions have Var_x(mu_u) above the threshold, and the variances."""
    variances = mu.astype(np.float64).var(axis=0)
    return int((variances > ACTIVE_UNIT_THRESHOLD).sum()), variances


def iwae_negative_log_likelihood(model, x, k, batch_size=100, progress=None):
    """Mean over x of the IWAE estimate of -log p(x) with k importance samples."""
    check_layout(x, "iwae_negative_log_likelihood")
    noise = CounterRNG(EVAL_SEED)
    total = 0.0
    bar = ProgressBar(len(x), f"IWAE k={k}", enabled=progress)
    for start in range(0, len(x), batch_size):
        batch = x[start : start + batch_size]
        total -= float(backend.to_numpy(model.log_likelihood(batch, k, noise=noise)).sum())
        bar.update(min(start + batch_size, len(x)))
    bar.close()
    return total / len(x)
