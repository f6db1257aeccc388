"""Datasets whose IDX files read fine but hold what no model can train on: empty splits, images
with an empty axis, labels outside the classes or not integers. Each is refused when the dataset
is loaded, naming the file, instead of failing after training when the figures are drawn."""

import numpy as np
import pytest

from minivae.data import load_dataset
from minivae.data.idx import write_idx
from minivae.data.sources import FILENAMES
from minivae.errors import DataError

IMAGES = np.zeros((4, 3, 3), np.uint8)
LABELS = np.array([0, 9, 3, 3], np.uint8)


def mnist_dir(tmp_path, images=IMAGES, labels=LABELS):
    """A directory holding the four MNIST files: the test split as given, a good train split."""
    for name, array in zip(FILENAMES, (IMAGES, LABELS, images, labels), strict=True):
        write_idx(tmp_path / name, array)
    return tmp_path


def test_good_files_load(tmp_path):
    train, test = load_dataset("mnist", data_dir=mnist_dir(tmp_path), download=False)
    assert test.x.shape == (4, 9) and test.labels.tolist() == [0, 9, 3, 3]


@pytest.mark.parametrize(
    "images, labels, file, expected",
    [
        (np.zeros((0, 28, 28), np.uint8), np.zeros(0, np.uint8), 2,
         r"says shape \(0, 28, 28\), no images"),
        (np.zeros((4, 0, 28), np.uint8), LABELS, 2, r"shape \(4, 0, 28\), images with no pixels"),
        (IMAGES, np.array([0, 1, 10, 3], np.uint8), 3,
         "labels must be classes 0 to 9, found 0 to 10 .the first outside in example 2"),
        (IMAGES, np.array([0, -1, 2, 3], np.int8), 3, "found -1 to 3"),
        (IMAGES, np.array([0.0, 1.5, 2, 3], np.float32), 3,
         "labels must be integers .IDX type 0x08., got float32"),
    ],
    ids=["zero images", "empty axis", "label above", "label below", "float labels"],
)
def test_unusable_content_is_refused_naming_the_file(tmp_path, images, labels, file, expected):
    directory = mnist_dir(tmp_path, images, labels)
    with pytest.raises(DataError, match=expected) as error:
        load_dataset("mnist", data_dir=directory, download=False)
    assert str(directory / FILENAMES[file]) in str(error.value)
    assert "fetch the dataset again" in str(error.value)
