"""What the VAE and the autoencoder share: an MLP encoder, a Decoder, the loss's parts.

    architecture(kind, input_dim, hidden, latent_dim, likelihood, activation)   # a dict
    LossTerms(objective, recon, kl)     # per-example terms of one loss evaluation, (B,) each

The architecture dict fixes a model's parameter shapes; it is saved in checkpoints and compared
on resume (minivae.training.checkpoint_schema).
"""

import dataclasses

import numpy as np

from minivae.engine.function import no_grad
from minivae.engine.tensor import Tensor
from minivae.errors import ConfigError
from minivae.inputs import as_model_input
from minivae.limits import COUNT, check
from minivae.models.decoder import Decoder
from minivae.models.nn import MLP, Module

MODEL_KINDS = ("vae", "autoencoder")


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
        raise ConfigError(f"unknown model {kind!r}: use one of {', '.join(MODEL_KINDS)}")
    return dict(
        kind=kind,
        input_dim=int(input_dim),
        hidden=[int(h) for h in hidden],
        latent_dim=int(latent_dim),
        likelihood=likelihood,
        activation=activation,
    )


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
