"""What each setting of a run may be: the names a choice may take, the range of each number.

This is the one place that says so. `TrainConfig` checks its fields here when it is made, and the
command line parses its flags with the same limits, so `TrainConfig(batch_size=0)` and
`minivae train --batch-size 0` are refused in the same words, before any data is read:

    problem_with("batch_size", 0)       # 'must be an integer >= 1, got 0'
    problem_with("model", "VAE")        # "must be one of vae, autoencoder, got 'VAE'"
    problem_with("batch_size", 128)     # None: fine

The kinds of limit (a range of numbers, a set of names, ...) and the counts and seeds the rest of
minivae shares are `minivae.limits`; this table gives each setting its own.
"""

from minivae.backend import DEVICES
from minivae.data import DATASET_NAMES
from minivae.data.batches import BINARIZATIONS
from minivae.limits import COUNT, SEED, WIDTH, Flag, Names, Number, Sizes, Text
from minivae.model import LIKELIHOODS, MODEL_KINDS
from minivae.nn import ACTIVATIONS
from minivae.optim import OPTIMIZERS

LIMITS = {
    "dataset": Names(DATASET_NAMES),
    "model": Names(MODEL_KINDS),
    "epochs": COUNT,
    "batch_size": COUNT,
    "lr": Number(integer=False, low=0, low_open=True),
    "optimizer": Names(tuple(OPTIMIZERS)),
    "momentum": Number(integer=False, low=0, high=1, high_open=True),
    "clip": Number(integer=False, low=0, low_open=True),  # None: no clipping
    "hidden": Sizes(WIDTH),
    "latent_dim": WIDTH,
    "likelihood": Names(LIKELIHOODS),
    "activation": Names(tuple(ACTIVATIONS)),
    "binarize": Names(BINARIZATIONS),
    "beta": Number(integer=False, low=0),
    "warmup_epochs": Number(integer=False, low=0),
    "seed": SEED,
    "dtype": Names(("float32", "float64")),
    "device": Names(DEVICES),
    "cuda_graph": Flag(),
    "limit": COUNT,  # None: every example
    "data_dir": Text(),  # None: the dataset's usual places
    "out": Text(),
}


def problem_with(name, value):
    """What is wrong with `value` for the setting `name`; None if nothing (or no limit is set)."""
    limit = LIMITS.get(name)
    return None if limit is None else limit.problem(value)
