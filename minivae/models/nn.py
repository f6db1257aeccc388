"""Building blocks with learnable parameters: Parameter, Module, Linear, MLP.

A Module holds Parameters (leaf tensors with requires_grad=True) and other Modules as
attributes; `parameters()` finds them all, in a fixed order, by walking those attributes.
"""

import math

import numpy as np

from minivae import backend, ops
from minivae.engine.tensor import Tensor
from minivae.errors import CheckpointError, ConfigError

ACTIVATIONS = {"relu": ops.relu, "tanh": ops.tanh, "softplus": ops.softplus}


class Parameter(Tensor):
    """A tensor a model learns: always a leaf, always requires_grad."""

    def __init__(self, data):
        super().__init__(data, requires_grad=True)


class Module:
    """Base class: call it like a function (`module(x)` runs `forward(x)`)."""

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    def forward(self, *args, **kwargs):
        raise NotImplementedError

    def named_parameters(self, prefix=""):
        """(dotted name, Parameter) pairs, sorted by attribute name at every level."""
        for name, value in sorted(vars(self).items()):
            if isinstance(value, Parameter):
                yield prefix + name, value
            elif isinstance(value, Module):
                yield from value.named_parameters(prefix + name + ".")
            elif isinstance(value, list | tuple):
                for i, item in enumerate(value):
                    if isinstance(item, Module):
                        yield from item.named_parameters(f"{prefix}{name}.{i}.")

    def parameters(self):
        return [p for _, p in self.named_parameters()]

    def zero_grad(self):
        for p in self.parameters():
            p.zero_grad()

    def state_dict(self):
        """Parameter values by name, as NumPy arrays (copies, wherever the model lives)."""
        return {name: backend.to_numpy(p.data).copy() for name, p in self.named_parameters()}

    def load_state_dict(self, state):
        """Copy values into the parameters; every name and shape must match."""
        own = dict(self.named_parameters())
        missing, unexpected = sorted(own.keys() - state.keys()), sorted(state.keys() - own.keys())
        if missing or unexpected:
            raise CheckpointError(
                f"parameters do not match this model: missing {missing}, unexpected {unexpected}"
            )
        for name, p in own.items():
            value = state[name]
            if value.shape != p.shape:
                raise CheckpointError(
                    f"parameter {name} has shape {value.shape} in the saved state but {p.shape} "
                    "in this model: it was saved from another architecture"
                )
            p.data[...] = p.xp.asarray(value, dtype=p.dtype)


class Linear(Module):
    """y = x W + b, with x (B, in_features) -> y (B, out_features).

    Initialisation (the same as PyTorch's nn.Linear): W and b drawn uniformly from
    [-1/sqrt(in_features), 1/sqrt(in_features)], so the variance of each output starts near
    that of one input whatever the layer's width.
    """

    def __init__(self, in_features, out_features, rng, dtype=np.float32, xp=np):
        bound = 1 / math.sqrt(in_features)
        self.weight = Parameter(
            xp.asarray(rng.uniform(-bound, bound, (in_features, out_features)), dtype=dtype)
        )
        self.bias = Parameter(xp.asarray(rng.uniform(-bound, bound, out_features), dtype=dtype))

    def forward(self, x):
        return ops.linear(x, self.weight, self.bias)  # (B, in) -> (B, out)


class MLP(Module):
    """Linear layers with an activation between them (none after the last one).

    sizes = (784, 400, 40) builds 784 -> 400 -> activation -> 40.
    """

    def __init__(self, sizes, rng, activation="relu", dtype=np.float32, xp=np):
        if activation not in ACTIVATIONS:
            raise ConfigError(
                f"unknown activation {activation!r}: use one of {', '.join(sorted(ACTIVATIONS))}"
            )
        self.layers = [
            Linear(n_in, n_out, rng, dtype, xp)
            for n_in, n_out in zip(sizes[:-1], sizes[1:], strict=True)
        ]
        self.activation = ACTIVATIONS[activation]

    def forward(self, x):
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i < len(self.layers) - 1:
                x = self.activation(x)
        return x
