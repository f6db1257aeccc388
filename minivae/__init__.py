"""minivae: a Variational Autoencoder built from scratch, every gradient written by hand.

import numpy as np
import minivae

x = minivae.Tensor(np.random.randn(4, 3), requires_grad=True)
loss = minivae.ops.softplus(x).sum()
loss.backward()          # x.grad holds sigma(x)

with minivae.plain_forms():   # every op in its textbook form, no fast forms
    ...
"""

from minivae import ops
from minivae.autoencoder import Autoencoder
from minivae.errors import MinivaeError
from minivae.function import Function, no_grad, plain_forms
from minivae.gradcheck import GradcheckReport, gradcheck
from minivae.model import VAE
from minivae.tensor import Tensor

__all__ = [
    "VAE",
    "Autoencoder",
    "Function",
    "GradcheckReport",
    "MinivaeError",
    "Tensor",
    "gradcheck",
    "no_grad",
    "ops",
    "plain_forms",
]
