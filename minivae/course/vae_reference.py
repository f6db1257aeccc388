"""minivae's own answers to the VAE exercise (notebook 5), and the models its check builds.

The learner writes vae_loss(model, x, eps, beta), train_step(model, optimizer, x, eps) and
sample_prior(model, eps). minivae's own are below, each made of what the package already has:

    minivae_loss     VAE.loss with the given eps, the mean of its objective over the batch
    minivae_step     zero_grad, minivae_loss, backward, the optimizer's step; the loss before it
    minivae_sample   VAE.sample with the given draws of z ~ p(z)

`check_vae` (minivae.course.vae) compares the learner's with these, and notebook 5 trains with
these where the learner's are not right yet. VAE.loss and VAE.sample draw their noise from a
`noise` source by `noise.normal(xp, shape, dtype)` (VAE.loss in its plain form: its fast form,
the fused op, draws inside the op from a CounterRNG's streams); `GivenNoise` is a source that
hands out the given array, so that both run on the learner's eps, exactly.

The check's models are small (784 -> 6 -> 3, tanh, so that central differences meet no kink),
float64, with their weights spread out (`drawn_parameters`) so that the KL is several nats and
sigma is far from 0 and from 1, and a mistake in either term moves the loss far beyond rounding.
"""

import numpy as np

from minivae.course.built import Built, build
from minivae.engine.function import no_grad, plain_forms
from minivae.errors import ShapeError
from minivae.ops.vae import kl_terms

ARCHITECTURE = {"input_dim": 784, "hidden": [6], "latent_dim": 3, "activation": "tanh"}
LATENT = ARCHITECTURE["latent_dim"]


class GivenNoise:
    """A noise source for VAE.loss (plain form) and VAE.sample that hands out `eps` itself."""

    def __init__(self, eps):
        self.eps = eps

    def normal(self, xp, shape, dtype):
        if tuple(shape) != self.eps.shape:
            raise ShapeError(f"GivenNoise: asked for noise of shape {tuple(shape)}, given eps of "
                             f"shape {self.eps.shape}: pass one row of eps per example")
        return xp.asarray(self.eps, dtype=dtype)


def minivae_loss(model, x, eps, beta=1.0):
    """The mean over the batch of -log p(x|z) + beta KL, z = mu + sigma * eps: VAE.loss's."""
    with plain_forms():
        return model.loss(x, beta, noise=GivenNoise(eps)).objective.mean()


def minivae_step(model, optimizer, x, eps):
    """One training step, as Trainer takes it; returns the batch's loss before the step."""
    optimizer.zero_grad()
    loss = minivae_loss(model, x, eps)
    loss.backward()
    optimizer.step()
    return loss.item()


def minivae_sample(model, eps):
    """E[x|z] at z = eps, draws of the prior p(z) = N(0, I): VAE.sample's, (n, D)."""
    return model.sample(len(eps), noise=GivenNoise(eps))


def vae_spec(seed, **more):
    """The spec of one of the check's models (see minivae.course.built), its weights drawn
    with `drawn_parameters(seed)` unless `more` gives others."""
    return {**ARCHITECTURE, "seed": seed, "parameters": drawn_parameters(seed), **more}


def made(spec):
    """The model a spec describes, built here as `invoke` builds it where the learner's runs."""
    return build([Built("vae", spec)])[0]


def drawn_parameters(seed):
    """The check's weights: minivae's initial ones, with the encoder's last layer and the
    decoder's spread out (a KL of several nats per example, sigma from about 0.15 to 3,
    logits of several units) so that every term of the loss counts."""
    model = made({**ARCHITECTURE, "seed": seed})
    rng = np.random.default_rng(seed)
    last = model.encoder.layers[-1]
    last.weight.data *= 8
    last.bias.data[...] = rng.normal(0, 1, last.bias.shape)
    model.decoder.net.layers[-1].weight.data *= 8
    return model.state_dict()


def gradients(model, loss):
    """Every parameter's gradient of `loss` (a Tensor of the model), by name."""
    model.zero_grad()
    loss.backward()
    return {name: p.grad for name, p in model.named_parameters()}


def loss_pieces(model, x, eps):
    """The per-example pieces the check's known mistakes are made of (no graph): the
    reconstruction term at z, at mu, at mu + sigma^2 eps and of sigmoid(logits) taken for logits;
    the closed-form KL and the one-sample estimate log q(z|x) - log p(z)."""
    with no_grad(), plain_forms():
        mu, logvar = (t.data for t in model.encode(x))  # (B, L) each

        def recon(z, squash=False):
            logits = model.decode(z)
            return model.decoder.nll(model.decoder.mean(logits) if squash else logits, x).data

        z = mu + np.exp(logvar / 2) * eps
        return {"r": recon(z), "r_mu": recon(mu), "r_var": recon(mu + np.exp(logvar) * eps),
                "r_squashed": recon(z, squash=True),
                "k": kl_terms(mu, np.exp(logvar), logvar).sum(axis=1),
                "k_sampled": 0.5 * (z**2 - eps**2 - logvar).sum(axis=1)}
