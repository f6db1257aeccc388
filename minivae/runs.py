"""A run directory: what training leaves in it, and how a finished run is read back.

    runs/fashion/
        checkpoint.npz   architecture, parameters, optimizer state, random generators (atomic)
        metrics.jsonl    one JSON row per epoch
        *.png            the figures

    run = load_run("runs/fashion")        # its config, its model with the trained weights, data
    rows = read_metrics("runs/fashion/metrics.jsonl")
"""

import dataclasses
import json
import os

import numpy as np

from minivae import backend
from minivae.autoencoder import Autoencoder
from minivae.checkpoint import load_checkpoint
from minivae.config import TrainConfig
from minivae.data import load_dataset
from minivae.data.batches import BINARIZATIONS, binarize, check_inputs
from minivae.files import atomic_write
from minivae.model import VAE

CHECKPOINT, METRICS = "checkpoint.npz", "metrics.jsonl"
TEST_BINARIZATION_SEED = 12345  # the one fixed binarization of the test set


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
    if config.binarize not in BINARIZATIONS:
        raise ValueError(f"unknown binarization {config.binarize!r}: none, static or dynamic")
    if config.binarize != "none":
        test_x = binarize(test_x, np.random.default_rng(TEST_BINARIZATION_SEED))
    if config.binarize == "static":
        train_x = binarize(train_x, np.random.default_rng(config.seed))
    return train_x.astype(config.dtype, copy=False), test_x.astype(config.dtype, copy=False)


def read_saved_config(run_dir):
    """The TrainConfig a run was started with, from its checkpoint."""
    meta = load_checkpoint(os.path.join(run_dir, CHECKPOINT))[0]
    return TrainConfig(**meta["config"])


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
    meta, params, _, _ = load_checkpoint(os.path.join(run_dir, CHECKPOINT))
    config = TrainConfig(**meta["config"])
    if device is not None:
        config = dataclasses.replace(config, device=device)
    train_set, test_set = load_dataset(config.dataset, data_dir=config.data_dir)
    _, test_x = prepare_data(config, train_set, test_set)
    model = build_model(
        meta["model"], config.dtype, config.seed, backend.module_for_device(config.device)
    )
    model.load_state_dict(params)
    return SavedRun(config, model, test_set, test_x)


def read_metrics(path):
    """The rows of a metrics.jsonl file, one dict per epoch."""
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def write_json(path, value):
    """Write `value` as indented JSON, atomically (eval.json)."""
    with atomic_write(path, "w") as f:
        json.dump(value, f, indent=2)


def append_metrics(path, row):
    """Add one epoch's row to metrics.jsonl."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "a") as f:
        f.write(json.dumps(row) + "\n")


def keep_metrics_up_to(path, epochs):
    """Keep the rows of the first `epochs` epochs (a crash may have left one more), atomically."""
    if os.path.exists(path):
        rows = [row for row in read_metrics(path) if row["epoch"] <= epochs]
        with atomic_write(path, "w") as f:
            f.writelines(json.dumps(row) + "\n" for row in rows)
