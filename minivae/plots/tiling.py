"""Tiling a stack of images into one picture: pure NumPy, no matplotlib.

    tile_images(images (N, H, W), ncols, pad) -> grid (nrows * (H + pad) + pad,
                                                       ncols * (W + pad) + pad)

Image k goes to grid row k // ncols, column k % ncols (filled row by row, like reading text).
A `pad`-pixel line of `pad_value` separates neighbours and frames each image; cells after the
last image (and their frames) are NaN, which matplotlib leaves transparent, so an incomplete last
row ends in blank page rather than in a gray block.
"""

import math

import numpy as np

from minivae.errors import ShapeError

SEPARATOR = 0.5  # mid-gray: visible between black backgrounds and between white ones


def tile_images(images, ncols=None, pad=1, pad_value=SEPARATOR):
    """One 2-D array holding the N images (N, H, W) on a grid of `ncols` columns.

    `ncols` defaults to ceil(sqrt(N)), the squarest grid. The top-left pixel of image k sits at
    row pad + (k // ncols) * (H + pad), column pad + (k % ncols) * (W + pad).
    """
    images = np.asarray(images)
    if images.ndim != 3 or 0 in images.shape:
        raise ShapeError(f"tile_images: images must have shape (N, H, W), got {images.shape}")
    n, h, w = images.shape
    ncols = math.ceil(math.sqrt(n)) if ncols is None else ncols
    if ncols < 1 or pad < 0:
        raise ShapeError(f"tile_images: need ncols >= 1 and pad >= 0, got ncols={ncols}, pad={pad}")
    nrows = math.ceil(n / ncols)
    grid = np.full((nrows * (h + pad) + pad, ncols * (w + pad) + pad), np.nan)
    for k in range(n):
        row, col = divmod(k, ncols)
        top, left = pad + row * (h + pad), pad + col * (w + pad)
        grid[top - pad : top + h + pad, left - pad : left + w + pad] = pad_value  # the frame
        grid[top : top + h, left : left + w] = images[k]
    return grid


def cell_centres(count, size, pad=1):
    """Pixel coordinates (as imshow places them) of the centres of `count` cells of `size` pixels.

    Cell j covers pixels pad + j * (size + pad) ... + size - 1; imshow puts pixel p's centre at
    coordinate p, so the cell's centre is at pad + j * (size + pad) + (size - 1) / 2.
    """
    return [pad + j * (size + pad) + (size - 1) / 2 for j in range(count)]
