"""TrainConfig: everything a training run depends on, in one dataclass, each field with its limit.

    config = TrainConfig(dataset="fashion-mnist", epochs=10, out="runs/fashion")
    LIMITS["batch_size"].problem(0)     # 'must be an integer >= 1, got 0'

Fields left at None take the defaults of the kind of dataset (below); then every field is checked
against its limit (the kinds of limit are `minivae.limits`), so a batch size of 0 or an unknown
model name stops here, before any data is read, and stored as the plain Python value its limit
gives: `TrainConfig(lr=np.float32(1e-3)).lr` is the float 0.0010000000474974513, the same number,
which every checkpoint's JSON can hold. The command line parses its flags with the same
limits, so `TrainConfig(batch_size=0)` and `minivae train --batch-size 0` are refused in the same
words. The config is saved in every checkpoint, so a run directory always says how it was made.
"""

import dataclasses
import os

from minivae.backend import DEVICES
from minivae.data import DATASET_NAMES, TOY2D
from minivae.data.batches import BINARIZATIONS
from minivae.errors import ConfigError
from minivae.limits import COUNT, SEED, WIDTH, Flag, Names, Number, Sizes, Text
from minivae.models.decoder import LIKELIHOODS
from minivae.models.encoder_decoder import MODEL_KINDS, architecture
from minivae.models.nn import ACTIVATIONS
from minivae.models.optim import OPTIMIZERS

# What a field left at None becomes, by kind of dataset. Images: the pytorch/examples VAE.
# 2-D toys: a 2-D latent and a Gaussian likelihood; their 5,000 points make only 40 steps per
# epoch, so they take more epochs (with 10 the posterior has not left the prior yet).
IMAGE_DEFAULTS = dict(epochs=10, lr=1e-3, hidden=(400,), latent_dim=20, likelihood="bernoulli")
TOY2D_DEFAULTS = dict(epochs=100, lr=3e-3, hidden=(64, 64), latent_dim=2, likelihood="gaussian")
POSITIVE = Number(integer=False, low=0, low_open=True)
NON_NEGATIVE = Number(integer=False, low=0)


def setting(default, limit):
    """A TrainConfig field: its default and its limit (None: optional, and no limit applies)."""
    return dataclasses.field(default=default, metadata={"limit": limit})


@dataclasses.dataclass
class TrainConfig:
    """Everything a run depends on. Fields left at None take the dataset's defaults (above)."""

    dataset: str = setting("sprites", Names(DATASET_NAMES))
    data_dir: str | None = setting(None, Text())  # None: the dataset's usual places
    model: str = setting("vae", Names(MODEL_KINDS))  # or "autoencoder"
    epochs: int | None = setting(None, COUNT)
    batch_size: int = setting(128, COUNT)
    lr: float | None = setting(None, POSITIVE)
    optimizer: str = setting("adam", Names(tuple(OPTIMIZERS)))  # or "sgd" (with momentum)
    momentum: float = setting(0.9, Number(integer=False, low=0, high=1, high_open=True))
    clip: float | None = setting(None, POSITIVE)  # max global gradient norm; None: no clipping
    hidden: tuple | None = setting(None, Sizes(WIDTH))
    latent_dim: int | None = setting(None, WIDTH)
    likelihood: str | None = setting(None, Names(LIKELIHOODS))
    activation: str = setting("relu", Names(tuple(ACTIVATIONS)))
    binarize: str = setting("none", Names(BINARIZATIONS))  # none | static | dynamic
    beta: float = setting(1.0, NON_NEGATIVE)
    warmup_epochs: float = setting(0.0, NON_NEGATIVE)  # beta rises from 0 over this many epochs
    free_bits: float = setting(0.0, NON_NEGATIVE)  # a KL floor per latent unit, nats; 0: none
    seed: int = setting(0, SEED)
    dtype: str = setting("float32", Names(("float32", "float64")))
    device: str = setting("cpu", Names(DEVICES))
    cuda_graph: bool = setting(False, Flag())  # replay one captured step per batch (GPU only)
    limit: int | None = setting(None, COUNT)  # the first N examples of each split; None: all
    out: str = setting("runs/default", Text())

    def __post_init__(self):
        toy = isinstance(self.dataset, str) and self.dataset in TOY2D  # else _check says
        defaults = TOY2D_DEFAULTS if toy else IMAGE_DEFAULTS
        for name, value in defaults.items():
            if getattr(self, name) is None:
                setattr(self, name, value)
        for name in ("out", "data_dir"):  # a pathlib.Path is a path too; JSON wants a str
            if isinstance(getattr(self, name), os.PathLike):
                setattr(self, name, os.fspath(getattr(self, name)))
        self._check()
        for field in dataclasses.fields(self):  # NumPy scalars, Fractions: plain int or float
            value = getattr(self, field.name)
            if value is not None:
                setattr(self, field.name, LIMITS[field.name].plain(value))

    def _check(self):
        """ConfigError naming the first field outside its limit."""
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if value is None and field.default is None:
                continue  # optional and left unset (clip, limit, data_dir)
            problem = LIMITS[field.name].problem(value)
            if problem:
                raise ConfigError(f"TrainConfig: {field.name} {problem}")
        if self.cuda_graph and self.device != "gpu":
            raise ConfigError(
                "TrainConfig: cuda_graph needs device 'gpu' (--cuda-graph runs on the GPU "
                "only): add --device gpu, or leave --cuda-graph out"
            )
        if self.cuda_graph and self.binarize == "dynamic":
            raise ConfigError(
                "TrainConfig: cuda_graph cannot be used with binarize 'dynamic': its 0/1 pixels "
                "are drawn on the host at every step, which a captured step cannot do; use "
                "--binarize static, or leave --cuda-graph out"
            )

    def architecture(self, input_dim):
        """The model's architecture for data of `input_dim` dimensions (a dict, as
        minivae.models.encoder_decoder.architecture makes it)."""
        return architecture(self.model, input_dim, self.hidden, self.latent_dim, self.likelihood,
                            self.activation)


LIMITS = {field.name: field.metadata["limit"] for field in dataclasses.fields(TrainConfig)}

# A resumed run is the run that was saved, so its config is the checkpoint's. These fields may
# differ in the command (or the TrainConfig) that resumes it, because they say how or where the
# run goes on, not what it computes:
#   epochs              train for longer (or stop sooner)
#   device, cuda_graph  the same steps on the CPU or the GPU: checkpoints hold NumPy arrays and
#                       integer generator states, so they are device-independent (the numbers
#                       then agree to rounding, not bit for bit)
#   data_dir            the same dataset, found in another directory
#   out                 the run directory, wherever it is now (it may have been moved)
# Every other field is the run itself (its data, model, optimizer, noise, batches): another value
# would not continue that run but start a different one, so it is refused.
MAY_CHANGE_ON_RESUME = ("epochs", "device", "cuda_graph", "data_dir", "out")


def resumed_config(saved, asked, run_dir, spell=str):
    """The config a resumed run goes on with: `saved` (the checkpoint's TrainConfig) with those
    fields of `asked` (a dict of TrainConfig fields: the flags given, or a whole config) that
    may change on resume. Any other field of `asked` that differs from the saved value is a
    ConfigError naming it as `spell(field)` writes it ("--batch-size" on the command line), its
    saved value and what to do. A saved cuda_graph is dropped when the run moves off the GPU,
    unless `asked` sets it (it runs on the GPU only)."""
    for field, value in asked.items():
        if field not in MAY_CHANGE_ON_RESUME and value != getattr(saved, field):
            raise ConfigError(
                f"{spell(field)} {value!r} contradicts the run in {run_dir}, which was started "
                f"with {field} {getattr(saved, field)!r}: a resumed run keeps its settings (only "
                f"{', '.join(MAY_CHANGE_ON_RESUME)} may change), so leave {spell(field)} out to "
                "continue it, or start a new run with another --out"
            )
    changes = {field: asked[field] for field in MAY_CHANGE_ON_RESUME if field in asked}
    if changes.get("device", saved.device) != "gpu" and "cuda_graph" not in asked:
        changes["cuda_graph"] = False
    return dataclasses.replace(saved, **changes)
