"""minivae: a Variational Autoencoder built from scratch, every gradient written by hand.

    import numpy as np
    import minivae

    x = minivae.Tensor(np.random.randn(4, 3), requires_grad=True)
    loss = minivae.ops.softplus(x).sum()
    loss.backward()          # x.grad holds sigma(x)

    with minivae.plain_forms():   # every op in its textbook form, no fast forms
        ...

    rows = minivae.train(minivae.TrainConfig(epochs=5, out="runs/first"))   # a VAE on sprites

Read the package in this order: engine/ (tensors, ops' base class, gradcheck), ops/ (each op's
math, forward and backward), models/ (layers, the VAE, the optimizers). accel/ only makes the
same numbers faster; training/ runs, saves and evaluates; data/, plots/, course/ and cli serve
them. The README's module map says what each file holds.
"""

from minivae import ops
from minivae.engine import Function, GradcheckReport, Tensor, gradcheck, no_grad, plain_forms
from minivae.errors import MinivaeError
from minivae.models.autoencoder import Autoencoder
from minivae.models.vae import VAE
from minivae.training.config import TrainConfig
from minivae.training.trainer import train

__all__ = [
    "VAE",
    "Autoencoder",
    "Function",
    "GradcheckReport",
    "MinivaeError",
    "Tensor",
    "TrainConfig",
    "gradcheck",
    "no_grad",
    "ops",
    "plain_forms",
    "train",
]
