"""Small real checkpoints, written by the trainer, and the tools the robustness tests take to
them: rebuilding an archive with other members or meta, reading one whole for comparison, and
loading one within a time and memory budget."""

import hashlib
import io
import json
import os
import zipfile

import numpy as np

from minivae.errors import MinivaeError
from minivae.training.checkpoint import load_checkpoint
from minivae.training.checkpoint_schema import NEW_SETTINGS
from minivae.training.trainer import Interrupted, TrainConfig, Trainer
from support.bounds import measured

SECONDS = 1.0  # the most loading one small file may take
PEAK_BYTES = 8 << 20  # the most loading one small file may allocate, whatever it promises
# 2-D moons, a handful of examples: the checkpoints are a few kilobytes, trained in milliseconds
TINY = dict(dataset="moons", limit=12, batch_size=4, hidden=(3,), latent_dim=1, epochs=1)


def quiet(config, resume=False):
    return Trainer(config, resume=resume, log=lambda _: None)


def tiny_config(out, **changes):
    return TrainConfig(**{**TINY, "out": str(out), **changes})


def write_run(out, mid_epoch=False, **changes):
    """Train a tiny run in `out` (stopped after its first batch if `mid_epoch`); returns the
    checkpoint's path."""
    trainer = quiet(tiny_config(out, **changes))
    if mid_epoch:
        try:
            trainer.run_epoch(stop=type("Stop", (), {"requested": True})())
        except Interrupted:
            pass
    else:
        trainer.fit()
    return os.path.join(out, "checkpoint.npz")


def members(path):
    """{member name: bytes} of a checkpoint, in the archive's order."""
    with zipfile.ZipFile(path) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist()}


def overwrite(path, data):
    """Make the file at `path` hold `data`. Opened "r+b" and cut to length afterwards: on ext4,
    truncating a file to nothing and writing it again ("wb") flushes it to disk at close, 3 ms
    a time, which for thousands of mutated files is most of a test's time."""
    with open(path, "r+b" if os.path.exists(path) else "wb") as f:
        f.write(data)
        f.truncate(len(data))


def write_archive(path, contents, compression=zipfile.ZIP_STORED):
    """A zip at `path` holding `contents` ({name: bytes}) as given."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in contents.items():
            archive.writestr(name, data)
    overwrite(path, buffer.getvalue())


def meta_member(document):
    """The bytes of a meta.npy holding `document` (JSON text) as np.savez writes it."""
    buffer = io.BytesIO()
    np.save(buffer, np.array(document))
    return buffer.getvalue()


def npy_member(array):
    """The bytes of an .npy file holding `array`."""
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def with_meta(source, path, meta):
    """Copy the checkpoint `source` to `path` with meta replaced by `meta` (a JSON value)."""
    contents = members(source)
    contents["meta.npy"] = meta_member(json.dumps(meta))
    write_archive(path, contents)


def with_members(path, contents):
    """Write `contents` ({name: bytes}) to the checkpoint at `path`, its meta's checksums made
    those of the members as they are now: an edit that meta was made to agree with, for what
    only the other checks can catch."""
    meta = read_meta(path)
    meta["checksums"] = {name[: -len(".npy")]: hashlib.sha256(np.load(io.BytesIO(data)))
                         .hexdigest() for name, data in contents.items() if name != "meta.npy"}
    contents["meta.npy"] = meta_member(json.dumps(meta))
    write_archive(path, contents)


def as_format_2(path):
    """Rewrite the checkpoint at `path` as format 2 wrote it: no checksums, no record of its
    data, none of the settings added since (at the values that change nothing). Returns the
    path."""
    meta = read_meta(path)
    for key in ("checksums", "data"):
        del meta[key]
    for key, value in NEW_SETTINGS.items():
        assert meta["config"].pop(key) == value, f"a format-2 run had {key} {value}"
    with_meta(path, path, {**meta, "format": 2})
    return path


def read_meta(path):
    with zipfile.ZipFile(path) as archive, archive.open("meta.npy") as f:
        return json.loads(str(np.load(f)))


def content(checkpoint):
    """Everything a Checkpoint holds, as comparable plain values (arrays as dtype and bytes)."""
    arrays = {f"{group}/{name}": (a.dtype.str, a.shape, a.tobytes())
              for group in ("params", "optimizer", "arrays")
              for name, a in getattr(checkpoint, group).items()}
    return checkpoint.meta, checkpoint.config, arrays


def measured_load(path):
    """(the Checkpoint or the MinivaeError load_checkpoint gave, seconds, peak bytes)."""
    return measured(load_checkpoint, path)


def bounded_load(path):
    """Load `path` within SECONDS and PEAK_BYTES; returns the Checkpoint or the MinivaeError."""
    outcome, seconds, peak = measured_load(path)
    assert seconds < SECONDS and peak < PEAK_BYTES, (seconds, peak)
    return outcome


def assert_same_or_error(path, expected):
    """Load `path`: the outcome must be the content `expected` or a MinivaeError, in bounds."""
    outcome = bounded_load(path)
    if not isinstance(outcome, MinivaeError):
        assert content(outcome) == expected, "a damaged file loaded as other content"
    return outcome
