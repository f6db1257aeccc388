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

Reading trusts nothing in the file. It reads the header, then the bytes the header promises and
one more (to tell a file that is too long), in chunks, so memory follows what the file holds and
not what a corrupt header claims: a small gzip file that inflates to gigabytes (a "gzip bomb")
costs no more than the array its header describes. Headers that promise more than NumPy can
hold or than MAX_DATA_BYTES are refused before anything is allocated, and so is anything that is
not a regular file (opening a named pipe would wait forever for a writer).
"""

import gzip
import math
import struct
import zlib

import numpy as np

from minivae.errors import DataError
from minivae.files import open_regular_file

TYPES = {
    0x08: np.dtype("u1"),
    0x09: np.dtype("i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
GZIP_MAGIC = b"\x1f\x8b"
MAX_NDIM = 32  # the most axes NumPy 1 holds (NumPy 2: 64); the datasets' files have 1 or 3
MAX_DATA_BYTES = 2**31  # 2 GiB: far above MNIST's largest file (47 MB of pixels)
CHUNK_BYTES = 1 << 20  # read 1 MiB at a time
FIX = "delete it and fetch the dataset again (or pass --data-dir with good copies)"


def read_idx(path):
    """The array stored in the IDX file at `path` (native byte order)."""
    with open_regular_file(path, DataError, "pass the path of the IDX file itself") as raw:
        gzipped = raw.read(2) == GZIP_MAGIC
        raw.seek(0)
        stream = gzip.GzipFile(fileobj=raw) if gzipped else raw
        try:
            return _parse(stream, path)
        except (EOFError, OSError, zlib.error) as err:  # what gzip and the disk raise
            what = "the gzip stream is truncated or corrupt" if gzipped else "it cannot be read"
            raise DataError(f"{path}: {what} ({err}); {FIX}") from None


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


def _parse(stream, path):
    """Header, then exactly the promised data, from a binary stream; DataError when they differ."""
    head = _read_at_most(stream, 4)
    if len(head) < 4 or head[0:2] != b"\x00\x00" or head[2] not in TYPES:
        raise DataError(
            f"{path} is not an IDX file: it starts with {head.hex(' ') or 'nothing'}, "
            f"expected 00 00 <type> <ndim>; {FIX}"
        )
    dtype, ndim = TYPES[head[2]], head[3]
    if ndim > MAX_NDIM:
        raise DataError(f"{path}: the header promises {ndim} dimensions, more than the "
                        f"{MAX_NDIM} an array may have; the header is corrupt; {FIX}")
    sizes = _read_at_most(stream, 4 * ndim)
    if len(sizes) < 4 * ndim:
        raise DataError(f"{path}: the header promises {ndim} dimensions but the file ends; {FIX}")
    shape = struct.unpack(f">{ndim}I", sizes)
    expected = math.prod(shape) * dtype.itemsize  # Python integers: no overflow
    if expected > MAX_DATA_BYTES:
        raise DataError(
            f"{path}: the header promises shape {shape} of {dtype.name}, {expected:,} bytes, "
            f"more than the {MAX_DATA_BYTES:,} minivae reads; the header is corrupt; {FIX}"
        )
    data = _read_at_most(stream, expected)
    if len(data) < expected:
        problem = f"holds {len(data)}: it is truncated"
    elif stream.read(1):  # one byte past the promise is enough to know
        problem = "holds more: it is too long"
    else:
        problem = None
    if problem:
        raise DataError(f"{path}: the header says shape {shape} of {dtype.name} ({expected} "
                        f"bytes of data) but the file {problem}; {FIX}")
    array = np.frombuffer(data, dtype=dtype).reshape(shape)
    return array.astype(dtype.newbyteorder("="), copy=False)


def _read_at_most(stream, n):
    """Up to n bytes from `stream`, fewer where it ends; read in chunks, so a promise of n bytes
    allocates only as much as the stream really holds."""
    data = bytearray()
    while len(data) < n:
        chunk = stream.read(min(CHUNK_BYTES, n - len(data)))
        if not chunk:
            break
        data += chunk
    return data
