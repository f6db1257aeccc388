"""The deterministic autoencoder: the VAE's encoder and decoder without the distribution.

x -> one point z = f(x) -> reconstruction. It minimizes -log p(x|z) alone: no noise, no KL. Put
beside the VAE it shows what the variational part adds: the VAE encodes each x as a distribution
q(z|x), the KL pulls those towards the prior N(0, I), and so points drawn from the prior decode
to plausible data. The autoencoder's codes go wherever reconstruction wants them, and a random z
usually decodes to nothing recognisable.
"""

import numpy as np

from minivae.engine.function import no_grad
from minivae.models.encoder_decoder import EncoderDecoder, LossTerms


class Autoencoder(EncoderDecoder):
    """Autoencoder(input_dim, hidden=(400,), latent_dim=20, likelihood="bernoulli")."""

    kind = "autoencoder"

    def __init__(self, input_dim, hidden=(400,), latent_dim=20, likelihood="bernoulli",
                 activation="relu", dtype=np.float32, seed=0, xp=np):
        super().__init__(input_dim, hidden, latent_dim, likelihood, activation, dtype, seed, xp,
                         code_size=latent_dim)

    def encode(self, x):
        """x (B, D) -> z (B, L), one point per input."""
        return self.encoder(self._array(x))

    def code(self, x):
        """z = f(x): (B, L) array."""
        with no_grad():
            return self.encode(x).data

    def loss(self, x, beta=1.0, noise=None, validated=False, free_bits=0.0):
        """-log p(x | z = f(x)) per example, as LossTerms with no KL (kl is None).

        `beta`, `noise` and `free_bits` are accepted so that code written for the VAE runs
        unchanged; there is no KL to weigh and no noise to draw. `validated`: as for the VAE."""
        x = self._array(x, validated)
        recon = self.decoder.nll(self.decode(self.encoder(x)), x)  # (B,)
        return LossTerms(objective=recon, recon=recon, kl=None)
