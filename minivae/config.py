"""TrainConfig: everything a training run depends on, in one dataclass.

    config = TrainConfig(dataset="fashion-mnist", epochs=10, out="runs/fashion")

Fields left at None take the defaults of the kind of dataset (below); then every field is checked
against minivae.settings, so a batch size of 0 or an unknown model name stops here, before any
data is read. The config is saved in every checkpoint, so a run directory always says how it was
made.
"""

import dataclasses

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
        defaults = TOY2D_DEFAULTS if self.dataset in TOY2D else IMAGE_DEFAULTS
        for name, value in defaults.items():
            if getattr(self, name) is None:
                setattr(self, name, value)
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
