"""Messages between the grader and its worker process: plain values over a pipe, nothing executable.

The grader's process decides every verdict; the worker, which runs a submission's code, only
sends back what the learner's functions returned. Nothing it sends may run code in the grader:
no pickle. A message is a dict of plain values (see `invoke.plain`), sent as

    8 bytes    the length n of what follows (big-endian)
    n bytes    a JSON header, 4 bytes of its length first, then each array in NumPy's .npy
               format, one after the other

The header holds the message with each array replaced by {"$array": i}, each tuple by
{"$tuple": [...]}, each Opaque by {"$opaque": "type name"} and each `built.Built` (an object
for the worker to build, described by plain values) by {"$built": [kind, spec]}; JSON keeps the
rest (Python's JSON reads and writes nan and inf). Arrays are read with allow_pickle=False, so
an object array is refused, and a message longer than `limit` bytes is refused before it is
read.
"""

import io
import json
import struct

import numpy as np

from minivae.course.built import Built
from minivae.course.invoke import Opaque

LIMIT = 64 * 2**20  # bytes: far more than any check's inputs or a right answer's results
DEPTH = 32  # how deeply values may nest


class ProtocolError(Exception):
    """A message that is not one: cut short, too long, or holding what plain values never hold."""


def send(stream, message):
    arrays = []
    header = json.dumps({key: encode(value, arrays) for key, value in message.items()}).encode()
    blobs = io.BytesIO()
    for array in arrays:
        np.lib.format.write_array(blobs, array, allow_pickle=False)
    body = struct.pack(">I", len(header)) + header + blobs.getvalue()
    stream.write(struct.pack(">Q", len(body)) + body)
    stream.flush()


def receive(stream, limit=LIMIT):
    """The next message; None at the end of the stream (the other side closed it)."""
    size = stream.read(8)
    if not size:
        return None
    if len(size) < 8:
        raise ProtocolError("a message cut short in its length")
    (length,) = struct.unpack(">Q", size)
    if length > limit:
        raise ProtocolError(f"a message of {length} bytes, more than the limit of {limit}")
    body = stream.read(length)
    if len(body) < length or length < 4:
        raise ProtocolError(f"a message cut short: {len(body)} of {length} bytes")
    (header_length,) = struct.unpack(">I", body[:4])
    try:
        header = json.loads(body[4 : 4 + header_length])
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ProtocolError(f"a header that is not JSON: {error}") from None
    blobs = io.BytesIO(body[4 + header_length :])
    arrays = []
    while blobs.tell() < len(blobs.getbuffer()):
        try:
            arrays.append(np.lib.format.read_array(blobs, allow_pickle=False))
        except (ValueError, OSError, EOFError) as error:
            raise ProtocolError(f"an array that cannot be read: {error}") from None
    if not isinstance(header, dict):
        raise ProtocolError("a message that is not a dict")
    return {key: decode(value, arrays) for key, value in header.items()}


def encode(value, arrays, depth=0):
    """A plain value as JSON, with its arrays appended to `arrays`."""
    if depth > DEPTH:
        raise ProtocolError(f"a value nested more than {DEPTH} deep")
    if isinstance(value, np.ndarray):
        arrays.append(value)
        return {"$array": len(arrays) - 1}
    if isinstance(value, Opaque):
        return {"$opaque": value.type_name}
    if isinstance(value, Built):
        return {"$built": [value.kind, encode(value.spec, arrays, depth + 1)]}
    if isinstance(value, tuple):
        return {"$tuple": [encode(v, arrays, depth + 1) for v in value]}
    if isinstance(value, list):
        return [encode(v, arrays, depth + 1) for v in value]
    if isinstance(value, dict):  # only the messages' own fields, keyed by str
        return {"$dict": {str(k): encode(v, arrays, depth + 1) for k, v in value.items()}}
    if value is None or isinstance(value, bool | int | float | str):
        return value
    raise ProtocolError(f"a {type(value).__name__} cannot be sent")


def decode(value, arrays, depth=0):
    """The plain value that `encode` made `value` from; a ProtocolError for anything else."""
    if depth > DEPTH:
        raise ProtocolError(f"a value nested more than {DEPTH} deep")
    if isinstance(value, list):
        return [decode(v, arrays, depth + 1) for v in value]
    if isinstance(value, dict):
        if len(value) != 1:
            raise ProtocolError(f"an object with keys {sorted(value)}")
        ((kind, inner),) = value.items()
        if kind == "$array" and isinstance(inner, int) and 0 <= inner < len(arrays):
            return arrays[inner]
        if kind == "$opaque" and isinstance(inner, str):
            return Opaque(inner)
        if kind == "$built" and isinstance(inner, list) and len(inner) == 2 \
                and isinstance(inner[0], str):
            spec = decode(inner[1], arrays, depth + 1)
            if isinstance(spec, dict):
                return Built(inner[0], spec)
        if kind == "$tuple" and isinstance(inner, list):
            return tuple(decode(v, arrays, depth + 1) for v in inner)
        if kind == "$dict" and isinstance(inner, dict):
            return {k: decode(v, arrays, depth + 1) for k, v in inner.items()}
        raise ProtocolError(f"an object {kind!r} that is not a plain value")
    if value is None or isinstance(value, bool | int | float | str):
        return value
    raise ProtocolError(f"a {type(value).__name__} in a message")
