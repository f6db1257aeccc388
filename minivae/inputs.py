"""What an array of examples must be before a model sees it.

A model takes x of shape (N, D): N >= 1 examples, one flattened example of D >= 1 numbers per
row, real (floats, integers or booleans; not complex, strings or objects), finite, and for the
Bernoulli likelihood in [0, 1]. Two places check: the trainer once over each whole dataset
(`minivae.data.batches.check_inputs`), and the model at every call (`as_model_input`), so the
value scan here is kept to two reductions, min and max.
"""

import math

from minivae import backend
from minivae.errors import DataError, DTypeError, ShapeError

REAL_KINDS = "biuf"  # NumPy dtype kinds: bool, signed and unsigned integers, floats


def check_layout(x, name):
    """Raise unless x is a non-empty (N, D) array of real numbers; `name` says whose x it is."""
    if x.ndim != 2:
        raise ShapeError(
            f"{name}: expected an array (N, D), one flattened example per row, got shape "
            f"{x.shape}; reshape images with x.reshape(len(x), -1)"
        )
    if 0 in x.shape:
        empty = "no examples" if x.shape[0] == 0 else "examples of no numbers"
        raise ShapeError(f"{name}: x of shape {x.shape} holds {empty}; pass at least one row "
                         "of at least one number")
    if x.dtype.kind not in REAL_KINDS:
        raise DTypeError(
            f"{name}: x of shape {x.shape} has dtype {x.dtype}, not real numbers; convert it "
            "with x.astype(np.float32) (complex values: keep x.real)"
        )


def check_values(x, likelihood, name):
    """Raise a DataError if x holds NaN or infinity, or, for "bernoulli", values outside [0, 1].

    min and max find both in one pass each: a NaN anywhere makes them NaN, an infinity shows
    as one of them. Only when something is wrong is x searched for where.
    """
    low, high = float(x.min()), float(x.max())
    if not (math.isfinite(low) and math.isfinite(high)):
        xp = backend.get_array_module(x)
        bad = xp.argwhere(~xp.isfinite(x))  # (count, 2): example, feature
        raise DataError(
            f"{name}: {len(bad)} values are NaN or infinite (the first in example "
            f"{int(bad[0][0])}, feature {int(bad[0][1])}); clean or drop those examples"
        )
    if likelihood == "bernoulli" and (low < 0 or high > 1):
        raise DataError(
            f"{name}: the Bernoulli likelihood needs values in [0, 1], found [{low:.4g}, "
            f"{high:.4g}]; rescale (8-bit pixels: x / 255) or use the Gaussian likelihood "
            "(likelihood='gaussian', --likelihood gaussian)"
        )


def as_model_input(model, x, validated=False):
    """x as an array of the model's dtype on its device, after checking the model can take it.

    x must be a NumPy or CuPy array of shape (B, D), B >= 1 rows of the model's D inputs, of real
    numbers (`check_layout`), finite, and in [0, 1] for a Bernoulli likelihood. Every call
    checks the shape and dtype. The values are checked too (two reductions of the batch, min and
    max, whose results the host must read: on the GPU that waits for the device) unless the
    caller says `validated`, as the trainer does for batches of a dataset it checked whole.
    """
    name = type(model).__name__
    if not backend.is_array(x):
        raise DTypeError(f"{name}: x must be a NumPy array (or CuPy, on the GPU), got "
                         f"{type(x).__name__}; convert it with np.asarray(x)")
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
