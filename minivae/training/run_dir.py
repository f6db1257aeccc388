"""A run directory: what training leaves in it, how a run starts or resumes there, and how a
finished run is read back.

    runs/fashion/
        checkpoint.npz   config, architecture, parameters, optimizer state, random generators
        metrics.jsonl    one JSON row per epoch: epochs 1, 2, ... once each, in order
        *.png            the figures

    run = load_run("runs/fashion")        # its config, its model with the trained weights, data
    rows = read_metrics("runs/fashion/metrics.jsonl")

A run directory is held by one run at a time (its run.lock: minivae.training.run_lock), from
before its checks until it is closed or its process ends; a second run there is refused, naming
the first. A directory that holds a checkpoint or metrics is resumed (--resume) or refused; it
never gets a second run's rows appended to the first's. Each epoch's row is flushed to disk
before that epoch's checkpoint is written, so on disk a checkpoint never lacks its row; a row
past the checkpoint (the run stopped between the two) is dropped when the run resumes, by an
atomic rewrite. What a killed atomic write left behind is removed when the next run starts there.
"""

import dataclasses
import json
import os

import numpy as np

from minivae import backend
from minivae.data import load_dataset
from minivae.data.batches import binarize, check_inputs
from minivae.errors import RunError
from minivae.files import (
    append_durably,
    atomic_write,
    file_kind,
    open_regular_file,
    os_problem,
    remove_temporaries,
    writing,
)
from minivae.models.autoencoder import Autoencoder
from minivae.models.vae import VAE
from minivae.training.checkpoint import load_checkpoint, missing_checkpoint
from minivae.training.config import TrainConfig, resumed_config
from minivae.training.run_lock import RunLock

CHECKPOINT, METRICS = "checkpoint.npz", "metrics.jsonl"
TEST_BINARIZATION_SEED = 12345  # the one fixed binarization of the test set
# The keys of each metrics row, as the trainer writes them (see minivae.training.trainer).
METRIC_KEYS = ("epoch", "step", "beta", "train_loss", "train_neg_elbo", "test_neg_elbo",
               "test_recon", "test_kl", "epoch_seconds")
MAX_METRICS_BYTES = 64 << 20  # some 200,000 epochs' rows
DAMAGED_METRICS = (
    "minivae appends whole rows and flushes each to disk, so the file was edited or damaged: "
    "restore it from a copy, or start a new run with another --out"
)


def build_model(architecture, dtype, seed, xp):
    """A fresh VAE or Autoencoder of `architecture` (a dict from model.architecture)."""
    cls = {"vae": VAE, "autoencoder": Autoencoder}[architecture["kind"]]
    settings = {k: v for k, v in architecture.items() if k != "kind"}
    return cls(**settings, dtype=dtype, seed=seed, xp=xp)


def prepare_data(config, train_set, test_set):
    """Validate the inputs and binarize them as asked; returns (train_x, test_x)."""
    for which, split in (("train", train_set), ("test", test_set)):
        check_inputs(split.x, config.likelihood, f"{config.dataset} {which} split")
    train_x, test_x = train_set.x[: config.limit], test_set.x[: config.limit]
    if config.binarize != "none":
        test_x = binarize(test_x, np.random.default_rng(TEST_BINARIZATION_SEED))
    if config.binarize == "static":
        train_x = binarize(train_x, np.random.default_rng(config.seed))
    return train_x.astype(config.dtype, copy=False), test_x.astype(config.dtype, copy=False)


def claim_run_dir(out, resume):
    """Take the run directory `out` for a run that starts (resume=False) or resumes there: check
    that it is a directory (a new run creates it) and lock it; returns the RunLock, which the
    run holds until it releases it or its process ends. Reads nothing in it."""
    try:
        kind = file_kind(out)
    except OSError as err:
        raise RunError(f"the run directory {out} cannot be read: {os_problem(err)}") from None
    if kind not in (None, "a directory"):
        raise RunError(f"the run directory {out} is {kind}, not a directory: choose another --out")
    if kind is None and resume:
        raise missing_checkpoint(os.path.join(out, CHECKPOINT))
    try:
        os.makedirs(out, exist_ok=True)
    except OSError as err:
        raise RunError(f"cannot create the run directory {out}: {os_problem(err)}; or choose "
                       "another --out") from None
    return RunLock.take(out)


def open_run_dir(config, resume):
    """Check config.out, which this run holds (claim_run_dir), before the run starts or resumes
    there, reading no data.

    Returns (checkpoint, rows): the checkpoint to resume from and the metrics rows to keep, or
    (None, None) for a new run. A new run needs a directory without a checkpoint or metrics; a
    resumed one, a checkpoint whose run has config's settings (`resumed_config`) and a row for
    each epoch it completed."""
    out = config.out
    held = [name for name in (CHECKPOINT, METRICS) if os.path.lexists(os.path.join(out, name))]
    if not resume:
        if CHECKPOINT in held:
            raise RunError(f"{out} already holds a run ({', '.join(held)}): pass --resume to "
                           f"continue it, or start over with another --out or after deleting "
                           f"{out}")
        if held:
            raise RunError(f"{out} already holds {METRICS} but no {CHECKPOINT}: a run stopped "
                           "there before its first checkpoint was written, so --resume has "
                           f"nothing to continue; start over with another --out, or delete "
                           f"{out}")
        return None, None
    checkpoint = saved_checkpoint(out)
    resumed_config(checkpoint.config, dataclasses.asdict(config), out)  # refuses another run
    return checkpoint, metrics_up_to(os.path.join(out, METRICS), checkpoint.meta["epoch"])


def saved_checkpoint(run_dir):
    """The checkpoint a run in `run_dir` resumes from; a RunError if it holds only metrics."""
    path = os.path.join(run_dir, CHECKPOINT)
    if not os.path.lexists(path) and os.path.lexists(os.path.join(run_dir, METRICS)):
        raise RunError(f"{run_dir} holds {METRICS} but no {CHECKPOINT}: its run stopped before "
                       "its first checkpoint was written, so there is nothing to resume; "
                       f"delete {run_dir} and train again without --resume, or train with "
                       "another --out")
    return load_checkpoint(path)


def read_saved_config(run_dir):
    """The TrainConfig of the run in `run_dir` (from its checkpoint), to resume it."""
    return saved_checkpoint(run_dir).config


def start_run_dir(out, rows):
    """Make `out`, which this run holds, ready for it: remove the temporary files of writes
    killed midway and (resuming) write back `rows`, the metrics kept. Returns the names of the
    temporary files removed."""
    removed = remove_temporaries(out)
    path = os.path.join(out, METRICS)
    if rows is not None and (rows or os.path.lexists(path)):
        kept = (f"it is kept as it was, and so is {CHECKPOINT}: once there is room, resume "
                "again")
        with writing(f"the rows of the epochs kept to {path}", kept), atomic_write(path, "w") as f:
            f.writelines(json.dumps(row) + "\n" for row in rows)
    return removed


@dataclasses.dataclass
class SavedRun:
    config: TrainConfig
    model: object  # a VAE or an Autoencoder with the saved weights
    test_set: object  # the Dataset (labels, factors, image shape)
    test_x: np.ndarray  # its inputs prepared as in training (binarized if the run was)


def load_run(run_dir, device=None):
    """A finished (or interrupted) run, read back from its checkpoint.

    The model goes to the run's own device, or to `device` ("cpu" or "gpu") when given: a run
    trained on the GPU reads back on a machine without one, and the other way round.
    """
    checkpoint = load_checkpoint(os.path.join(run_dir, CHECKPOINT))
    where = {"out": os.fspath(run_dir), **({"device": device} if device else {})}
    config = resumed_config(checkpoint.config, where, run_dir)
    train_set, test_set = load_dataset(config.dataset, data_dir=config.data_dir)
    _, test_x = prepare_data(config, train_set, test_set)
    model = build_model(checkpoint.meta["model"], config.dtype, config.seed,
                        backend.module_for_device(config.device))
    model.load_state_dict(checkpoint.params)
    return SavedRun(config, model, test_set, test_x)


def read_metrics(path):
    """The rows of a metrics.jsonl file, one dict per epoch, checked: each line a JSON object
    with the keys METRIC_KEYS, epochs 1, 2, ... once each in order (blank lines are passed
    over). A last line without its newline whose row does not parse is a write cut short (the
    run stopped before that epoch's checkpoint, and a resume redoes the epoch): it is left out.
    Anything else is a RunError naming the line."""
    with open_regular_file(path, RunError, "pass the metrics.jsonl of a run directory") as f:
        data = f.read(MAX_METRICS_BYTES + 1)
    if len(data) > MAX_METRICS_BYTES:
        raise RunError(f"{path} is larger than the {MAX_METRICS_BYTES:,} bytes minivae reads; "
                       f"{DAMAGED_METRICS}")
    lines = data.split(b"\n")
    rows = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            rows.append(_metrics_row(line, path, number, len(rows) + 1))
        except RunError:
            if number < len(lines):  # not the last line, cut short: damage
                raise
    return rows


def metrics_up_to(path, epochs):
    """The rows of the first `epochs` epochs in the metrics at `path`, for a run resumed after
    that many; a RunError when some are missing."""
    rows = read_metrics(path) if os.path.lexists(path) else []
    if len(rows) < epochs:
        raise RunError(f"{path} holds {len(rows)} epochs' rows, but the checkpoint is after "
                       f"epoch {epochs}: rows are missing; {DAMAGED_METRICS}")
    return rows[:epochs]


def append_metrics(path, row):
    """Add one epoch's row to metrics.jsonl, on disk before this returns (files.append_durably)."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    append_durably(path, json.dumps(row) + "\n")


def write_json(path, value):
    """Write `value` as indented JSON, atomically (eval.json)."""
    with atomic_write(path, "w") as f:
        json.dump(value, f, indent=2)


def _metrics_row(line, path, number, epoch):
    """Line `number` of a metrics file, which must hold the row of `epoch`."""
    try:
        row = json.loads(line)
    except (UnicodeDecodeError, ValueError, RecursionError) as err:
        problem = f"is not JSON ({getattr(err, 'msg', None) or err})"  # msg: without its place
    else:
        problem = _row_problem(row, epoch)
    if problem:
        raise RunError(f"{path} line {number} {problem}; {DAMAGED_METRICS}")
    return row


def _row_problem(row, epoch):
    if not isinstance(row, dict) or set(row) != set(METRIC_KEYS):
        keys = sorted(row) if isinstance(row, dict) else type(row).__name__
        return f"is not a row of {', '.join(METRIC_KEYS)} (it holds {keys})"
    if row["epoch"] != epoch or type(row["epoch"]) is not int:
        return f"holds epoch {row['epoch']!r} where epoch {epoch} belongs (each once, in order)"
    for key in METRIC_KEYS[1:]:
        value = row[key]
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            return f"has {key} {value!r}, not a number or null"
    return None
