"""Which data a run trains on, recorded in its checkpoints so that a resume on other data is
refused, saying what differs.

    data_identity("fashion-mnist", train_x, test_x)
    # {"name": "fashion-mnist", "train": {"examples": 60000, "sha256": "3f1c..."},
    #  "test": {"examples": 10000, "sha256": "..."}}

The examples are those the run uses (the first `limit` of each split), as loaded, before any
binarization; their fingerprint is the SHA-256 of all their bytes, so a single pixel changed
changes it. It is computed once each time a run starts or resumes (the README gives its cost on
Fashion-MNIST against loading it; benchmarks/data_fingerprint.py measures both).

The datasets read from files (MNIST, Fashion-MNIST, which --data-dir may point at another copy
of) must match exactly. The generated ones (sprites, the 2-D toys) are drawn by minivae from
their seed: their sizes must match, but another fingerprint is only reported, because another
CPU or NumPy may round a sine in its last bit and so draw a sub-pixel of a sprite otherwise,
and that must not keep a run from resuming on another machine.
"""

import hashlib

import numpy as np

from minivae.data import sources
from minivae.errors import CheckpointError

SPLITS = ("train", "test")
SPLIT_NAMES = {"train": "training set", "test": "test set"}


def data_identity(name, train_x, test_x):
    """The identity of the data a run uses: its name, and each split's examples and SHA-256."""
    return {"name": name, **{split: {"examples": len(x), "sha256": sha256_of(x)}
                             for split, x in zip(SPLITS, (train_x, test_x), strict=True)}}


def sha256_of(x):
    """The SHA-256 (hex) of the NumPy array x's bytes, little-endian and in row-major order: the
    fingerprint of a dataset's examples, and the checksum of a checkpoint's array."""
    x = np.ascontiguousarray(x, dtype=x.dtype.newbyteorder("<"))
    return hashlib.sha256(x).hexdigest()


def check_same_data(path, saved, now, log):
    """Refuse to resume the checkpoint at `path`, trained on the data `saved` describes, on the
    data `now` describes (both from data_identity), naming every difference; for generated data
    whose sizes match, a different fingerprint is logged instead (see the module docstring)."""
    sizes, contents = [], []
    for split in SPLITS:
        was, is_ = saved[split], now[split]
        if was["examples"] != is_["examples"]:
            sizes.append(f"the {SPLIT_NAMES[split]} holds {is_['examples']} examples where the "
                         f"run was trained on {was['examples']}")
        elif was["sha256"] != is_["sha256"]:
            contents.append(f"the {SPLIT_NAMES[split]}'s contents are not those the run was "
                            f"trained on (SHA-256 {is_['sha256'][:12]}... where the run's is "
                            f"{was['sha256'][:12]}...)")
    if sizes or (contents and now["name"] in sources.DATASETS):
        raise CheckpointError(
            f"checkpoint {path} was trained on other {now['name']} data than those found now: "
            f"{'; '.join(sizes + contents)}; resume with the data it was trained on "
            "(--data-dir), or start a new run with another --out"
        )
    if contents:
        log(f"note: {'; '.join(contents)}. The {now['name']} data are drawn by minivae, and "
            "another CPU's or NumPy's rounding may draw them a little otherwise: resuming")


def check_same_batches(path, meta, steps_per_epoch, name, batch_size):
    """For a checkpoint of format 2, which records no identity of its data: refuse to resume
    after whole epochs whose count of steps is not what the data found now make."""
    if meta["epoch"] and meta["partial"] is None and (
            meta["step"] != meta["epoch"] * steps_per_epoch):
        raise CheckpointError(
            f"checkpoint {path} is after {meta['epoch']} epochs of "
            f"{meta['step'] // meta['epoch']} batches, but the {name} training set now makes "
            f"epochs of {steps_per_epoch} batches of {batch_size}: it was trained on other "
            "data; resume with the data it was trained on (--data-dir), or start a new run "
            "with another --out"
        )
