"""Figures made of images: sample grids, reconstructions, interpolations, traversals, manifolds.

Each function checks its arrays (pixel values in [0, 1]), tiles them with `tile_images`, shows the
tiled picture in gray (0 = black, 1 = white) with square pixels and no smoothing, labels the rows
or axes, and writes a PNG atomically.
"""

import numpy as np

from minivae.errors import ShapeError
from minivae.plots.canvas import new_figure, save_png
from minivae.plots.checks import as_images, check_length
from minivae.plots.tiling import cell_centres, tile_images

PAD = 1  # pixels between neighbouring images


def _grid_axes(grid, title, extra_width=0.0, extra_height=0.0, extent=None, long_side=6.0):
    """A figure whose one axes shows the tiled `grid`, sized so the longer side is `long_side`
    inches; `extra_*` inches leave room for tick labels beside and below it.

    Without an `extent` the axes count pixels, which mean nothing to a reader, so ticks and frame
    are hidden (callers label rows or columns themselves); with one, (left, right, bottom, top)
    in data units, the axes keep their ticks.
    """
    height, width = grid.shape
    inches_per_pixel = long_side / max(height, width)
    figure = new_figure(
        max(4.0, width * inches_per_pixel + extra_width),
        height * inches_per_pixel + 0.5 + extra_height,
    )  # 0.5: the title
    axes = figure.add_subplot()
    axes.imshow(grid, cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest", extent=extent)
    axes.set_title(title)
    if extent is None:
        axes.set_xticks([])
        axes.set_yticks([])
        for spine in axes.spines.values():
            spine.set_visible(False)
    return figure, axes


def image_grid(images, path, title, ncols=None):
    """Tile images (N, H, W) in [0, 1] into one titled grid, `ncols` per row (default: squarest)."""
    images = as_images("image_grid", "images", images, "(N, H, W)")
    figure, _ = _grid_axes(tile_images(images, ncols, PAD), title)
    save_png(figure, path, "image_grid")


def samples(images, path, title="Samples from the prior, z ~ N(0, I)", ncols=None):
    """The decoder's images (N, H, W) for latent codes z drawn from the prior."""
    images = as_images("samples", "images", images, "(N, H, W)")
    figure, _ = _grid_axes(tile_images(images, ncols, PAD), title)
    save_png(figure, path, "samples")


def reconstructions(inputs, recons, path, title="Inputs and their reconstructions", ncols=10):
    """Inputs (N, H, W) and their reconstructions (N, H, W) in alternating, labelled rows.

    Each input sits directly above its reconstruction, `ncols` images to a row.
    """
    inputs = as_images("reconstructions", "inputs", inputs, "(N, H, W)")
    recons = as_images("reconstructions", "recons", recons, "(N, H, W)")
    if inputs.shape != recons.shape:
        raise ShapeError(
            f"reconstructions: inputs {inputs.shape} and recons {recons.shape} must "
            "have the same shape, one reconstruction per input"
        )
    n, h, w = inputs.shape
    ncols = min(ncols, n)
    pairs = -(-n // ncols)  # rows of inputs, each followed by its row of reconstructions
    missing = np.full((pairs * ncols - n, h, w), np.nan)  # blank end of the last row pair
    bands = np.stack(
        [
            np.concatenate([stack, missing]).reshape(pairs, ncols, h, w)
            for stack in (inputs, recons)
        ],
        axis=1,
    )  # (pairs, 2, ncols, H, W)
    grid = tile_images(bands.reshape(-1, h, w), ncols, PAD)  # (pairs * 2 * ncols, H, W) -> 2-D
    # Erase the frames tile_images drew around the blank cells, leaving empty page there.
    grid[PAD + (2 * pairs - 2) * (h + PAD) :, PAD + (n - (pairs - 1) * ncols) * (w + PAD) :] = (
        np.nan
    )
    figure, axes = _grid_axes(grid, title, extra_width=1.3)
    axes.set_yticks(cell_centres(2 * pairs, h, PAD), ["input", "reconstruction"] * pairs)
    axes.tick_params(length=0)
    save_png(figure, path, "reconstructions")


def interpolations(strips, path, title="Interpolations between two encoded inputs"):
    """Strips (R, S, H, W): each of the R rows walks in S steps from x1 (left) to x2 (right)."""
    strips = as_images("interpolations", "strips", strips, "(R, S, H, W)")
    r, s, h, w = strips.shape
    grid = tile_images(strips.reshape(r * s, h, w), s, PAD)  # (R, S, H, W) -> (R * S, H, W)
    figure, axes = _grid_axes(grid, title, extra_height=0.4)
    centres = cell_centres(s, w, PAD)
    axes.set_xticks([centres[0], centres[-1]], ["x1", "x2"])
    axes.set_xlabel("decoded along the latent path from the code of x1 to that of x2")
    axes.tick_params(length=0)
    save_png(figure, path, "interpolations")


def traversals(
    images,
    dim_labels,
    values,
    path,
    title="Latent traversals: one dimension varied, the others held fixed",
):
    """Images (L, S, H, W): row i decodes z with dimension i set to each of the S `values`.

    `dim_labels` names the L rows (e.g. "z3 (KL 2.1 nats)"); the columns are labelled by value.
    """
    images = as_images("traversals", "images", images, "(L, S, H, W)")
    rows, steps, h, w = images.shape
    check_length("traversals", "dim_labels", dim_labels, rows, "row of images")
    check_length("traversals", "values", values, steps, "column of images")
    values = [float(v) for v in values]
    grid = tile_images(images.reshape(rows * steps, h, w), steps, PAD)  # (L * S, H, W) -> 2-D
    figure, axes = _grid_axes(grid, title, extra_width=1.6, extra_height=0.5)
    axes.set_yticks(cell_centres(rows, h, PAD), [str(label) for label in dim_labels])
    every = -(-steps // 9)  # at most 9 value labels, so they never overlap
    centres = cell_centres(steps, w, PAD)
    axes.set_xticks(centres[::every], [f"{v:.3g}" for v in values[::every]])
    axes.set_xlabel("value of the varied latent dimension")
    axes.tick_params(length=0)
    save_png(figure, path, "traversals")


def manifold(images_grid, z_range, path, title="Decoder over a grid of the 2-D latent space"):
    """Images (n, n, H, W) decoded on a regular grid of z = (z1, z2); the axes show z.

    images_grid[i, j] is the decoding of z1 = v[j], z2 = v[i], where v = np.linspace(lo, hi, n)
    and (lo, hi) = z_range. z1 grows to the right and z2 upwards, as on any plot of a plane.
    """
    images = as_images("manifold", "images_grid", images_grid, "(n, n, H, W)")
    n, m, h, w = images.shape
    if n != m or n < 2:
        raise ShapeError(
            f"manifold: images_grid must have shape (n, n, H, W) with n >= 2 (the "
            f"same number of z1 and z2 values), got {images.shape}"
        )
    lo, hi = (float(v) for v in z_range)
    if not lo < hi:
        raise ShapeError(f"manifold: z_range must be (low, high) with low < high, got {z_range}")
    # Row i of images_grid has z2 = v[i]; flip so the largest z2 is the top row of the picture.
    grid = tile_images(images[::-1].reshape(n * n, h, w), n, PAD)  # (n * n, H, W) -> 2-D
    # Map the picture's edges to z so each cell's centre lands exactly on its grid value: a cell
    # is size + PAD pixels wide and neighbouring cells are one step of z apart.
    step = (hi - lo) / (n - 1)
    z_per_x, z_per_y = step / (w + PAD), step / (h + PAD)
    left = lo - (PAD + w / 2) * z_per_x
    top = hi + (PAD + h / 2) * z_per_y
    extent = (left, left + grid.shape[1] * z_per_x, top - grid.shape[0] * z_per_y, top)
    figure, axes = _grid_axes(grid, title, extra_width=0.6, extra_height=0.5, extent=extent)
    axes.set_aspect(z_per_x / z_per_y)  # square pixels whatever H and W are
    axes.set_xlabel("z1")
    axes.set_ylabel("z2")
    axes.locator_params(nbins=7)
    save_png(figure, path, "manifold")
