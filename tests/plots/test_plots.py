"""Plots: each writes a real PNG of a sensible size, the tiling is exact, errors are clear."""

import os
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("matplotlib")

import matplotlib.figure  # noqa: E402 - only once matplotlib is known to be there
import matplotlib.image  # noqa: E402
from support import ROOT

from minivae import plots  # noqa: E402
from minivae.errors import DataError, DTypeError, MinivaeError, ShapeError  # noqa: E402
from minivae.plots.tiling import cell_centres  # noqa: E402

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
rng = np.random.default_rng(0)


def read_png(path):
    """The decoded RGBA pixels (h, w, 4) of a file that must be a non-empty PNG."""
    with open(path, "rb") as file:
        assert file.read(8) == PNG_SIGNATURE
    pixels = matplotlib.image.imread(path)
    assert pixels.ndim == 3 and pixels.shape[2] == 4
    assert pixels.shape[0] >= 200 and pixels.shape[1] >= 200
    return pixels


def gray(pixels):
    """Brightness 0 (black) .. 1 (white) of each pixel of an RGBA image."""
    return pixels[..., :3].mean(axis=2)


def metrics_rows(epochs, beta=False, autoencoder=False):
    rows = []
    for e in range(1, epochs + 1):
        row = dict(
            epoch=e,
            train_loss=100 + 50 / e,
            test_neg_elbo=None if autoencoder else 102 + 50 / e,
            test_recon=90 + 50 / e,
            test_kl=None if autoencoder else 12.0 - 5 / e,
        )
        if beta:
            row["beta"] = min(1.0, e / 3)
        rows.append(row)
    return rows


# name -> (draw(path), height / width of the PNG: (low, high)). Every image here is all black.
FIGURES = {
    "image_grid": (lambda p: plots.image_grid(np.zeros((64, 28, 28)), p, "grid"), (0.9, 1.3)),
    "samples": (lambda p: plots.samples(np.zeros((10, 28, 28)), p), (0.7, 1.3)),
    "reconstructions": (
        lambda p: plots.reconstructions(np.zeros((12, 28, 28)), np.zeros((12, 28, 28)), p),
        (0.3, 0.9),
    ),
    "manifold": (lambda p: plots.manifold(np.zeros((8, 8, 28, 28)), (-2, 2), p), (0.9, 1.2)),
    "interpolations": (lambda p: plots.interpolations(np.zeros((3, 9, 28, 28)), p), (0.3, 0.7)),
    "traversals": (
        lambda p: plots.traversals(
            np.zeros((4, 7, 28, 28)), [f"z{i}" for i in range(4)], np.linspace(-3, 3, 7), p
        ),
        (0.4, 0.8),
    ),
}
IMAGE_FIGURES = list(FIGURES)
FIGURES.update(
    {
        "latent_classes": (
            lambda p: plots.latent_scatter(
                rng.normal(size=(500, 2)),
                p,
                rng.integers(0, 10, 500),
                "digit",
                class_names=[f"digit {i}" for i in range(10)],
            ),
            (0.6, 1.0),
        ),
        "latent_continuous": (
            lambda p: plots.latent_scatter(
                rng.normal(size=(500, 2)), p, rng.uniform(size=500), "thickness"
            ),
            (0.6, 1.0),
        ),
        "latent_plain": (lambda p: plots.latent_scatter(rng.normal(size=(50, 2)), p), (0.6, 1.0)),
        "curves": (lambda p: plots.curves(metrics_rows(12), p), (0.2, 0.45)),
        "curves_beta": (lambda p: plots.curves(metrics_rows(40, beta=True), p), (0.2, 0.45)),
        "curves_one_epoch": (lambda p: plots.curves(metrics_rows(1), p), (0.2, 0.45)),
        "curves_autoencoder": (
            lambda p: plots.curves(metrics_rows(8, autoencoder=True), p), (0.6, 0.8)
        ),
        "points2d": (
            lambda p: plots.points2d(rng.normal(size=(300, 2)), rng.normal(size=(200, 2)), p),
            (0.4, 0.65),
        ),
    }
)


@pytest.mark.parametrize("name", FIGURES)
def test_each_figure_is_a_png_of_the_expected_shape(name, tmp_path):
    draw, (low, high) = FIGURES[name]
    path = tmp_path / "out" / f"{name}.png"  # the missing directory is created
    draw(path)
    pixels = read_png(path)
    assert low <= pixels.shape[0] / pixels.shape[1] <= high
    assert gray(pixels).std() > 0.05  # something was drawn on the white page
    assert os.listdir(path.parent) == [path.name]  # no temporary file left behind


@pytest.mark.parametrize("name", IMAGE_FIGURES)
def test_image_figures_show_their_images_large(name, tmp_path):
    # All images are black: they must cover a good part of the page, not shrink to a speck.
    FIGURES[name][0](tmp_path / "f.png")
    assert (gray(read_png(tmp_path / "f.png")) < 0.1).mean() > 0.3


def test_manifold_has_z2_increasing_upwards_and_z1_to_the_right(tmp_path):
    n = 6
    up = np.broadcast_to(np.linspace(0, 1, n)[:, None, None, None], (n, n, 10, 10))
    plots.manifold(up, (-2, 2), tmp_path / "up.png")  # brightness = z2 index i
    brightness = gray(read_png(tmp_path / "up.png"))
    h, w = brightness.shape
    middle = slice(w // 3, 2 * w // 3)
    assert brightness[h // 4, middle].mean() > brightness[3 * h // 4, middle].mean() + 0.3

    right = np.broadcast_to(np.linspace(0, 1, n)[None, :, None, None], (n, n, 10, 10))
    plots.manifold(right, (-2, 2), tmp_path / "right.png")  # brightness = z1 index j
    brightness = gray(read_png(tmp_path / "right.png"))
    rows = slice(h // 3, 2 * h // 3)
    assert brightness[rows, 3 * w // 4].mean() > brightness[rows, w // 4].mean() + 0.3


# --- tiling: a pure NumPy function, checked pixel by pixel --------------------------------------


def test_tile_images_puts_image_k_at_row_k_div_ncols_column_k_mod_ncols():
    n, h, w, ncols, pad = 7, 3, 5, 3, 1
    images = np.stack([np.full((h, w), 10.0 + k) for k in range(n)])
    grid = plots.tile_images(images, ncols=ncols, pad=pad, pad_value=-1.0)
    assert grid.shape == (3 * (h + pad) + pad, 3 * (w + pad) + pad)  # 3 rows of 3 columns
    for k in range(n):
        top, left = pad + (k // ncols) * (h + pad), pad + (k % ncols) * (w + pad)
        assert np.all(grid[top : top + h, left : left + w] == 10.0 + k)
        assert np.all(grid[top - 1, left : left + w] == -1.0)  # separator above
        assert np.all(grid[top : top + h, left - 1] == -1.0)  # separator to the left
    assert np.all(np.isnan(grid[-h - pad :, -2 * w - pad :]))  # cells 7 and 8 stay blank


def test_tile_images_without_padding_equals_a_reshape():
    images = rng.uniform(size=(6, 4, 3))  # 2 rows of 3, H != W so a swapped axis shows
    expected = images.reshape(2, 3, 4, 3).transpose(0, 2, 1, 3).reshape(8, 9)
    np.testing.assert_array_equal(plots.tile_images(images, ncols=3, pad=0), expected)


def test_tile_images_defaults_to_the_squarest_grid():
    assert plots.tile_images(np.zeros((10, 2, 2))).shape == (3 * 3 + 1, 4 * 3 + 1)  # 3 x 4
    assert plots.tile_images(np.zeros((9, 2, 2))).shape == (3 * 3 + 1, 3 * 3 + 1)  # 3 x 3


def test_cell_centres_are_the_centres_of_the_tiled_images():
    grid = plots.tile_images(np.ones((4, 6, 5)), ncols=4, pad=2, pad_value=0.0)
    columns = np.flatnonzero(grid[3] == 1.0)  # a pixel row through all four images
    assert cell_centres(4, 5, 2) == [columns[5 * j : 5 * j + 5].mean() for j in range(4)]


def test_tile_images_rejects_a_flat_batch():
    with pytest.raises(ShapeError, match=r"tile_images.*\(4, 784\)"):
        plots.tile_images(np.zeros((4, 784)))


# --- errors ---------------------------------------------------------------------------------------


def test_missing_matplotlib_says_what_to_install(monkeypatch, tmp_path):
    for name in (
        "matplotlib",
        "matplotlib.figure",
        "matplotlib.backends",
        "matplotlib.backends.backend_agg",
    ):
        monkeypatch.setitem(sys.modules, name, None)  # `import name` now raises ImportError
    with pytest.raises(MinivaeError, match=r'pip install "minivae\[plot\]"'):
        plots.image_grid(np.zeros((4, 8, 8)), tmp_path / "g.png", "grid")
    assert not os.listdir(tmp_path)


def test_importing_plots_does_not_import_matplotlib():
    code = "import sys, minivae.plots; print('matplotlib' in sys.modules)"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.stdout.strip() == "False", out.stderr


def zeros(*shape):
    return np.zeros(shape)


@pytest.mark.parametrize(
    "call, fragments",
    [
        (lambda p: plots.image_grid(zeros(4, 784), p, "t"), ["image_grid", "(4, 784)", "reshape"]),
        (lambda p: plots.samples(zeros(0, 8, 8), p), ["samples", "(0, 8, 8)"]),
        (
            lambda p: plots.reconstructions(zeros(3, 8, 8), zeros(4, 8, 8), p),
            ["reconstructions", "(3, 8, 8)", "(4, 8, 8)"],
        ),
        (lambda p: plots.latent_scatter(zeros(10, 3), p), ["latent_scatter", "(10, 3)"]),
        (
            lambda p: plots.latent_scatter(zeros(10, 2), p, np.arange(9), "digit"),
            ["latent_scatter", "colors", "(9,)"],
        ),
        (
            lambda p: plots.latent_scatter(zeros(10, 2), p, np.arange(10) % 3, "digit", ["a", "b"]),
            ["latent_scatter", "class_names"],
        ),
        (lambda p: plots.manifold(zeros(3, 4, 8, 8), (-2, 2), p), ["manifold", "(3, 4, 8, 8)"]),
        (lambda p: plots.manifold(zeros(3, 3, 8, 8), (2, -2), p), ["manifold", "z_range"]),
        (lambda p: plots.interpolations(zeros(3, 8, 8), p), ["interpolations", "(3, 8, 8)"]),
        (
            lambda p: plots.traversals(zeros(2, 5, 8, 8), ["z1"], range(5), p),
            ["traversals", "dim_labels"],
        ),
        (
            lambda p: plots.traversals(zeros(2, 5, 8, 8), ["z1", "z2"], range(4), p),
            ["traversals", "values"],
        ),
        (lambda p: plots.points2d(zeros(10, 3), zeros(10, 2), p), ["points2d", "(10, 3)"]),
    ],
)
def test_bad_shapes_name_the_function_and_the_shape(call, fragments, tmp_path):
    with pytest.raises(ShapeError) as error:
        call(tmp_path / "f.png")
    for fragment in fragments:
        assert fragment in str(error.value)
    assert not os.listdir(tmp_path)


def test_pixels_outside_0_1_are_refused_with_a_hint(tmp_path):
    with pytest.raises(DataError, match="255"):
        plots.samples(np.full((4, 8, 8), 200, dtype=np.uint8), tmp_path / "s.png")
    with pytest.raises(DataError, match="np.clip"):
        plots.samples(np.full((4, 8, 8), -0.2), tmp_path / "s.png")
    with pytest.raises(DataError, match="NaN"):
        plots.samples(np.full((4, 8, 8), np.nan), tmp_path / "s.png")


def test_non_arrays_are_refused(tmp_path):
    with pytest.raises(DTypeError, match=r"latent_scatter.*numpy\(\)"):
        plots.latent_scatter(object(), tmp_path / "z.png")


def test_continuous_colors_need_a_name_and_too_many_classes_are_refused(tmp_path):
    z = rng.normal(size=(100, 2))
    with pytest.raises(MinivaeError, match="color_label"):
        plots.latent_scatter(z, tmp_path / "z.png", rng.uniform(size=100))
    with pytest.raises(MinivaeError, match="25 classes"):
        plots.latent_scatter(z, tmp_path / "z.png", np.arange(100) % 25, "id")


def test_curves_name_the_missing_key_and_the_row(tmp_path):
    rows = metrics_rows(3)
    del rows[2]["test_kl"]
    with pytest.raises(DataError, match="row 2.*'test_kl'"):
        plots.curves(rows, tmp_path / "c.png")
    with pytest.raises(DataError, match="non-empty"):
        plots.curves([], tmp_path / "c.png")


def test_path_must_end_in_png(tmp_path):
    with pytest.raises(MinivaeError, match=r"\.png"):
        plots.samples(zeros(4, 8, 8), tmp_path / "s.jpg")


def test_a_failed_write_keeps_the_previous_figure(monkeypatch, tmp_path):
    path = tmp_path / "s.png"
    plots.samples(zeros(4, 8, 8), path)
    before = path.read_bytes()

    def broken_savefig(self, *args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", broken_savefig)
    with pytest.raises(RuntimeError, match="disk full"):
        plots.samples(np.ones((4, 8, 8)), path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["s.png"]  # the temporary file was removed
