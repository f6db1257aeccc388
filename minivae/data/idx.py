"""The IDX file format of MNIST and Fashion-MNIST: read and write, gzip or raw.

An IDX file is a header and a block of numbers, all big-endian:

    bytes 0-1   0x00 0x00
    byte  2     the type of the numbers: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32,
                0x0D float32, 0x0E float64
    byte  3     the number of dimensions, n
    then        n sizes, each a 4-byte unsigned integer
    then        prod(sizes) numbers of that type, row-major

MNIST's training images, for example, start 00 00 08 03 | 60000 | 28 | 28, then 47,040,000
bytes of pixels. The files are usually gzip-compressed; `read_idx` tells by the first two bytes
(0x1f 0x8b), not by the name.
"""

import gzip
import os
import struct
import zlib

import numpy as np

from minivae.errors import DataError

TYPES = {
    0x08: np.dtype("u1"),
    0x09: np.dtype("i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
GZIP_MAGIC = b"\x1f\x8b"
FIX = "delete it and fetch the dataset again (or pass --data-dir with good copies)"


def read_idx(path):
    """The array stored in the IDX file at `path` (native byte order)."""
    raw = _read_bytes(path)
    if len(raw) < 4 or raw[0:2] != b"\x00\x00" or raw[2] not in TYPES:
        raise DataError(
            f"{path} is not an IDX file: it starts with {raw[:4].hex(' ') or 'nothing'}, "
            f"expected 00 00 <type> <ndim>; {FIX}"
        )
    dtype, ndim = TYPES[raw[2]], raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataError(f"{path}: the header promises {ndim} dimensions but the file ends; {FIX}")
    shape = struct.unpack(f">{ndim}I", raw[4:header])
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    found = len(raw) - header
    if found != expected:
        raise DataError(
            f"{path}: the header says shape {shape} of {dtype.name} ({expected} bytes of data) "
            f"but the file holds {found}: it is {'truncated' if found < expected else 'too long'}; "
            f"{FIX}"
        )
    array = np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape)
    return array.astype(dtype.newbyteorder("="))


def write_idx(path, array, compress=None):
    """Write `array` as an IDX file, gzip-compressed if `compress` (default: name ends in .gz)."""
    array = np.asarray(array)
    code = next((c for c, t in TYPES.items() if t.newbyteorder("=") == array.dtype), None)
    if code is None:
        raise DataError(
            f"write_idx: IDX cannot hold {array.dtype}; use one of {list(TYPES.values())}"
        )
    data = struct.pack(f">BBBB{array.ndim}I", 0, 0, code, array.ndim, *array.shape)
    data += array.astype(TYPES[code]).tobytes()
    if compress if compress is not None else str(path).endswith(".gz"):
        data = gzip.compress(data)
    with open(path, "wb") as f:
        f.write(data)


def _read_bytes(path):
    if not os.path.exists(path):
        raise DataError(f"{path}: no such file")
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:2] != GZIP_MAGIC:
        return raw
    try:
        return gzip.decompress(raw)
    except (EOFError, OSError, zlib.error) as err:
        raise DataError(f"{path}: the gzip stream is truncated or corrupt ({err}); {FIX}") from None
