"""TrainConfig: everything a training run depends on, in one dataclass.

    config = TrainConfig(dataset="fashion-mnist", epochs=10, out="runs/fashion")

Fields left at None take the defaults of the kind of dataset (below); then every field is checked
against minivae.settings, so a batch size of 0 or an unknown model name stops here, before any
data is read. The config is saved in every checkpoint, so a run directory always says how it was
made.
"""

import dataclasses
import os

from minivae import settings
from minivae.data import TOY2D
from minivae.errors import ConfigError
from minivae.model import architecture

# What a field left at None becomes, by kind of dataset. Images: the pytorch/examples VAE.
# 2-D toys: a 2-D latent and a Gaussian likelihood; their 5,000 points make only 40 steps per
# epoch, so they take more epochs (with 10 the posterior has not left the prior yet).
IMAGE_DEFAULTS = dict(epochs=10, lr=1e-3, hidden=(400,), latent_dim=20, likelihood="bernoulli")
TOY2D_DEFAULTS = dict(epochs=100, lr=3e-3, hidden=(64, 64), latent_dim=2, likelihood="gaussian")


@dataclasses.dataclass
class TrainConfig:
    """Everything a run depends on. Fields left at None take the dataset's defaults (above)."""

    dataset: str = "sprites"
    data_dir: str | None = None
    model: str = "vae"  # or "autoencoder"
    epochs: int | None = None
    batch_size: int = 128
    lr: float | None = None
    optimizer: str = "adam"  # or "sgd" (with momentum)
    momentum: float = 0.9
    clip: float | None = None  # max global gradient norm
    hidden: tuple | None = None
    latent_dim: int | None = None
    likelihood: str | None = None
    activation: str = "relu"
    binarize: str = "none"  # none | static | dynamic
    beta: float = 1.0
    warmup_epochs: float = 0.0  # beta rises linearly from 0 over this many epochs
    seed: int = 0
    dtype: str = "float32"
    device: str = "cpu"
    cuda_graph: bool = False  # replay one captured training step per batch (GPU only)
    limit: int | None = None  # use only the first N examples of each split (quick runs, tests)
    out: str = "runs/default"

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
        self.hidden = tuple(self.hidden)

    def _check(self):
        """ConfigError naming the first field outside what minivae.settings allows it."""
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if value is None and field.default is None:
                continue  # optional and left unset (clip, limit, data_dir)
            problem = settings.problem_with(field.name, value)
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
        """The model's architecture for data of `input_dim` dimensions (see model.architecture)."""
        return architecture(self.model, input_dim, self.hidden, self.latent_dim, self.likelihood,
                            self.activation)  # fmt: skip


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
