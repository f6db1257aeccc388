"""The Variational Autoencoder: encoder -> (mu, logvar) -> z -> decoder.

Generative model:   z ~ p(z) = N(0, I),   x ~ p(x|z) given by the decoder.
Inference model:    q(z|x) = N(mu(x), diag(exp(logvar(x)))) given by the encoder.
Training maximizes the evidence lower bound on log p(x), per example:

    ELBO(x) = E_q[log p(x|z)] - KL(q(z|x) || p(z))  <=  log p(x)

`loss(x)` returns its negative in two parts, recon = -log p(x|z) at one z ~ q (the
reparameterized sample) and the closed-form KL, in nats per example; beta weights the KL
(beta = 1: the ELBO; beta < 1 during warm-up; beta > 1 for a beta-VAE).
"""

import dataclasses
import math

import numpy as np

from minivae import backend, ops
from minivae.errors import DTypeError, ShapeError
from minivae.function import no_grad
from minivae.inputs import check_layout, check_values
from minivae.nn import MLP, Module, Parameter
from minivae.rng import CounterRNG, counter_normal

LIKELIHOODS = ("bernoulli", "gaussian")


class Decoder(Module):
    """z (B, L) -> the parameters of p(x|z) over D dimensions, and its negative log-density.

    bernoulli: the MLP outputs logits l (B, D); p(x_j = 1 | z) = sigma(l_j).
    gaussian: the MLP outputs the mean (B, D); one learned log-variance per dimension (D,).
    """

    def __init__(self, latent_dim, hidden, output_dim, likelihood, rng, activation, dtype, xp):
        if likelihood not in LIKELIHOODS:
            raise ValueError(f"unknown likelihood {likelihood!r}: use one of {LIKELIHOODS}")
        self.likelihood = likelihood
        self.net = MLP((latent_dim, *hidden, output_dim), rng, activation, dtype, xp)
        if likelihood == "gaussian":
            self.logvar = Parameter(xp.zeros(output_dim, dtype=dtype))

    def forward(self, z):
        return self.net(z)  # (B, L) -> (B, D)

    def nll(self, output, x):
        """-log p(x|z) per example, (B,)."""
        if self.likelihood == "bernoulli":
            return ops.bernoulli_nll(output, x)
        return ops.gaussian_nll(x, output, self.logvar)

    def mean(self, output):
        """E[x|z]: pixel probabilities sigma(l) or the Gaussian mean."""
        return ops.sigmoid(output) if self.likelihood == "bernoulli" else output


def as_model_input(model, x):
    """x as an array of the model's dtype on its device, after checking the model can take it.

    x must be a NumPy or CuPy array of shape (B, D), B >= 1 rows of the model's D inputs, of real
    numbers (see minivae.inputs), finite, and in [0, 1] for a Bernoulli likelihood. Every call
    checks, since the model cannot tell data the trainer validated from anything else; the
    value check costs two reductions (min and max) of the batch.
    """
    name = type(model).__name__
    if not backend.is_array(x):
        raise DTypeError(f"{name}: x must be a NumPy array (or CuPy, on the GPU), got "
                         f"{type(x).__name__}; convert it with np.asarray(x)")  # fmt: skip
    if x.ndim != 2 or x.shape[1] != model.config["input_dim"]:
        raise ShapeError(
            f"{name}: x has shape {x.shape} but the model takes (B, "
            f"{model.config['input_dim']}): one flattened example per row"
        )
    check_layout(x, name)
    x = model.xp.asarray(x, dtype=model.dtype)
    check_values(x, model.config["likelihood"], name)
    return x


@dataclasses.dataclass
class LossTerms:
    """Per-example terms of one loss evaluation, each a Tensor of shape (B,)."""

    objective: object  # recon + beta * kl: what training minimizes
    recon: object  # -log p(x|z), one sample z ~ q(z|x)
    kl: object  # KL(q(z|x) || p(z))

    @property
    def neg_elbo(self):
        return self.recon.data + self.kl.data  # (B,) array: the negative ELBO at beta = 1


class EncoderDecoder(Module):
    """What the VAE and the autoencoder share: an MLP encoder x -> (codes), and a Decoder.

    The encoder is input_dim -> hidden... -> code_size; the decoder mirrors it from latent_dim.
    `seed` fixes the initial weights; `config` records the architecture for checkpoints.
    """

    kind = None  # "vae" or "autoencoder"

    def __init__(
        self, input_dim, hidden, latent_dim, likelihood, activation, dtype, seed, xp, code_size
    ):
        self.config = dict(
            kind=self.kind,
            input_dim=int(input_dim),
            hidden=[int(h) for h in hidden],
            latent_dim=int(latent_dim),
            likelihood=likelihood,
            activation=activation,
        )
        self.dtype, self.xp = np.dtype(dtype), xp
        rng = np.random.default_rng(seed)
        self.encoder = MLP((input_dim, *hidden, code_size), rng, activation, dtype, xp)
        self.decoder = Decoder(
            latent_dim, tuple(hidden)[::-1], input_dim, likelihood, rng, activation, dtype, xp
        )

    def _array(self, x):
        return as_model_input(self, x)

    def decode(self, z):
        """z (B, L) -> decoder output (logits or means) (B, D)."""
        return self.decoder(z)


class VAE(EncoderDecoder):
    """VAE(input_dim, hidden=(400,), latent_dim=20, likelihood="bernoulli").

    The encoder's output, 2 * latent_dim numbers per example, is split into mu and logvar.
    `seed` fixes the initial weights and the noise.
    """

    kind = "vae"

    def __init__(self, input_dim, hidden=(400,), latent_dim=20, likelihood="bernoulli",
                 activation="relu", dtype=np.float32, seed=0, xp=np):  # fmt: skip
        super().__init__(input_dim, hidden, latent_dim, likelihood, activation, dtype, seed, xp,
                         code_size=2 * latent_dim)  # fmt: skip
        self.noise = CounterRNG(seed)

    def encode(self, x):
        """x (B, D) -> mu (B, L), logvar (B, L)."""
        mu, logvar = ops.split(self.encoder(self._array(x)), 2, axis=1)
        return mu, logvar

    def loss(self, x, beta=1.0, noise=None):
        """The negative ELBO of each example in parts (see LossTerms).

        One z per example, drawn from the next stream of `noise` (default: the model's own
        CounterRNG; evaluation passes a separate one so it does not shift training's draws).
        """
        noise = noise or self.noise
        x = self._array(x)
        mu, logvar = self.encode(x)
        z, kl = ops.sample_kl(mu, logvar, noise.seed, noise.next_stream())
        recon = self.decoder.nll(self.decode(z), x)
        return LossTerms(objective=recon + beta * kl, recon=recon, kl=kl)

    def sample(self, n):
        """n draws of E[x|z] with z ~ N(0, I): (n, D) array."""
        z = self.noise.normal(self.xp, (n, self.config["latent_dim"]), self.dtype)
        with no_grad():
            return self.decoder.mean(self.decode(z)).data

    def reconstruct(self, x):
        """E[x|z] at z = mu(x), the most likely code: (B, D) array."""
        with no_grad():
            mu, _ = self.encode(x)
            return self.decoder.mean(self.decode(mu)).data

    def interpolate(self, x1, x2, steps):
        """Decode `steps` points on the line from mu(x1) to mu(x2): (steps, D) array."""
        with no_grad():
            mu, _ = self.encode(self.xp.stack([self.xp.asarray(x1), self.xp.asarray(x2)]))
            t = self.xp.linspace(0, 1, steps, dtype=self.dtype)[:, None]  # (S, 1)
            z = (1 - t) * mu.data[0] + t * mu.data[1]  # (S, L)
            return self.decoder.mean(self.decode(z)).data

    def log_likelihood(self, x, k, chunk=None):
        """The importance-weighted estimate of log p(x) (the IWAE bound), per example: (B,).

            log p(x) >= log (1/k) sum_{i=1..k} w_i,   w_i = p(x|z_i) p(z) / q(z_i|x),  z_i ~ q

        k = 1 is the ELBO; the bound tightens as k grows. The k samples are processed `chunk`
        at a time with a running log-sum-exp, so k = 5000 fits in memory.
        """
        xp, latent = self.xp, self.config["latent_dim"]
        x = self._array(x)
        batch = len(x)
        chunk = chunk or max(1, min(k, 2**20 // (batch * x.shape[1])))
        seed, stream = self.noise.seed, self.noise.next_stream()
        running = xp.full(batch, -np.inf)  # log sum_i w_i so far, float64
        with no_grad():
            mu, logvar = self.encode(x)
            sigma = xp.exp(0.5 * logvar.data)
            for start in range(0, k, chunk):
                c = min(chunk, k - start)
                # the offset makes the draws the same whatever the chunk size
                offset = start * batch * latent
                eps = counter_normal(xp, (c, batch, latent), seed, stream, self.dtype, offset)
                z = mu.data + sigma * eps  # (c, B, L)
                output = self.decode(z.reshape(c * batch, latent))  # (c*B, D)
                x_rep = xp.broadcast_to(x, (c, *x.shape)).reshape(c * batch, -1)
                log_px_z = -self.decoder.nll(output, x_rep).data.reshape(c, batch)
                log_pz = -0.5 * (z * z).sum(axis=2)
                log_qz = -0.5 * (eps * eps + logvar.data).sum(axis=2)
                log_w = (log_px_z + log_pz - log_qz).astype(np.float64)  # (c, B); 2pi cancels
                top = xp.maximum(running, log_w.max(axis=0))
                running = top + xp.log(xp.exp(running - top) + xp.exp(log_w - top).sum(axis=0))
        return running - math.log(k)
