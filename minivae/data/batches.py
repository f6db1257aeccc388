"""Inputs as the model sees them: validated, and binarized when the likelihood asks for 0/1.

Binarization turns an intensity p in [0, 1] into a 0/1 pixel drawn from Bernoulli(p):
    none     the intensities themselves (the Bernoulli likelihood then reads them as soft targets)
    static   one draw, made once with a fixed seed, reused every epoch
    dynamic  a fresh draw every time a batch is used (a little data augmentation, and the
             usual protocol for comparing log-likelihoods on binarized MNIST)
"""

import numpy as np

from minivae.backend import get_array_module
from minivae.errors import DataError

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
    """Raise a DataError saying what is wrong with x (N, D) for this likelihood, if anything."""
    if x.ndim != 2:
        raise DataError(
            f"{name}: expected an array (N, D), one flattened example per row, got shape "
            f"{x.shape}; reshape images with x.reshape(len(x), -1)"
        )
    finite = np.isfinite(x)
    if not finite.all():
        bad = np.argwhere(~finite)
        raise DataError(
            f"{name}: {len(bad)} values are NaN or infinite (the first in example {bad[0][0]}, "
            f"feature {bad[0][1]}); clean or drop those examples before training"
        )
    if likelihood == "bernoulli" and (x.min() < 0 or x.max() > 1):
        raise DataError(
            f"{name}: the Bernoulli likelihood needs values in [0, 1], found [{x.min():.4g}, "
            f"{x.max():.4g}]; rescale (8-bit pixels: x / 255) or use --likelihood gaussian"
        )
