"""Finding MNIST-style files on disk when some have been gunzipped already (as many tools and
archives leave them): each file counts as <name>.gz or as <name> without the suffix."""

import os

import numpy as np
import pytest

from minivae.data import load_dataset
from minivae.data.idx import write_idx
from minivae.data.sources import FILENAMES, DatasetNotFoundError, locate

ARRAYS = (
    np.arange(3 * 28 * 28, dtype=np.uint8).reshape(3, 28, 28),
    np.array([1, 2, 3], np.uint8),
    np.full((2, 28, 28), 255, np.uint8),
    np.array([9, 0], np.uint8),
)


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    monkeypatch.delenv("MINIVAE_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path


def write(directory, gunzipped):
    """The four files, those whose index is in `gunzipped` without .gz (and not compressed)."""
    os.makedirs(directory, exist_ok=True)
    for i, (filename, array) in enumerate(zip(FILENAMES, ARRAYS, strict=True)):
        name = filename[:-3] if i in gunzipped else filename
        write_idx(os.path.join(directory, name), array, compress=i not in gunzipped)


def test_gunzipped_and_gzipped_files_are_found_together(isolated):
    write(isolated / "mixed", gunzipped={0, 3})
    paths = locate("mnist", data_dir=str(isolated / "mixed"), download=False, system_dir="/none")
    assert [os.path.basename(p) for p in paths] == [
        "train-images-idx3-ubyte",
        "train-labels-idx1-ubyte.gz",
        "t10k-images-idx3-ubyte.gz",
        "t10k-labels-idx1-ubyte",
    ]
    train, test = load_dataset("mnist", data_dir=str(isolated / "mixed"), download=False)
    np.testing.assert_array_equal(train.x, ARRAYS[0].reshape(3, -1) / np.float32(255))
    assert test.labels.tolist() == [9, 0] and test.x.max() == 1


def test_the_gzipped_file_wins_when_both_are_there(isolated):
    write(isolated / "both", gunzipped=set())
    write_idx(isolated / "both" / FILENAMES[0][:-3], np.zeros((1, 1), np.uint8))  # a stray copy
    paths = locate("mnist", data_dir=str(isolated / "both"), download=False, system_dir="/none")
    assert paths[0] == str(isolated / "both" / FILENAMES[0])


def test_a_file_missing_in_both_forms_passes_the_directory_over(isolated):
    write(isolated / "three", gunzipped={1})
    os.remove(isolated / "three" / FILENAMES[2])
    with pytest.raises(DatasetNotFoundError, match=r"\(gzipped or not\) in:\n  .*three"):
        locate("mnist", data_dir=str(isolated / "three"), download=False, system_dir="/none")
