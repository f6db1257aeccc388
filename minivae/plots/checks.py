"""Checks on the arrays handed to the plots, with errors that say which plot and what to do.

Plots take plain NumPy arrays, never model objects, so a figure can be redrawn from saved arrays
without a model in memory. Each check names the plot function, the argument, the shape it was
given and the shape it wanted.
"""

import numpy as np

from minivae.errors import DataError, DTypeError, ShapeError


def as_array(caller, name, value, layout):
    """`value` as a finite float64 array laid out as `layout`, e.g. "(N, H, W)" (3 axes).

    Raises DTypeError for a non-array (a Tensor, a GPU array), ShapeError for a wrong number of
    axes or an empty axis, DataError for NaN or infinity.
    """
    if not isinstance(value, (np.ndarray, list, tuple)):
        raise DTypeError(
            f"{caller}: {name} must be a NumPy array, got {type(value).__name__}; "
            "pass tensor.numpy() for a Tensor, minivae.backend.to_numpy(a) for a "
            "GPU array"
        )
    array = np.asarray(value)
    ndim = len(layout.strip("()").replace(",", " ").split())  # "(N, H, W)" -> 3, "(N,)" -> 1
    if array.ndim != ndim or 0 in array.shape:
        hint = ""
        if array.ndim == ndim - 1 and layout.endswith("H, W)"):
            hint = "; reshape flat images first, e.g. x.reshape(-1, 28, 28)"
        raise ShapeError(
            f"{caller}: {name} must have shape {layout} with no empty axis, "
            f"got shape {array.shape}{hint}"
        )
    if array.dtype.kind not in "biuf":
        raise DTypeError(f"{caller}: {name} must hold numbers, got dtype {array.dtype}")
    array = array.astype(np.float64)
    if not np.all(np.isfinite(array)):
        raise DataError(
            f"{caller}: {name} holds NaN or infinity ({np.sum(~np.isfinite(array))} "
            "values); a diverged model cannot be drawn, check the training loss"
        )
    return array


def as_images(caller, name, value, layout):
    """Like `as_array`, and also checks every pixel lies in [0, 1], black to white."""
    images = as_array(caller, name, value, layout)
    low, high = images.min(), images.max()
    if low < 0.0 or high > 1.0:
        hint = (
            "divide 8-bit images by 255"
            if np.asarray(value).dtype.kind in "iu"
            else "clip a Gaussian decoder's mean with np.clip(x, 0, 1), or turn logits into "
            "probabilities with a sigmoid"
        )
        raise DataError(
            f"{caller}: {name} must hold pixel values in [0, 1], got values from "
            f"{low:.3g} to {high:.3g}; {hint}"
        )
    return images


def check_length(caller, name, sequence, expected, meaning):
    """ShapeError unless `sequence` has `expected` items, one per `meaning` (e.g. "row")."""
    if len(sequence) != expected:
        raise ShapeError(
            f"{caller}: {name} must have one entry per {meaning} ({expected}), got {len(sequence)}"
        )
