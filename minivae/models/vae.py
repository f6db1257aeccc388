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

import math

import numpy as np

from minivae import ops
from minivae.engine.function import fast_forms_enabled, no_grad
from minivae.engine.tensor import Tensor
from minivae.limits import COUNT, check
from minivae.models.encoder_decoder import EncoderDecoder, LossTerms
from minivae.rng import CounterRNG, counter_normal


class VAE(EncoderDecoder):
    """VAE(input_dim, hidden=(400,), latent_dim=20, likelihood="bernoulli").

    The encoder's output, 2 * latent_dim numbers per example, is split into mu and logvar.
    `seed` fixes the initial weights and the model's own noise, `self.noise`: the default of the
    `noise=` argument that every method drawing noise takes (training passes its own).
    """

    kind = "vae"

    def __init__(self, input_dim, hidden=(400,), latent_dim=20, likelihood="bernoulli",
                 activation="relu", dtype=np.float32, seed=0, xp=np):
        super().__init__(input_dim, hidden, latent_dim, likelihood, activation, dtype, seed, xp,
                         code_size=2 * latent_dim)
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

    def loss(self, x, beta=1.0, noise=None, validated=False, free_bits=0.0):
        """The negative ELBO of each example in parts (see LossTerms): one z per example.

            z = mu + sigma * eps,  eps ~ N(0, I)          (reparameterize)
            recon = -log p(x|z)                           (the decoder's likelihood)
            kl = KL(q(z|x) || p(z)) in closed form        (gaussian_kl)
            objective = recon + beta kl

        Row n of eps is the next stream of `noise` (default: the model's own CounterRNG).
        `validated`: skip the scan of x's values (see as_model_input), for checked data.
        `free_bits` > 0: the objective's KL has a floor of that many nats per latent unit
        (`ops.free_bits_kl`, a remedy for posterior collapse); `kl` stays the true KL.
        """
        noise = self.noise if noise is None else noise
        x = self._array(x, validated)
        mu, logvar = self._encode(x)  # q(z|x) = N(mu, diag(sigma^2)), (B, L) each
        z, kl = self.sample_and_kl(mu, logvar, noise)
        recon = self.decoder.nll(self.decode(z), x)  # (B,)
        kl_cost = ops.free_bits_kl(mu, logvar, free_bits) if free_bits > 0 else kl
        return LossTerms(objective=recon + beta * kl_cost, recon=recon, kl=kl)

    @staticmethod
    def sample_and_kl(mu, logvar, noise):
        """z ~ q(z|x) by the reparameterization trick, and KL(q(z|x) || p(z)) in closed form.

        Row n of eps is the next stream of `noise`. The plain form is the three lines below;
        its fast form (the default outside `minivae.plain_forms()`) is the fused op
        `ops.sample_kl`, which draws the same eps from the same streams and returns the same z
        and KL in one op (one CUDA kernel each way on the GPU).
        """
        if not fast_forms_enabled():
            eps = noise.normal(mu.xp, mu.shape, mu.dtype)  # eps ~ N(0, I), (B, L)
            z = ops.reparameterize(mu, logvar, eps)  # z = mu + sigma * eps
            kl = ops.gaussian_kl(mu, logvar)  # 1/2 sum_j (mu^2 + sigma^2 - 1 - logvar), (B,)
            return z, kl
        return ops.sample_kl(mu, logvar, noise.seed, noise.next_streams(len(mu)))

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
                                     offset=start * latent)
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
