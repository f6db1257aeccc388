"""The datasets minivae trains on, as `Dataset`s of flattened examples.

    train, test = load_dataset("fashion-mnist")
    train.x.shape   # (60000, 784), float32 in [0, 1]

Names (DATASET_NAMES):
    sprites         generated shapes with known factors (the default; nothing to download)
    mnist           handwritten digits        } found on disk or downloaded: see
    fashion-mnist   Zalando's clothing images } minivae.data.sources
    moons, gaussians, pinwheel   2-D toy distributions (use likelihood="gaussian")
"""

import dataclasses

import numpy as np

from minivae.data import sources, sprites, toy2d
from minivae.data.idx import FIX, read_idx
from minivae.errors import DataError

FASHION_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                   "Sneaker", "Bag", "Ankle boot")
TOY2D = {"moons": toy2d.two_moons, "gaussians": toy2d.gaussian_mixture, "pinwheel": toy2d.pinwheel}
DATASET_NAMES = ("sprites", "mnist", "fashion-mnist", *TOY2D)
SPRITES_SIZES = (20_000, 2_000)  # train, test
TOY2D_SIZES = (5_000, 1_000)


@dataclasses.dataclass
class Dataset:
    """One split of a dataset: examples x (N, D) and what is known about each of them."""

    name: str
    x: np.ndarray  # (N, D) float32: images flattened to D = H * W, pixels in [0, 1]
    labels: np.ndarray | None = None  # (N,) int64 classes
    class_names: tuple | None = None  # the name of each label
    factors: np.ndarray | None = None  # (N, K) float32 generating factors (sprites)
    factor_names: tuple | None = None
    image_shape: tuple | None = None  # (H, W), or None for points


def load_dataset(name="sprites", data_dir=None, download=True, seed=0):
    """(train, test) Datasets of `name`; see the module docstring for the names."""
    if name == "sprites":
        return tuple(_sprites(n, seed + i) for i, n in enumerate(SPRITES_SIZES))
    if name in TOY2D:
        return tuple(_toy2d(name, n, seed + i) for i, n in enumerate(TOY2D_SIZES))
    if name in sources.DATASETS:
        paths = sources.locate(name, data_dir=data_dir, download=download)
        names = FASHION_CLASSES if name == "fashion-mnist" else tuple(map(str, range(10)))
        return _idx_split(name, *paths[:2], names), _idx_split(name, *paths[2:], names)
    raise DataError(f"unknown dataset {name!r}: choose one of {', '.join(DATASET_NAMES)}")


def _sprites(n, seed):
    images, labels, factors = sprites.make_sprites(n, seed)
    return Dataset("sprites", images.reshape(n, -1), labels, sprites.SHAPES, factors,
                   sprites.FACTOR_NAMES, images.shape[1:])


def _toy2d(name, n, seed):
    points, labels = TOY2D[name](n, seed)
    return Dataset(name, points, labels)


def _idx_split(name, images_path, labels_path, class_names):
    images, labels = read_idx(images_path), read_idx(labels_path)
    _check_images(images_path, images)
    _check_labels(labels_path, labels, images_path, len(images), len(class_names))
    x = images.reshape(len(images), -1).astype(np.float32) / 255  # (N, H, W) -> (N, D)
    return Dataset(name, x, labels.astype(np.int64), class_names, image_shape=images.shape[1:])


def _check_images(path, images):
    """DataError unless `images` is a non-empty (N, H, W) uint8 array."""
    if images.ndim != 3 or images.dtype != np.uint8:
        raise DataError(f"{path}: expected uint8 images (N, H, W), got {images.dtype} "
                        f"{images.shape}; {FIX}")
    if 0 in images.shape:
        empty = "no images" if len(images) == 0 else "images with no pixels"
        raise DataError(f"{path}: its header says shape {images.shape}, {empty}; {FIX}")


def _check_labels(path, labels, images_path, n_images, n_classes):
    """DataError unless `labels` holds one integer class in [0, n_classes) per image."""
    if labels.shape != (n_images,):
        raise DataError(f"{path} holds {labels.shape} labels for {n_images} images in "
                        f"{images_path}: the two files do not belong together")
    if labels.dtype.kind not in "iu":
        raise DataError(f"{path}: labels must be integers (IDX type 0x08), got {labels.dtype}; "
                        f"{FIX}")
    low, high = int(labels.min()), int(labels.max())
    if low < 0 or high >= n_classes:
        first = int(np.argmax((labels < 0) | (labels >= n_classes)))
        raise DataError(
            f"{path}: labels must be classes 0 to {n_classes - 1}, found {low} to {high} (the "
            f"first outside in example {first}); {FIX}"
        )
