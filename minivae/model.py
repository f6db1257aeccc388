"""The Variational Autoencoder: encoder -> (mu, logvar) -> z -> decoder.

Generative model:   z ~ p(z) = N(0, I),   x ~ p(x|z) given by the decoder.
Inference model:    q(z|x) = N(mu(x), diag(exp(logvar(x)))) given by the encoder.
Training maximizes the evidence lower bound on log p(x), per example:

    ELBO(x) = E_q[log p(x|z)] - KL(q(z|x) || p(z))  <=  log p(x)

`loss(x)` returns its negative in two parts, recon = -log p(x|z) at one z ~ q (the
reparameterized sample) and the closed-form KL, in nats per example; beta weights the KL
(beta = 1: the ELBO; beta < 1 during warm-up; beta > 1 for a beta-VAE).

Every method that draws noise (loss, sample, log_likelihood) takes `noise=`, a
`minivae.rng.CounterRNG`, and uses one of its streams per example; the default is the model's
own `self.noise`. Training, evaluation and the figures each pass their own, so none shifts the
draws of another.
"""

import dataclasses
import math

import numpy as np

from minivae import backend, ops
from minivae.errors import DTypeError, ShapeError
from minivae.function import fast_forms_enabled, no_grad
from minivae.inputs import check_layout, check_values
from minivae.limits import COUNT, check
from minivae.nn import MLP, Module, Parameter
from minivae.rng import CounterRNG, counter_normal
from minivae.tensor import Tensor

LIKELIHOODS = ("bernoulli", "gaussian")
MODEL_KINDS = ("vae", "autoencoder")


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


def as_model_input(model, x, validated=False):
    """x as an array of the model's dtype on its device, after checking the model can take it.

    x must be a NumPy or CuPy array of shape (B, D), B >= 1 rows of the model's D inputs, of real
    numbers (see minivae.inputs), finite, and in [0, 1] for a Bernoulli likelihood. Every call
    checks the shape and dtype. The values are checked too (two reductions of the batch, min and
    max, whose results the host must read: on the GPU that waits for the device) unless the
    caller says `validated`, as the trainer does for batches of a dataset it checked whole.
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
    if not validated:
        check_values(x, model.config["likelihood"], name)
    return x


@dataclasses.dataclass
class LossTerms:
    """Per-example terms of one loss evaluation, each a Tensor of shape (B,)."""

    objective: Tensor  # recon + beta * kl: what training minimizes
    recon: Tensor  # -log p(x|z), one sample z ~ q(z|x) (the autoencoder: its one code z = f(x))
    kl: Tensor | None  # KL(q(z|x) || p(z)); None for the autoencoder, which has no KL

    @property
    def neg_elbo(self):
        """recon + kl, the negative ELBO at beta = 1, outside the graph; None without a KL."""
        return None if self.kl is None else self.recon.detach() + self.kl.detach()


def architecture(kind, input_dim, hidden, latent_dim, likelihood, activation):
    """What fixes a model's parameter shapes, as saved in checkpoints and compared on resume."""
    if kind not in MODEL_KINDS:
        raise ValueError(f"unknown model {kind!r}: use one of {', '.join(MODEL_KINDS)}")
    return dict(
        kind=kind,
        input_dim=int(input_dim),
        hidden=[int(h) for h in hidden],
        latent_dim=int(latent_dim),
        likelihood=likelihood,
        activation=activation,
    )


def parameter_shapes(arch):
    """(name, shape) of each parameter of a model of architecture `arch` (a dict from
    `architecture`), in the order of `named_parameters()`, without building it: a checkpoint is
    checked against these before anything of its size is allocated. Sorted by attribute name
    at every level, the decoder's come first (its Gaussian log-variance before its MLP)."""
    hidden, d, latent = tuple(arch["hidden"]), arch["input_dim"], arch["latent_dim"]
    code_size = 2 * latent if arch["kind"] == "vae" else latent  # (mu, logvar) or z
    shapes = [("decoder.logvar", (d,))] if arch["likelihood"] == "gaussian" else []
    shapes += MLP.parameter_shapes((latent, *hidden[::-1], d), prefix="decoder.net.")
    return shapes + MLP.parameter_shapes((d, *hidden, code_size), prefix="encoder.")


class EncoderDecoder(Module):
    """What the VAE and the autoencoder share: an MLP encoder x -> (codes), and a Decoder.

    The encoder is input_dim -> hidden... -> code_size; the decoder mirrors it from latent_dim.
    `seed` fixes the initial weights; `config` records the architecture for checkpoints.
    Subclasses define `code(x)`: the one point in latent space that stands for x.
    """

    kind = None  # "vae" or "autoencoder"

    def __init__(
        self, input_dim, hidden, latent_dim, likelihood, activation, dtype, seed, xp, code_size
    ):
        self.config = architecture(
            self.kind, input_dim, hidden, latent_dim, likelihood, activation
        )
        self.dtype, self.xp = np.dtype(dtype), xp
        rng = np.random.default_rng(seed)
        self.encoder = MLP((input_dim, *hidden, code_size), rng, activation, dtype, xp)
        self.decoder = Decoder(
            latent_dim, tuple(hidden)[::-1], input_dim, likelihood, rng, activation, dtype, xp
        )

    def _array(self, x, validated=False):
        return as_model_input(self, x, validated)

    def decode(self, z):
        """z (B, L) -> decoder output (logits or means) (B, D)."""
        return self.decoder(z)

    def reconstruct(self, x):
        """E[x|z] at z = code(x): (B, D) array."""
        with no_grad():
            return self.decoder.mean(self.decode(self.code(x))).data

    def interpolate(self, x1, x2, steps):
        """Decode `steps` points on the line from code(x1) to code(x2): (steps, D) array."""
        check(COUNT, steps, f"{type(self).__name__}.interpolate: steps")
        with no_grad():
            ends = self.code(self.xp.stack([self.xp.asarray(x1), self.xp.asarray(x2)]))  # (2, L)
            t = self.xp.linspace(0, 1, steps, dtype=self.dtype)[:, None]  # (S, 1)
            z = (1 - t) * ends[0] + t * ends[1]  # (S, L)
            return self.decoder.mean(self.decode(z)).data


class VAE(EncoderDecoder):
    """VAE(input_dim, hidden=(400,), latent_dim=20, likelihood="bernoulli").

    The encoder's output, 2 * latent_dim numbers per example, is split into mu and logvar.
    `seed` fixes the initial weights and the model's own noise, `self.noise`: the default of the
    `noise=` argument that every method drawing noise takes (training passes its own).
    """

    kind = "vae"

    def __init__(self, input_dim, hidden=(400,), latent_dim=20, likelihood="bernoulli",
                 activation="relu", dtype=np.float32, seed=0, xp=np):  # fmt: skip
        super().__init__(input_dim, hidden, latent_dim, likelihood, activation, dtype, seed, xp,
                         code_size=2 * latent_dim)  # fmt: skip
        self.noise = CounterRNG(seed, xp=xp)

    def encode(self, x):
        """x (B, D) -> mu (B, L), logvar (B, L)."""
        return self._encode(self._array(x))

    def _encode(self, x):  # x already checked
        mu, logvar = ops.split(self.encoder(x), 2, axis=1)  # (B, 2L) -> 2 x (B, L)
        return mu, logvar

    def code(self, x):
        """mu(x), the mean of q(z|x): (B, L) array."""
        with no_grad():
            return self.encode(x)[0].data

    def loss(self, x, beta=1.0, noise=None, validated=False):
        """The negative ELBO of each example in parts (see LossTerms): one z per example.

            z = mu + sigma * eps,  eps ~ N(0, I)          (reparameterize)
            recon = -log p(x|z)                           (the decoder's likelihood)
            kl = KL(q(z|x) || p(z)) in closed form        (gaussian_kl)

        Row n of eps is the next stream of `noise` (default: the model's own CounterRNG).
        `validated`: skip the scan of x's values (see as_model_input), for checked data.
        """
        noise = self.noise if noise is None else noise
        x = self._array(x, validated)
        mu, logvar = self._encode(x)  # q(z|x) = N(mu, diag(sigma^2)), (B, L) each
        z, kl = self.sample_and_kl(mu, logvar, noise)
        recon = self.decoder.nll(self.decode(z), x)  # (B,)
        return LossTerms(objective=recon + beta * kl, recon=recon, kl=kl)

    @staticmethod
    def sample_and_kl(mu, logvar, noise):
        """z ~ q(z|x) by the reparameterization trick, and KL(q(z|x) || p(z)) in closed form.

        The plain form is the three lines at the end. Its fast form, the fused `ops.sample_kl`,
        draws the same eps from the same streams and computes the same z and KL in one op (one
        CUDA kernel on the GPU); `minivae.plain_forms()` switches it off.
        """
        if fast_forms_enabled():
            return ops.sample_kl(mu, logvar, noise.seed, noise.next_streams(len(mu)))
        eps = noise.normal(mu.xp, mu.shape, mu.dtype)  # eps ~ N(0, I), (B, L)
        z = ops.reparameterize(mu, logvar, eps)  # z = mu + sigma * eps
        kl = ops.gaussian_kl(mu, logvar)  # 1/2 sum_j (mu^2 + sigma^2 - 1 - logvar), (B,)
        return z, kl

    def sample(self, n, noise=None):
        """n draws of E[x|z] with z ~ N(0, I): (n, D) array; row i of z from the next stream."""
        check(COUNT, n, "VAE.sample: n")
        noise = self.noise if noise is None else noise
        z = noise.normal(self.xp, (n, self.config["latent_dim"]), self.dtype)  # (n, L)
        with no_grad():
            return self.decoder.mean(self.decode(z)).data

    def log_likelihood(self, x, k, noise=None, chunk=None):
        """The importance-weighted estimate of log p(x) (the IWAE bound), per example: (B,).

            log p(x) >= log (1/k) sum_{i=1..k} w_i,   w_i = p(x|z_i) p(z_i) / q(z_i|x),  z_i ~ q

        The bound tightens as k grows. k = 1 is a one-sample estimate of the ELBO, with the KL
        estimated from that sample (log q(z|x) - log p(z)), not the closed form `loss` uses.
        Example n draws from its own stream of `noise` (sample i: elements i L to (i + 1) L - 1),
        so the estimate does not depend on the batch size, nor on `chunk`, how many samples are
        decoded at a time (by default as many as keep about 2^20 numbers in memory).
        """
        check(COUNT, k, "VAE.log_likelihood: k (importance samples)")
        if chunk is not None:
            check(COUNT, chunk, "VAE.log_likelihood: chunk")
        noise = self.noise if noise is None else noise
        xp, latent = self.xp, self.config["latent_dim"]
        x = self._array(x)
        batch = len(x)
        chunk = chunk or max(1, min(k, 2**20 // (batch * x.shape[1])))
        seed, stream = noise.seed, noise.next_streams(batch)  # one stream per example
        with no_grad():
            mu, logvar = (t.data for t in self._encode(x))  # (B, L) each
            sigma = xp.exp(0.5 * logvar)
            chunk_sums = []  # log sum_i w_i over each chunk's samples, (B,) each
            for start in range(0, k, chunk):
                c = min(chunk, k - start)
                eps = counter_normal(xp, (batch, c * latent), seed, stream, self.dtype,
                                     offset=start * latent)  # fmt: skip
                eps = eps.reshape(batch, c, latent).transpose(1, 0, 2)  # (B, cL) -> (c, B, L)
                z = mu + sigma * eps  # (c, B, L)
                output = self.decode(z.reshape(c * batch, latent))  # (cB, D)
                x_rep = xp.broadcast_to(x, (c, *x.shape)).reshape(c * batch, -1)  # (cB, D)
                log_px_z = -self.decoder.nll(output, x_rep).data.reshape(c, batch)
                log_pz = -0.5 * (z * z).sum(axis=2)  # log N(z; 0, I), 2 pi left out
                log_qz = -0.5 * (eps * eps + logvar).sum(axis=2)  # log N(z; mu, sigma^2), same
                log_w = (log_px_z + log_pz - log_qz).astype(np.float64)  # (c, B)
                chunk_sums.append(ops.logsumexp(Tensor(log_w), axis=0).data)
            log_sum = ops.logsumexp(Tensor(xp.stack(chunk_sums)), axis=0).data  # (B,)
        return log_sum - math.log(k)
