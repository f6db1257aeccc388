"""The gradient-check cases of every op: each op once, with how to draw inputs it can be checked on.

The gradient tests, the planted-bug tests and `minivae gradcheck` all loop over `CASES` (and the
whole models' losses, `minivae.models.gradcheck_cases`), so an op is checked exactly when it is
listed here (a test fails when an op exists that no case covers). An op with a fast form is
checked in both forms (`forms`).

Each case draws its inputs through a `Picker`, which only has to supply small integers: the CLI
uses a seeded NumPy generator, the tests use hypothesis (which then shrinks a failure to the
smallest shapes). Inputs stay inside each op's domain (log and sqrt of positives) and away from
kinks (relu at 0, ties in maximum), where a finite difference would straddle two derivatives.
"""

import contextlib
import dataclasses
from collections.abc import Callable

import numpy as np

from minivae import backend, ops
from minivae.engine.function import plain_forms
from minivae.engine.tensor import Tensor
from minivae.ops import activations, elementwise, likelihoods, linalg, reduce, shape, vae


class Picker:
    """Draws shapes and float64 values from a source of small integers (`integer`)."""

    def integer(self, low, high):  # inclusive bounds
        raise NotImplementedError

    @property
    def rng(self):
        """A NumPy generator for the values, seeded from the integer source."""
        if not hasattr(self, "_rng"):
            self._rng = np.random.default_rng(self.integer(0, 2**31 - 1))
        return self._rng

    def size(self, low=1, high=4):
        return self.integer(low, high)

    def shape(self, min_dims=1, max_dims=3):
        return tuple(self.size() for _ in range(self.integer(min_dims, max_dims)))

    def broadcast_pair(self):
        """Two shapes that broadcast: b may drop leading axes and have 1 where a does not."""
        a = self.shape()
        b = tuple(1 if self.integer(0, 2) == 0 else n for n in a[self.integer(0, len(a) - 1) :])
        return (a, b) if self.integer(0, 1) else (b, a)

    def normal(self, shape, scale=1.0):
        return scale * self.rng.standard_normal(shape)

    def uniform(self, shape, low, high):
        return self.rng.uniform(low, high, shape)

    def away_from_zero(self, shape, low=0.2, high=2.0):
        return self.rng.choice([-1.0, 1.0], shape) * self.rng.uniform(low, high, shape)

    def axes(self, ndim):
        """None (all axes) or a non-empty subset of axes, negatives included."""
        if self.integer(0, 2) == 0:
            return None
        chosen = [a for a in range(ndim) if self.integer(0, 1)] or [ndim - 1]
        return tuple(a - ndim if self.integer(0, 1) else a for a in chosen)


class RandomPicker(Picker):
    """Sizes from a seeded NumPy generator (what `minivae gradcheck` uses)."""

    def __init__(self, seed):
        self._source = np.random.default_rng(seed)

    def integer(self, low, high):
        return int(self._source.integers(low, high + 1))


@dataclasses.dataclass(frozen=True)
class OpCase:
    """One op to check: its Function class, its input draw and its call."""

    name: str
    function: type
    draw: Callable  # Picker -> list of float64 arrays
    call: Callable  # Tensors -> Tensor or tuple of Tensors


MODES = ("plain", "fast")


def running(mode):
    """The context that runs ops and models in `mode`: inside plain_forms(), or as they are."""
    return plain_forms() if mode == "plain" else contextlib.nullcontext()


@dataclasses.dataclass(frozen=True)
class Form:
    """One way an op runs on an array module: its plain form, or the fast form it lists for it."""

    label: str  # "plain" or "fast", the mode it runs in
    function: type  # the Function class whose forward and backward then run


def forms(function, xp=np):
    """The forms `function` runs in on `xp`: always plain, and fast where it has one for xp."""
    found = [Form("plain", function)]
    if xp.__name__ in function.fast_forms:
        found.append(Form("fast", function.fast_forms[xp.__name__]))
    return found


def on_device(inputs, xp):
    """A case's drawn inputs with every NumPy array moved to the array module `xp`."""
    return [xp.asarray(v) if isinstance(v, np.ndarray) else v for v in inputs]


def outputs_and_gradients(case, inputs, mode, seed=0):
    """The case's outputs and the gradients of sum(u * outputs) for a random u, run in `mode`
    on the array module of `inputs`; all as NumPy arrays, for comparing forms and devices."""
    leaves = [Tensor(v, requires_grad=True) if getattr(v, "dtype", None) is not None
              and v.dtype.kind == "f" else v for v in inputs]
    with running(mode):
        outputs = case.call(*leaves)
    outputs = outputs if isinstance(outputs, tuple) else (outputs,)
    rng = np.random.default_rng(seed)
    for out in outputs:
        out.backward(out.xp.asarray(rng.standard_normal(out.shape).astype(out.dtype)))
    grads = [leaf.grad for leaf in leaves if isinstance(leaf, Tensor)]
    return [backend.to_numpy(a) for a in [o.data for o in outputs] + grads]


def _binary(p):
    return [p.normal(s) for s in p.broadcast_pair()]


def _divide(p):
    a, b = p.broadcast_pair()
    return [p.normal(a), p.away_from_zero(b, 0.5)]


def _no_ties(p):
    """a on the quarter-odd grid (k/2 + 1/4), b on the half grid (k/2): |a - b| >= 1/4."""
    a, b = p.broadcast_pair()
    return [p.rng.integers(-4, 4, a) / 2 + 0.25, p.rng.integers(-4, 4, b) / 2.0]


def _power(p):
    a, b = p.broadcast_pair()
    return [p.uniform(a, 0.5, 2.0), p.uniform(b, -2.0, 2.0)]


def _reduction(op):
    """A case for sum, mean or logsumexp over a random subset of axes, keepdims or not."""

    def draw(p):
        x = p.normal(p.shape())
        return [x, p.axes(x.ndim), bool(p.integer(0, 1))]

    return draw, lambda x, axes, keepdims: op(x, axis=axes, keepdims=keepdims)


def _getitem_draw(p):
    x = p.normal(p.shape(2, 3))
    rows = p.rng.integers(0, x.shape[0], size=p.size(1, 5))  # repeats likely: scatter-add
    return [x, (rows, slice(0, p.size(1, x.shape[1])))]


def _transpose_draw(p):
    x = p.normal(p.shape(1, 4))
    return [x, tuple(int(a) for a in p.rng.permutation(x.ndim))]


def _reshape_draw(p):
    x = p.normal(p.shape(1, 3))
    return [x, (-1,) if p.integer(0, 1) else tuple(reversed(x.shape))]


def _concatenate_draw(p):
    base = list(p.shape(1, 3))
    axis = p.integer(0, len(base) - 1)
    pieces = []
    for _ in range(p.integer(2, 3)):
        base[axis] = p.size()
        pieces.append(p.normal(tuple(base)))
    return [*pieces, axis]


def _concatenate_call(*pieces_then_axis):
    return ops.concatenate(pieces_then_axis[:-1], axis=pieces_then_axis[-1])


def _split_draw(p):
    x = p.normal(p.shape(1, 3))
    axis = p.integer(0, x.ndim - 1)
    cuts = sorted({p.integer(0, x.shape[axis]) for _ in range(p.integer(1, 2))})
    return [x, cuts, axis]


def _matmul_draw(p):
    n, k, m = p.size(), p.size(), p.size()
    batch = p.shape(0, 2)
    a_batch = batch[p.integer(0, len(batch)) :] if batch else ()
    return [p.normal((*a_batch, n, k)), p.normal((*batch, k, m))]


def _linear_draw(p):
    batch, fan_in, fan_out = p.size(1, 5), p.size(), p.size()
    return [p.normal((batch, fan_in)), p.normal((fan_in, fan_out)), p.normal((fan_out,))]


def _gaussian_and_noise_draw(p):
    return _gaussian_draw(p, extra=1)


def _gaussian_draw(p, extra=0):
    shape = (p.size(1, 4), p.size(1, 4))
    return [p.normal(shape), p.uniform(shape, -2.0, 1.5)] + [p.normal(shape)] * extra


def _free_bits_draw(p):
    """mu, logvar and a floor lambda at least 0.05 nats from every unit's batch-mean KL, so that a
    finite difference never carries a unit across the floor (where the derivative jumps): some
    units above it and some below where there are several."""
    mu, logvar = _gaussian_draw(p)
    means = np.sort(vae.kl_terms(mu, np.exp(logvar), logvar).mean(axis=0))  # (L,)
    gaps = [(a + b) / 2 for a, b in zip(means[:-1], means[1:], strict=True) if b - a >= 0.1]
    floors = gaps or [means[0] / 2 if means[0] >= 0.1 else means[0] + 0.5]
    return [mu, logvar, float(floors[p.integer(0, len(floors) - 1)])]


def _bernoulli_draw(p):
    shape = (p.size(1, 4), p.size(1, 6))
    return [p.normal(shape, 3.0), p.uniform(shape, 0.0, 1.0)]


def _gaussian_nll_draw(p):
    shape = (p.size(1, 4), p.size(1, 5))
    logvar_shape = [(), shape[1:], shape][p.integer(0, 2)]
    return [p.normal(shape), p.normal(shape), p.uniform(logvar_shape, -1.0, 1.0)]


def _unary(name, function, draw):
    op = getattr(ops, name)
    return OpCase(name, function, draw, lambda x: op(x))


_reduce_sum, _reduce_mean, _reduce_lse = (
    _reduction(ops.sum),
    _reduction(ops.mean),
    _reduction(ops.logsumexp),
)

CASES = [
    OpCase("add", elementwise.Add, _binary, ops.add),
    OpCase("sub", elementwise.Sub, _binary, ops.sub),
    OpCase("mul", elementwise.Mul, _binary, ops.mul),
    OpCase("div", elementwise.Div, _divide, ops.div),
    OpCase("pow", elementwise.Pow, _power, ops.pow),
    OpCase("maximum", elementwise.Maximum, _no_ties, ops.maximum),
    _unary("neg", elementwise.Neg, lambda p: [p.normal(p.shape())]),
    _unary("exp", elementwise.Exp, lambda p: [p.uniform(p.shape(), -2.0, 2.0)]),
    _unary("log", elementwise.Log, lambda p: [p.uniform(p.shape(), 0.5, 3.0)]),
    _unary("sqrt", elementwise.Sqrt, lambda p: [p.uniform(p.shape(), 0.5, 3.0)]),
    _unary("relu", activations.ReLU, lambda p: [p.away_from_zero(p.shape())]),
    _unary("tanh", activations.Tanh, lambda p: [p.normal(p.shape(), 2.0)]),
    _unary("sigmoid", activations.Sigmoid, lambda p: [p.normal(p.shape(), 3.0)]),
    _unary("softplus", activations.Softplus, lambda p: [p.normal(p.shape(), 3.0)]),
    _unary("log_sigmoid", activations.LogSigmoid, lambda p: [p.normal(p.shape(), 3.0)]),
    OpCase("sum", reduce.Sum, *_reduce_sum),
    OpCase("mean", reduce.Mean, *_reduce_mean),
    OpCase("logsumexp", reduce.LogSumExp, *_reduce_lse),
    OpCase("reshape", shape.Reshape, _reshape_draw, ops.reshape),
    OpCase("transpose", shape.Transpose, _transpose_draw, ops.transpose),
    OpCase("getitem", shape.GetItem, _getitem_draw, ops.getitem),
    OpCase("concatenate", shape.Concatenate, _concatenate_draw, _concatenate_call),
    OpCase("split", shape.Split, _split_draw, ops.split),
    OpCase("matmul", linalg.MatMul, _matmul_draw, ops.matmul),
    OpCase("linear", linalg.Linear, _linear_draw, ops.linear),
    OpCase("reparameterize", vae.Reparameterize, _gaussian_and_noise_draw, ops.reparameterize),
    OpCase("gaussian_kl", vae.GaussianKL, _gaussian_draw, ops.gaussian_kl),
    OpCase("free_bits_kl", vae.FreeBitsKL, _free_bits_draw, ops.free_bits_kl),
    OpCase("sample_kl", vae.SampleKL, _gaussian_draw, lambda m, lv: ops.sample_kl(m, lv, 7, 3)),
    OpCase("bernoulli_nll", likelihoods.BernoulliNLL, _bernoulli_draw, ops.bernoulli_nll),
    OpCase("gaussian_nll", likelihoods.GaussianNLL, _gaussian_nll_draw, ops.gaussian_nll),
]
