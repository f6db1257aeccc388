"""What each setting of a run may be: the names a choice may take, the range of each number.

This is the one place that says so. `TrainConfig` checks its fields here when it is made, and the
command line parses its flags with the same limits, so `TrainConfig(batch_size=0)` and
`minivae train --batch-size 0` are refused in the same words, before any data is read:

    problem_with("batch_size", 0)       # 'must be an integer >= 1, got 0'
    problem_with("model", "VAE")        # "must be one of vae, autoencoder, got 'VAE'"
    problem_with("batch_size", 128)     # None: fine
"""

import dataclasses
import math
import numbers

from minivae.backend import DEVICES
from minivae.data import DATASET_NAMES
from minivae.data.batches import BINARIZATIONS
from minivae.model import LIKELIHOODS, MODEL_KINDS
from minivae.nn import ACTIVATIONS

MAX_WIDTH = 65_536  # units in one layer: a 784 x 65,536 layer alone holds 51 million weights
MAX_SEED = 2**64 - 1  # the noise generator's key holds 64 bits


@dataclasses.dataclass(frozen=True)
class Number:
    """Integers (or finite reals) from `low` to `high`; `*_open` leaves that end itself out."""

    integer: bool
    low: float
    high: float = math.inf
    low_open: bool = False
    high_open: bool = False

    def describe(self):
        kind = "an integer" if self.integer else "a finite number"
        if math.isinf(self.high):
            return f"{kind} {'>' if self.low_open else '>='} {self.low}"
        left, right = "(" if self.low_open else "[", ")" if self.high_open else "]"
        return f"{kind} in {left}{self.low}, {self.high}{right}"

    def problem(self, value):
        """What is wrong with `value` for this setting, in words; None when nothing is."""
        kind = numbers.Integral if self.integer else numbers.Real
        if isinstance(value, bool) or not isinstance(value, kind) or not self._holds(value):
            return f"must be {self.describe()}, got {value!r}"
        return None

    def parse(self, text):
        """The number written in `text` (a command-line value): (value, problem or None)."""
        try:
            value = int(text) if self.integer else float(text)
        except ValueError:
            return None, f"must be {self.describe()}, got {text!r}"
        return value, self.problem(value)

    def _holds(self, value):
        if not self.integer and not _finite(value):
            return False
        above = value > self.low if self.low_open else value >= self.low
        below = value < self.high if self.high_open else value <= self.high
        return above and below


def _finite(value):
    """True for a real that is neither NaN nor infinite, nor an integer too large for a float
    (what 1e400 is on the command line: inf)."""
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


@dataclasses.dataclass(frozen=True)
class Names:
    """One of a fixed set of names, spelled exactly (so "VAE" is not "vae")."""

    names: tuple

    def problem(self, value):
        """What is wrong with `value`: not one of the names; None when it is one."""
        if value not in self.names:
            return f"must be one of {', '.join(self.names)}, got {value!r}"
        return None


@dataclasses.dataclass(frozen=True)
class Flag:
    """True or False."""

    def problem(self, value):
        return None if isinstance(value, bool) else f"must be True or False, got {value!r}"


@dataclasses.dataclass(frozen=True)
class Sizes:
    """A sequence of layer widths, each a `width` Number; () means no hidden layer at all."""

    width: Number

    def problem(self, value):
        """What is wrong with `value`: not a list or tuple of widths; None when it is one."""
        if not isinstance(value, list | tuple) or any(self.width.problem(v) for v in value):
            return (f"must be a tuple of layer widths such as (400,) or (512, 256), each "
                    f"{self.width.describe()}, got {value!r}")  # fmt: skip
        return None

    def parse(self, text):
        """'512,256' -> ((512, 256), problem or None)."""
        try:
            value = tuple(int(s) for s in text.split(",") if s.strip())
        except ValueError:
            value = None
        if value is None or self.problem(value):
            widths = self.width.describe()
            return None, f"must be sizes like 400 or 512,256, each {widths}, got {text!r}"
        return value, None


COUNT = Number(integer=True, low=1)  # epochs, batch sizes, examples, samples, draws
SEED = Number(integer=True, low=0, high=MAX_SEED)
WIDTH = Number(integer=True, low=1, high=MAX_WIDTH)

LIMITS = {
    "dataset": Names(DATASET_NAMES),
    "model": Names(MODEL_KINDS),
    "epochs": COUNT,
    "batch_size": COUNT,
    "lr": Number(integer=False, low=0, low_open=True),
    "optimizer": Names(("adam", "sgd")),
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
}


def problem_with(name, value):
    """What is wrong with `value` for the setting `name`; None if nothing (or no limit is set)."""
    limit = LIMITS.get(name)
    return None if limit is None else limit.problem(value)
