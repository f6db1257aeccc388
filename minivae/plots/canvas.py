"""The canvas every minivae figure is drawn on, and how a figure reaches the disk.

matplotlib is an optional extra (`pip install "minivae[plot]"`), so it is imported here, lazily,
when the first figure is made; importing `minivae.plots` alone never loads it. Figures are built
from `matplotlib.figure.Figure` and drawn by the Agg canvas (a PNG rasterizer) directly, not
through pyplot: no backend is switched globally, no window opens, and pyplot keeps no list of open
figures, so a figure is freed as soon as the function that made it returns.

Writing is atomic (`minivae.files.atomic_write`): a crash never leaves half an image behind, and
a viewer that reloads the file sees the old figure or the new one, never a mix.
"""

import os

from minivae.errors import MinivaeError
from minivae.files import atomic_write

DPI = 120  # pixels per inch of the PNG: a 6-inch-wide figure is 720 pixels wide


def new_figure(width, height):
    """A blank figure of `width` x `height` inches on an Agg canvas, with constrained layout."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as error:
        raise MinivaeError(
            'plots need matplotlib, which is not installed: pip install "minivae[plot]"'
        ) from error
    figure = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)  # attaches itself as figure.canvas
    return figure


def save_png(figure, path, caller):
    """Write `figure` to `path` (which must end in .png) atomically; `caller` names the plot."""
    path = os.fspath(path)
    if not path.lower().endswith(".png"):
        raise MinivaeError(
            f"{caller}: figures are written as PNG, so give a path ending in .png (got {path!r})"
        )
    with atomic_write(path) as file:
        figure.savefig(file, format="png")
