"""Checkpoints: everything needed to continue a run exactly, written so nothing is ever lost.

A checkpoint is one .npz file (a zip of NumPy .npy arrays, no pickles): the parameters under
"param/<name>", the optimizer's state under "optim/<key>", any other arrays of the run under
"array/<key>", and a JSON document "meta" (config, architecture, epoch, RNG states, ...);
minivae.training.checkpoint_schema says what each must be.

Writing is atomic (`minivae.files.atomic_write`): a crash or Ctrl-C mid-write leaves the previous
checkpoint intact. Reading trusts nothing in the file. It refuses what is not a regular file
before opening it (a named pipe would wait forever), reads the zip directory and takes exactly
the members the schema expects, stored uncompressed as np.savez writes them (so every byte of an
array is in the file, and a small file cannot promise a big array), reads meta first and checks
it whole, then compares each array's .npy header with what meta says before reading its data,
and checks the data (the zip's CRC-32 guards every byte of it; the member names lie outside the
CRC, so those are compared one by one, and each array's content with the SHA-256 meta records
under its name). What comes back is checked content, or a CheckpointError
that names the file and the field.
"""

import ast
import collections
import dataclasses
import json
import math
import os
import re
import struct
import zipfile

import numpy as np

from minivae.errors import CheckpointError
from minivae.files import atomic_write, open_regular_file
from minivae.training.checkpoint_schema import (
    FORMAT_VERSION,
    Problem,
    check_member,
    check_meta,
    check_values,
)
from minivae.training.config import TrainConfig
from minivae.training.data_identity import sha256_of

__all__ = ["FORMAT_VERSION", "Checkpoint", "load_checkpoint", "save_checkpoint"]

MAX_META_BYTES = 1 << 20  # minivae's meta is a few kilobytes
MAX_HEADER_BYTES = 4096  # an .npy header of minivae's is 128 bytes
NPY_MAGIC = b"\x93NUMPY"
DTYPE_DESCRS = re.compile(r"[<>](f4|f8|i8)|<U[0-9]{1,7}")  # what minivae's arrays may be
DAMAGED = ("minivae writes checkpoints atomically and checks them before writing, so this file "
           "was damaged afterwards or was not written by minivae: restore a copy, or start a "
           "new run with another --out")
# What the zip and .npy readers raise on a damaged file (a bad header or CRC, a seek past the
# end, a name that does not decode, a version or method zipfile cannot read, a short read).
UNREADABLE = (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, OSError, EOFError,
              ValueError, struct.error, OverflowError)


@dataclasses.dataclass
class Checkpoint:
    """A checkpoint read back and checked (minivae.training.checkpoint_schema)."""

    path: str
    meta: dict  # the JSON document: epoch, step, noise, order_rng, binarize_rng, partial, ...
    config: TrainConfig  # meta["config"]: the run's settings
    params: dict  # parameter name -> array (the architecture's shapes, the run's dtype)
    optimizer: dict  # "t" and "<buffer>.<i>" -> array, as Optimizer.load_state_dict takes them
    arrays: dict  # "order" for a checkpoint written mid-epoch; otherwise empty


def save_checkpoint(path, meta, params, optimizer_state, arrays=None):
    """Check, then write the checkpoint atomically (see minivae.files), meta with the format and
    each array's checksum added; a state the reader would refuse (a NaN parameter, say) is a
    CheckpointError, and the checkpoint on disk is kept."""
    members = {f"param/{k}": np.asarray(v) for k, v in params.items()}
    members.update({f"optim/{k}": np.asarray(v) for k, v in optimizer_state.items()})
    members.update({f"array/{k}": np.asarray(v) for k, v in (arrays or {}).items()})
    checksums = {key: sha256_of(array) for key, array in members.items()}
    document = {"format": FORMAT_VERSION, **meta, "checksums": checksums}
    document = json.loads(json.dumps(document))  # as it will be read
    try:
        _, layout = check_meta(document)
        _same_keys(set(members), set(layout))
        for key, array in members.items():
            check_member(key, array.shape, array.dtype, layout[key])
        check_values(document, members)
    except Problem as problem:
        raise CheckpointError(f"checkpoint {path} not written: {problem}; the checkpoint "
                              "already there, if any, is kept") from None
    with atomic_write(path) as f:
        np.savez(f, meta=np.array(json.dumps(document)), **members)


def load_checkpoint(path):
    """The checkpoint at `path`, read and checked whole: a Checkpoint, or a CheckpointError."""
    path = os.fspath(path)
    if not os.path.lexists(path):
        raise missing_checkpoint(path)
    hint = "pass a run directory, or the path of a checkpoint.npz minivae wrote"
    with open_regular_file(path, CheckpointError, hint) as raw:
        try:
            return _read(raw, path)
        except Problem as problem:
            raise CheckpointError(f"checkpoint {path}: {problem}; {DAMAGED}") from None
        except UNREADABLE as err:
            what = f"{type(err).__name__}: {err}"
            raise CheckpointError(
                f"checkpoint {path} is truncated or corrupt ({what}); {DAMAGED}"
            ) from None


def missing_checkpoint(path):
    """The CheckpointError for a path where no checkpoint is."""
    return CheckpointError(f"no checkpoint at {path}: train first (minivae train --out DIR), or "
                           "point to the run directory that holds checkpoint.npz")


def _read(raw, path):
    if raw.read(len(NPY_MAGIC)) == NPY_MAGIC:
        raise Problem("the file is a single .npy array (np.save), not a checkpoint (.npz)")
    raw.seek(0)
    with zipfile.ZipFile(raw) as archive:
        members = _members(archive, os.fstat(raw.fileno()).st_size)
        if "meta" not in members:
            raise Problem(f"the archive has no member meta.npy (it holds {sorted(members)})")
        meta = _read_meta(archive, members.pop("meta"))
        config, layout = check_meta(meta)
        _same_keys(set(members), set(layout))
        arrays = {key: _read_array(archive, members[key], key, layout[key]) for key in layout}
    check_values(meta, arrays)
    groups = {"param": {}, "optim": {}, "array": {}}
    for key, array in arrays.items():
        group, _, name = key.partition("/")
        groups[group][name] = array
    return Checkpoint(path, meta, config, groups["param"], groups["optim"], groups["array"])


def _members(archive, file_size):
    """{key: ZipInfo} of the archive's members, named <key>.npy, each stored as np.savez stores
    it: uncompressed, not encrypted, named once; together no larger than the file."""
    infos = archive.infolist()
    times_named = collections.Counter(info.filename for info in infos)
    for info in infos:
        name = info.filename
        if times_named[name] > 1 or not name.endswith(".npy"):
            why = "is named twice" if times_named[name] > 1 else "is not an .npy array"
            raise Problem(f"the archive's member {name!r} {why}")
        if info.flag_bits & 0x1:
            raise Problem(f"the archive's member {name!r} is encrypted")
        if info.compress_type != zipfile.ZIP_STORED or info.compress_size != info.file_size:
            raise Problem(f"the archive's member {name!r} is compressed (method "
                          f"{info.compress_type}); minivae stores its arrays uncompressed "
                          "(np.savez, not np.savez_compressed)")
    if sum(info.file_size for info in infos) > file_size:
        raise Problem(f"the zip directory promises {sum(i.file_size for i in infos):,} bytes of "
                      f"members, more than the file's {file_size:,}")
    return {info.filename[: -len(".npy")]: info for info in infos}


def _read_meta(archive, info):
    """The meta member: a 0-d .npy string (UTF-32) holding one JSON document, parsed."""
    if info.file_size > MAX_META_BYTES:
        raise Problem(f"its meta is {info.file_size:,} bytes, more than the {MAX_META_BYTES:,} "
                      "minivae reads")
    with archive.open(info) as f:
        shape, descr = _npy_header(f, "meta")
        if shape != () or not descr.startswith("<U"):
            raise Problem(f"meta is an array of shape {shape} and dtype {descr}, not one string")
        data = _npy_data(f, info, "meta", int(descr[2:]) * 4)
    try:
        return json.loads(data.decode("utf-32-le").rstrip("\0"))
    except (UnicodeDecodeError, ValueError, RecursionError) as err:
        raise Problem(f"meta is not a JSON document ({type(err).__name__}: {err})") from None


def _read_array(archive, info, key, expected):
    """The member `key`, after its header has been checked against `expected`."""
    with archive.open(info) as f:
        shape, descr = _npy_header(f, key)
        if descr.startswith("<U"):
            raise Problem(f"{key} holds text (dtype {descr}), not numbers")
        dtype = np.dtype(descr)
        check_member(key, shape, dtype, expected)
        data = _npy_data(f, info, key, math.prod(shape) * dtype.itemsize)
    return np.frombuffer(data, dtype=dtype).reshape(shape).astype(expected[1])  # native, a copy


def _npy_header(f, key):
    """(shape, dtype descr) from the .npy header at the start of `f`.

    The .npy format: the magic string \\x93NUMPY, the version (1.0 or 2.0; 3.0 is not written
    for these arrays), the header's length (2 bytes in 1.0, 4 in 2.0, little-endian), then the
    header itself, a Python dict literal such as
        {'descr': '<f4', 'fortran_order': False, 'shape': (784, 400), }
    and then the array's bytes, row-major.
    """
    magic = f.read(len(NPY_MAGIC) + 2)
    if magic[:-2] != NPY_MAGIC or magic[-2:] not in (b"\x01\x00", b"\x02\x00"):
        raise Problem(f"{key} is not an .npy array of format 1.0 or 2.0 (it starts with "
                      f"{magic.hex(' ') or 'nothing'})")
    length_bytes = 2 if magic[-2] == 1 else 4
    length = int.from_bytes(f.read(length_bytes), "little")
    if length > MAX_HEADER_BYTES:
        raise Problem(f"{key}'s .npy header claims {length:,} bytes, more than the "
                      f"{MAX_HEADER_BYTES:,} minivae reads")
    text = f.read(length)
    try:
        header = ast.literal_eval(text.decode("latin1"))
    except (SyntaxError, ValueError, TypeError, MemoryError, RecursionError):
        header = None
    if not isinstance(header, dict) or set(header) != {"descr", "fortran_order", "shape"}:
        raise Problem(f"{key}'s .npy header is not the dict of descr, fortran_order and shape "
                      f"that np.save writes: {text[:80]!r}")
    shape, descr = header["shape"], header["descr"]
    if not isinstance(shape, tuple) or any(type(n) is not int or n < 0 for n in shape):
        raise Problem(f"{key}'s .npy header has shape {shape!r}, not a tuple of sizes")
    if not isinstance(descr, str) or not DTYPE_DESCRS.fullmatch(descr):
        raise Problem(f"{key} has dtype {descr!r}, which no array of a checkpoint has")
    if header["fortran_order"] is not False:
        raise Problem(f"{key} is stored in Fortran order; minivae writes C order")
    return shape, descr


def _npy_data(f, info, key, nbytes):
    """Exactly `nbytes` of array data from `f`, the rest of the member, CRC-checked."""
    if info.file_size != f.tell() + nbytes:
        raise Problem(f"{key} is {info.file_size:,} bytes in the zip directory, but its .npy "
                      f"header makes it {f.tell() + nbytes:,}")
    data = f.read(nbytes)  # the read that reaches the member's end checks its CRC-32
    if len(data) != nbytes:
        raise Problem(f"{key} holds {len(data):,} bytes of data where its header says {nbytes:,}")
    return data


def _same_keys(found, expected):
    if found != expected:
        missing, unexpected = sorted(expected - found), sorted(found - expected)
        raise Problem(f"its arrays are not those its meta describes: missing {missing}, "
                      f"unexpected {unexpected}")


def check_same_architecture(path, saved, wanted):
    """Refuse to load parameters into a model of another shape, saying what differs."""
    differences = [
        f"{key}: saved {saved.get(key)!r}, asked {wanted.get(key)!r}"
        for key in sorted(set(saved) | set(wanted))
        if saved.get(key) != wanted.get(key)
    ]
    if differences:
        raise CheckpointError(
            f"checkpoint {path} holds another architecture ({'; '.join(differences)}): the "
            "data now have another shape than those it was trained on; resume with those "
            "(--data-dir), or start a new run with another --out"
        )
