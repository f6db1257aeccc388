"""The IDX reader on files the tests write: every type, gzip or raw, and every way to be broken."""

import gzip

import numpy as np
import pytest

from minivae.data.idx import TYPES, read_idx, write_idx
from minivae.errors import DataError


@pytest.mark.parametrize("dtype", [t.newbyteorder("=") for t in TYPES.values()], ids=str)
@pytest.mark.parametrize("suffix", [".gz", ""])
def test_round_trip_for_every_type_code(tmp_path, dtype, suffix):
    array = (np.arange(24).reshape(2, 3, 4) - 5).astype(dtype)
    path = tmp_path / f"a-idx3{suffix}"
    write_idx(path, array)
    assert (path.read_bytes()[:2] == b"\x1f\x8b") == (suffix == ".gz")
    back = read_idx(path)
    assert back.dtype == dtype and back.shape == (2, 3, 4)
    np.testing.assert_array_equal(back, array)


def test_header_is_big_endian_as_the_format_says(tmp_path):
    write_idx(tmp_path / "x", np.zeros((60000, 28, 28), np.uint8)[:1].repeat(3, 0))
    assert (tmp_path / "x").read_bytes()[:16].hex() == "00000803" + "00000003" + "0000001c" * 2


def test_gzip_is_detected_by_content_not_name(tmp_path):
    path = tmp_path / "labels.raw"
    path.write_bytes(gzip.compress(bytes([0, 0, 8, 1, 0, 0, 0, 2, 7, 9])))
    assert read_idx(path).tolist() == [7, 9]


def test_truncated_file_names_expected_and_found(tmp_path):
    path = tmp_path / "t"
    write_idx(path, np.ones((10, 4), np.uint8))
    path.write_bytes(path.read_bytes()[:-5])
    with pytest.raises(DataError, match=r"shape \(10, 4\).*40 bytes.*holds 35: it is truncated"):
        read_idx(path)


def test_bad_magic_is_not_an_idx_file(tmp_path):
    path = tmp_path / "m"
    path.write_bytes(b"PK\x03\x04 not idx")
    with pytest.raises(DataError, match="is not an IDX file: it starts with 50 4b 03 04"):
        read_idx(path)


def test_header_that_promises_more_dimensions_than_the_file_holds(tmp_path):
    path = tmp_path / "d"
    path.write_bytes(bytes([0, 0, 8, 3, 0, 0, 0, 1]))
    with pytest.raises(DataError, match="promises 3 dimensions but the file ends"):
        read_idx(path)


def test_corrupt_gzip_stream(tmp_path):
    path = tmp_path / "c.gz"
    write_idx(path, np.ones((100, 100), np.uint8))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(
        DataError, match="gzip stream is truncated or corrupt.*fetch the dataset again"
    ):
        read_idx(path)


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        read_idx(tmp_path / "nothing")
