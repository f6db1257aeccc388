"""The figures of a VAE run, written as PNG files with matplotlib (an optional extra).

Every function takes plain NumPy arrays and a path, never a model, so a figure can be redrawn
from saved arrays; images are (.., H, W) arrays of pixel values in [0, 1]. matplotlib is imported
only when a figure is drawn; without it the functions raise MinivaeError naming the command
`pip install "minivae[plot]"`. Files are written atomically.

    image_grid(images, path, title)        images (N, H, W) tiled into one grid
    samples(images, path)                  decoded samples from the prior
    reconstructions(inputs, recons, path)  each input above its reconstruction
    latent_scatter(z, path, colors, ...)   codes z (N, 2) coloured by class or by a factor
    manifold(images_grid, z_range, path)   decoder over a regular grid of a 2-D latent space
    interpolations(strips, path)           (R, S, H, W): R walks of S steps from x1 to x2
    traversals(images, dim_labels, values, path)   (L, S, H, W): one latent dim varied per row
    curves(rows, path)                     per-epoch metrics: -ELBO, reconstruction, KL
    points2d(data, model_points, path)     a 2-D toy dataset beside the model's points
    tile_images(images, ncols, pad)        the pure NumPy tiling under the image figures

Example:

    import numpy as np
    from minivae import plots
    plots.samples(np.random.rand(64, 28, 28), "runs/demo/samples.png")
"""

from minivae.plots.curves import curves
from minivae.plots.images import (
    image_grid,
    interpolations,
    manifold,
    reconstructions,
    samples,
    traversals,
)
from minivae.plots.scatter import latent_scatter, points2d
from minivae.plots.tiling import tile_images

__all__ = [
    "curves",
    "image_grid",
    "interpolations",
    "latent_scatter",
    "manifold",
    "points2d",
    "reconstructions",
    "samples",
    "tile_images",
    "traversals",
]
