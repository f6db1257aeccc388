"""The IDX reader on hostile files: every outcome is the right array or a MinivaeError, promptly
and in little memory.

The right array is what an independent, whole-file reading of the same bytes finds (`reference`
below, which may read everything because the test files are small); a file it cannot read must
make `read_idx` raise a MinivaeError. Mutations: bit flips of valid files, truncation at every
length of small files, random headers; then the special cases: a named pipe, a directory, a
device, gzip bombs, headers that promise too much.
"""

import gzip
import math
import os
import struct
import threading
import zlib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.bounds import measured

from minivae.data.idx import GZIP_MAGIC, MAX_DATA_BYTES, MAX_NDIM, TYPES, read_idx, write_idx
from minivae.errors import DataError, MinivaeError

SECONDS = 1.0  # the most one small file may take
PEAK_BYTES = 8 << 20  # the most one small file may allocate, whatever its header promises
FUZZ = settings(
    max_examples=300, deadline=1000, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
DTYPES = [t.newbyteorder("=") for t in TYPES.values()]


def reference(data):
    """The array the bytes of an IDX file hold, read whole by the format; None if they are not
    one (the reader must then raise)."""
    if data[:2] == GZIP_MAGIC:
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error):
            return None
    if len(data) < 4 or data[:2] != b"\x00\x00" or data[2] not in TYPES or data[3] > MAX_NDIM:
        return None
    dtype, ndim = TYPES[data[2]], data[3]
    if len(data) < 4 + 4 * ndim:
        return None
    shape = struct.unpack(f">{ndim}I", data[4 : 4 + 4 * ndim])
    if math.prod(shape) * dtype.itemsize != len(data) - 4 - 4 * ndim:
        return None
    return np.frombuffer(data, dtype, offset=4 + 4 * ndim).reshape(shape)


def measured_read(path):
    """(the array or the MinivaeError read_idx gave, seconds, peak bytes allocated)."""
    return measured(read_idx, path)


def assert_right_array_or_error(path):
    """Read `path` and check the outcome against `reference`, and its time and memory."""
    expected = reference(path.read_bytes())
    outcome, seconds, peak = measured_read(path)
    assert seconds < SECONDS and peak < PEAK_BYTES, (seconds, peak)
    if expected is None:
        assert isinstance(outcome, MinivaeError), f"accepted a broken file: {outcome!r}"
        return
    assert not isinstance(outcome, MinivaeError), f"refused a good file: {outcome}"
    assert outcome.shape == expected.shape and outcome.dtype == expected.dtype.newbyteorder("=")
    assert outcome.tobytes() == expected.astype(outcome.dtype).tobytes()  # bitwise: NaN too


@st.composite
def idx_files(draw):
    """The bytes of a small valid IDX file: any type, 0 to 3 dimensions, raw or gzipped."""
    dtype = draw(st.sampled_from(DTYPES))
    shape = tuple(draw(st.lists(st.integers(0, 4), max_size=3)))
    raw = draw(st.binary(min_size=math.prod(shape) * dtype.itemsize,
                         max_size=math.prod(shape) * dtype.itemsize))
    array = np.frombuffer(raw, dtype).reshape(shape)
    header = struct.pack(f">BBBB{len(shape)}I", 0, 0, _code(dtype), len(shape), *shape)
    data = header + array.astype(dtype.newbyteorder(">")).tobytes()
    return gzip.compress(data) if draw(st.booleans()) else data


def _code(dtype):
    return next(c for c, t in TYPES.items() if t.newbyteorder("=") == dtype)


@FUZZ
@given(data=idx_files(), flips=st.lists(st.integers(0, 2**16), min_size=1, max_size=8))
def test_bit_flips_give_the_right_array_or_an_error(tmp_path, data, flips):
    mutated = bytearray(data)
    for bit in flips:
        mutated[(bit // 8) % len(mutated)] ^= 1 << (bit % 8)
    path = tmp_path / "flipped"
    path.write_bytes(bytes(mutated))
    assert_right_array_or_error(path)


SIZES = st.one_of(st.integers(0, 8), st.integers(0, 2**32 - 1))  # small ones, and any at all


@FUZZ
@given(
    type_code=st.one_of(st.sampled_from(sorted(TYPES)), st.integers(0, 255)),
    ndim=st.one_of(st.integers(0, 4), st.integers(0, 255)),
    sizes=st.lists(SIZES, max_size=40),
    payload=st.binary(max_size=300),
    gzipped=st.booleans(),
)
def test_random_headers_give_the_right_array_or_an_error(
    tmp_path, type_code, ndim, sizes, payload, gzipped
):
    data = bytes([0, 0, type_code, ndim]) + b"".join(struct.pack(">I", s) for s in sizes)
    data += payload
    path = tmp_path / "header"
    path.write_bytes(gzip.compress(data) if gzipped else data)
    assert_right_array_or_error(path)


SMALL_FILES = {
    "uint8 (3, 2)": np.arange(6, dtype=np.uint8).reshape(3, 2),
    "float64 (2,)": np.array([1.5, np.nan]),
    "int16 (2, 1, 2)": np.array([[[-1, 2]], [[300, -400]]], np.int16),
    "empty float32 (0, 3)": np.zeros((0, 3), np.float32),
}


@pytest.mark.parametrize("suffix", ["", ".gz"])
@pytest.mark.parametrize("name", SMALL_FILES)
def test_truncation_at_every_length_is_an_error(tmp_path, name, suffix):
    whole = tmp_path / f"whole{suffix}"
    write_idx(whole, SMALL_FILES[name])
    data = whole.read_bytes()
    cut = tmp_path / "cut"
    for length in range(len(data)):
        cut.write_bytes(data[:length])
        assert_right_array_or_error(cut)
        assert isinstance(measured_read(cut)[0], DataError), length
    np.testing.assert_array_equal(read_idx(whole), SMALL_FILES[name])


def test_a_named_pipe_is_refused_at_once_instead_of_waited_on(tmp_path):
    pipe = tmp_path / "train-images-idx3-ubyte"
    os.mkfifo(pipe)
    outcome = {}
    reader = threading.Thread(target=lambda: outcome.update(read=measured_read(pipe)))
    reader.start()
    reader.join(timeout=5)
    if reader.is_alive():  # it opened the pipe: a writer lets it go, then the test fails
        os.close(os.open(pipe, os.O_WRONLY | os.O_NONBLOCK))
        reader.join()
        pytest.fail("read_idx waited for a writer on a named pipe")
    error, seconds, _ = outcome["read"]
    assert isinstance(error, DataError) and seconds < SECONDS
    assert "is a named pipe, not a regular file" in str(error) and str(pipe) in str(error)


def test_a_directory_is_refused(tmp_path):
    with pytest.raises(DataError, match=r"is a directory, not a regular file: pass the path"):
        read_idx(tmp_path)


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="no /dev/zero here")
def test_an_endless_device_is_refused_without_reading_it():
    outcome, seconds, peak = measured_read("/dev/zero")
    assert isinstance(outcome, DataError) and "is a device or socket" in str(outcome)
    assert seconds < SECONDS and peak < PEAK_BYTES


def gigabyte_of_zeros():
    """About 1 MiB of gzip that inflates to 1 GiB of zeros: 1,024 members of 1 MiB each."""
    return gzip.compress(bytes(1 << 20)) * 1024


def test_gzip_bomb_after_a_small_header_stops_one_byte_past_the_promise(tmp_path):
    path = tmp_path / "bomb.gz"
    header = gzip.compress(struct.pack(">BBBBII", 0, 0, 8, 2, 10, 4) + bytes(40))
    path.write_bytes(header + gigabyte_of_zeros())
    assert path.stat().st_size < 2 << 20
    outcome, seconds, peak = measured_read(path)
    assert isinstance(outcome, DataError), outcome
    assert "shape (10, 4) of uint8 (40 bytes of data) but the file holds more" in str(outcome)
    assert seconds < SECONDS and peak < PEAK_BYTES, (seconds, peak)


def test_a_big_promise_costs_only_what_the_file_holds(tmp_path):
    path = tmp_path / "promise.gz"  # promises 1 GiB, holds 1 MiB
    data = struct.pack(">BBBBI", 0, 0, 8, 1, 1 << 30) + bytes(1 << 20)
    path.write_bytes(gzip.compress(data))
    outcome, seconds, peak = measured_read(path)
    assert isinstance(outcome, DataError) and "holds 1048576: it is truncated" in str(outcome)
    assert seconds < SECONDS and peak < PEAK_BYTES, (seconds, peak)


@pytest.mark.parametrize(
    "sizes, expected",
    [
        ((2**32 - 1,) * 3, f"{(2**32 - 1) ** 3:,} bytes, more than the 2,147,483,648"),
        ((MAX_DATA_BYTES + 1,), "2,147,483,649 bytes, more than"),
        ((2**16, 2**16, 0), None),  # zero: an empty array, not an error
    ],
)
def test_headers_that_promise_too_much_are_refused_before_reading(tmp_path, sizes, expected):
    path = tmp_path / "big"
    path.write_bytes(struct.pack(f">BBBB{len(sizes)}I", 0, 0, 8, len(sizes), *sizes))
    outcome, _, peak = measured_read(path)
    assert peak < PEAK_BYTES
    if expected is None:
        assert outcome.shape == sizes
    else:
        assert isinstance(outcome, DataError) and expected in str(outcome)
        assert "the header is corrupt" in str(outcome)


def test_more_dimensions_than_an_array_may_have_are_refused(tmp_path):
    path = tmp_path / "ndim"
    ndim = MAX_NDIM + 1
    path.write_bytes(struct.pack(f">BBBB{ndim}I", 0, 0, 8, ndim, *[1] * ndim) + b"\x07")
    with pytest.raises(DataError, match=f"promises {ndim} dimensions, more than the {MAX_NDIM}"):
        read_idx(path)
