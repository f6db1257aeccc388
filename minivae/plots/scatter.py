"""Scatter plots of points in a plane: latent codes coloured by a label, and 2-D toy data.

Both keep equal scales on the two axes, so a round cloud looks round: the prior N(0, I) is
isotropic, and a squashed plot would make the codes look correlated when they are not.
"""

import numpy as np

from minivae.errors import MinivaeError, ShapeError
from minivae.plots.canvas import new_figure, save_png
from minivae.plots.checks import as_array

MAX_CLASSES = 20  # distinct colours a legend can still tell apart (matplotlib's "tab20")


def _marker_size(n):
    """Smaller, more transparent dots as the cloud grows, so dense regions stay readable."""
    return float(np.clip(6000.0 / n, 3.0, 25.0)), (0.8 if n <= 2000 else 0.6)


def latent_scatter(
    z,
    path,
    colors=None,
    color_label=None,
    class_names=None,
    title="Latent codes of the test set",
    axis_labels=("z1", "z2"),
):
    """Points z (N, 2), coloured by class or by a continuous factor.

    colors: None (one colour); integer class labels (N,), drawn with distinct colours and a
    legend, named by `class_names[label]` when given; or floats (N,), drawn on a continuous
    colour scale whose colorbar is named `color_label`. For a latent space of more than two
    dimensions pass a 2-D projection and say which in `title` and `axis_labels` (e.g. "PC1").
    Points are drawn in a fixed shuffled order so no class is hidden under the one drawn last.
    """
    z = as_array("latent_scatter", "z", z, "(N, 2)")
    if z.shape[1] != 2:
        raise ShapeError(
            f"latent_scatter: z must have shape (N, 2), got {z.shape}; project a "
            "higher-dimensional latent to 2-D first (e.g. PCA) and say so in title"
        )
    n = len(z)
    size, alpha = _marker_size(n)
    order = np.random.default_rng(0).permutation(n)
    figure = new_figure(7.0, 5.6)
    axes = figure.add_subplot()
    if colors is None:
        axes.scatter(z[order, 0], z[order, 1], s=size, alpha=alpha, linewidths=0)
    else:
        raw = np.asarray(colors)
        values = as_array("latent_scatter", "colors", colors, "(N,)")
        if len(values) != n:
            raise ShapeError(
                f"latent_scatter: colors must have one value per point, shape ({n},), "
                f"got {values.shape}"
            )
        if raw.dtype.kind in "biu" or class_names is not None:
            _draw_classes(
                figure,
                axes,
                z[order],
                values[order].astype(int),
                size,
                alpha,
                color_label,
                class_names,
            )
        else:
            if color_label is None:
                raise MinivaeError(
                    "latent_scatter: continuous colors need a color_label to "
                    'name the colorbar (e.g. color_label="stroke thickness")'
                )
            points = axes.scatter(
                z[order, 0],
                z[order, 1],
                c=values[order],
                cmap="viridis",
                s=size,
                alpha=alpha,
                linewidths=0,
            )
            figure.colorbar(points, ax=axes, label=color_label)
    axes.set_aspect("equal", adjustable="datalim")
    axes.set_xlabel(axis_labels[0])
    axes.set_ylabel(axis_labels[1])
    axes.set_title(title)
    axes.grid(alpha=0.3)
    save_png(figure, path, "latent_scatter")


def _draw_classes(figure, axes, z, labels, size, alpha, color_label, class_names):
    """Scatter z (N, 2) with one colour per integer label, and a legend of class names."""
    import matplotlib  # loaded by now: new_figure succeeded
    from matplotlib.lines import Line2D

    classes = np.unique(labels)
    if len(classes) > MAX_CLASSES:
        raise MinivaeError(
            f"latent_scatter: {len(classes)} classes are more than a legend can "
            f"tell apart ({MAX_CLASSES}); pass colors as floats for a colour scale"
        )
    if class_names is not None and (classes.min() < 0 or classes.max() >= len(class_names)):
        raise ShapeError(
            f"latent_scatter: labels run from {classes.min()} to {classes.max()} but "
            f"class_names has {len(class_names)} names; give one name per label"
        )
    palette = matplotlib.colormaps["tab10" if len(classes) <= 10 else "tab20"].colors
    index = np.searchsorted(classes, labels)  # label -> 0 .. len(classes) - 1
    axes.scatter(z[:, 0], z[:, 1], c=np.asarray(palette)[index], s=size, alpha=alpha, linewidths=0)
    names = [str(c) if class_names is None else str(class_names[c]) for c in classes]
    handles = [
        Line2D([], [], linestyle="", marker="o", markersize=7, color=palette[i], label=name)
        for i, name in enumerate(names)
    ]
    figure.legend(handles=handles, title=color_label, loc="outside right upper")


def points2d(
    data,
    model_points,
    path,
    title="A 2-D dataset and the model's points",
    model_label="model samples",
):
    """Data points (N, 2) beside the model's points (M, 2) (samples or reconstructions),
    on the same axes limits so the two clouds can be compared by eye."""
    data = as_array("points2d", "data", data, "(N, 2)")
    model_points = as_array("points2d", "model_points", model_points, "(M, 2)")
    for name, array in (("data", data), ("model_points", model_points)):
        if array.shape[1] != 2:
            raise ShapeError(
                f"points2d: {name} must be points in the plane, shape (N, 2), got {array.shape}"
            )
    figure = new_figure(10.0, 5.2)
    figure.suptitle(title)
    left, right = figure.subplots(1, 2, sharex=True, sharey=True)
    for axes, points, label in ((left, data, "data"), (right, model_points, model_label)):
        size, alpha = _marker_size(len(points))
        axes.scatter(
            points[:, 0],
            points[:, 1],
            s=size,
            alpha=alpha,
            linewidths=0,
            color="tab:blue" if axes is left else "tab:orange",
        )
        axes.set_title(f"{label} ({len(points)} points)")
        axes.set_xlabel("x1")
        axes.set_aspect("equal")
        axes.grid(alpha=0.3)
    left.set_ylabel("x2")
    save_png(figure, path, "points2d")
