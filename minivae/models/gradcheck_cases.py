"""The gradient-check cases of the whole models: a VAE's and an autoencoder's loss, checked
against every one of their parameters, at small sizes (the ops' own cases are
`minivae.ops.gradcheck_cases`). `minivae gradcheck` and the tests run each in both modes.
"""

import dataclasses
from collections.abc import Callable

import numpy as np

from minivae.models.autoencoder import Autoencoder
from minivae.models.vae import VAE
from minivae.rng import CounterRNG


@dataclasses.dataclass(frozen=True)
class ModelCase:
    """A whole model's loss, checked against every one of its parameters (small sizes)."""

    name: str
    build: Callable  # (seed, xp) -> (call, parameters)


def _model_loss(model_class, likelihood):
    def build(seed, xp=np):
        model = model_class(
            6, hidden=(5,), latent_dim=3, likelihood=likelihood, dtype=np.float64, seed=seed,
            xp=xp,
        )
        rng = np.random.default_rng(seed)
        x = rng.uniform(0, 1, (4, 6)) if likelihood == "bernoulli" else rng.normal(size=(4, 6))

        def call(*parameters):  # the parameters are the model's own leaves
            # the same noise stream at every call, so the loss is a deterministic function
            return model.loss(x, beta=0.7, noise=CounterRNG(seed, xp=xp)).objective

        return call, model.parameters()

    return build


MODEL_CASES = [
    ModelCase("vae_loss (bernoulli)", _model_loss(VAE, "bernoulli")),
    ModelCase("vae_loss (gaussian)", _model_loss(VAE, "gaussian")),
    ModelCase("autoencoder_loss", _model_loss(Autoencoder, "bernoulli")),
]
