"""Inputs as the model sees them: validated, and binarized when the likelihood asks for 0/1.

Binarization turns an intensity p in [0, 1] into a 0/1 pixel drawn from Bernoulli(p):
    none     the intensities themselves (the Bernoulli likelihood then reads them as soft targets)
    static   one draw, made once with a fixed seed, reused every epoch
    dynamic  a fresh draw every time a batch is used (a little data augmentation, and the
             usual protocol for comparing log-likelihoods on binarized MNIST)
"""

import numpy as np

from minivae.backend import get_array_module
from minivae.inputs import check_layout, check_values

BINARIZATIONS = ("none", "static", "dynamic")


def binarize(x, rng):
    """One Bernoulli(x) draw per pixel from `rng` (a numpy Generator), in x's dtype.

    The uniforms are drawn on the host; for x on the GPU they are copied there (the one
    host-to-device copy of a training step with dynamic binarization).
    """
    xp = get_array_module(x)
    uniforms = xp.asarray(rng.random(x.shape, dtype=np.float32))
    return (uniforms < x).astype(x.dtype)


def check_inputs(x, likelihood, name="data"):
    """Raise saying what is wrong with x (N, D) for this likelihood, if anything (see
    minivae.inputs): the trainer checks each dataset once, before the first step."""
    check_layout(x, name)
    check_values(x, likelihood, name)
