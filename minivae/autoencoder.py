"""The deterministic autoencoder: the VAE's encoder and decoder without the distribution.

x -> one point z = f(x) -> reconstruction. It minimizes -log p(x|z) alone: no noise, no KL. Put
beside the VAE it shows what the variational part adds: the VAE encodes each x as a distribution
q(z|x), the KL pulls those towards the prior N(0, I), and so points drawn from the prior decode
to plausible data. The autoencoder's codes go wherever reconstruction wants them, and a random z
usually decodes to nothing recognisable.
"""

import numpy as np

from minivae.function import no_grad
from minivae.model import Decoder, as_model_input
from minivae.nn import MLP, Module


class AELoss:
    """Per-example terms, shaped like the VAE's LossTerms (the KL is absent: zero)."""

    def __init__(self, recon):
        self.objective = self.recon = recon
        self.kl = None

    @property
    def neg_elbo(self):
        return self.recon.data


class Autoencoder(Module):
    """Autoencoder(input_dim, hidden=(400,), latent_dim=20, likelihood="bernoulli")."""

    def __init__(
        self,
        input_dim,
        hidden=(400,),
        latent_dim=20,
        likelihood="bernoulli",
        activation="relu",
        dtype=np.float32,
        seed=0,
        xp=np,
    ):
        self.config = dict(
            kind="autoencoder",
            input_dim=int(input_dim),
            hidden=[int(h) for h in hidden],
            latent_dim=int(latent_dim),
            likelihood=likelihood,
            activation=activation,
        )
        self.dtype, self.xp = np.dtype(dtype), xp
        rng = np.random.default_rng(seed)
        self.encoder = MLP((input_dim, *hidden, latent_dim), rng, activation, dtype, xp)
        self.decoder = Decoder(
            latent_dim, hidden[::-1], input_dim, likelihood, rng, activation, dtype, xp
        )

    def encode(self, x):
        """x (B, D) -> z (B, L), one point per input."""
        return self.encoder(as_model_input(self, x))

    def decode(self, z):
        return self.decoder(z)

    def loss(self, x, beta=1.0, noise=None):
        """-log p(x | z = f(x)) per example; `beta` and `noise` are unused (no KL, no noise)."""
        x = as_model_input(self, x)
        return AELoss(self.decoder.nll(self.decode(self.encode(x)), x))

    def reconstruct(self, x):
        with no_grad():
            return self.decoder.mean(self.decode(self.encode(x))).data
