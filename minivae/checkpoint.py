"""Checkpoints: everything needed to continue a run exactly, written so nothing is ever lost.

A checkpoint is one .npz file (a zip of NumPy arrays, no pickles): the parameters under
"param/<name>", the optimizer's state under "optim/<key>", any other arrays of the run under
"array/<key>", and a JSON document "meta" (architecture, dtype, epoch, RNG states, ...).

Writing is atomic (`minivae.files.atomic_write`): a crash or Ctrl-C mid-write leaves the previous
checkpoint intact; the reader never sees half a file.
"""

import json
import os
import zipfile

import numpy as np

from minivae.errors import CheckpointError
from minivae.files import atomic_write

FORMAT_VERSION = 2  # 2: Adam saves m and v; the noise takes one stream per example


def save_checkpoint(path, meta, params, optimizer_state, arrays=None):
    """Write the checkpoint atomically (see minivae.files)."""
    payload = {"meta": np.array(json.dumps({"format": FORMAT_VERSION, **meta}))}
    payload.update({f"param/{k}": v for k, v in params.items()})
    payload.update({f"optim/{k}": np.asarray(v) for k, v in optimizer_state.items()})
    payload.update({f"array/{k}": np.asarray(v) for k, v in (arrays or {}).items()})
    with atomic_write(path) as f:
        np.savez(f, **payload)


def load_checkpoint(path):
    """Read a checkpoint: (meta dict, params dict, optimizer-state dict, arrays dict)."""
    if not os.path.exists(path):
        raise CheckpointError(
            f"no checkpoint at {path}: train first (minivae train --out DIR), or point to the "
            "run directory that holds checkpoint.npz"
        )
    try:
        with np.load(path, allow_pickle=False) as f:
            meta = json.loads(str(f["meta"]))
            groups = {"param": {}, "optim": {}, "array": {}}
            for key in f.files:
                group, _, name = key.partition("/")
                if group in groups:
                    groups[group][name] = f[key]
    except (zipfile.BadZipFile, OSError, EOFError, KeyError, ValueError) as err:
        raise CheckpointError(
            f"checkpoint {path} is truncated or corrupt ({type(err).__name__}: {err}): minivae "
            "writes checkpoints atomically, so this file was damaged afterwards or was not "
            "written by minivae; start again without --resume or restore a copy"
        ) from None
    if meta.get("format") != FORMAT_VERSION:
        raise CheckpointError(
            f"checkpoint {path} has format {meta.get('format')!r}; this minivae reads "
            f"format {FORMAT_VERSION}"
        )
    return meta, groups["param"], groups["optim"], groups["array"]


def check_same_architecture(path, saved, wanted):
    """Refuse to load parameters into a model of another shape, saying what differs."""
    differences = [
        f"{key}: saved {saved.get(key)!r}, asked {wanted.get(key)!r}"
        for key in sorted(set(saved) | set(wanted))
        if saved.get(key) != wanted.get(key)
    ]
    if differences:
        raise CheckpointError(
            f"checkpoint {path} holds another architecture ({'; '.join(differences)}): "
            "use the settings it was trained with, or another output directory"
        )
