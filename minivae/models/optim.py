"""Optimizers: SGD with momentum and Adam, updating parameters in place; gradient clipping.

Notation: theta a parameter, g its gradient dL/dtheta, lr the learning rate, t the step count.
"""

import numpy

from minivae import backend
from minivae.engine.function import fast_forms_enabled

TINY = 1e-30  # keeps max_norm / ||g|| finite when every gradient is 0
FLUSH_EVERY = 100  # steps between flushes of subnormal state (see Optimizer.flush_subnormals)


class Optimizer:
    """Holds the parameters and per-parameter state; `step()` applies one update.

    The step count t is a `backend.step_scalar`: a Python int on the CPU, a device scalar on the
    GPU (so a step captured in a CUDA graph counts its replays). `buffer_names` names the
    attributes that hold one state array per parameter: what a checkpoint saves besides t;
    `settings` names the constructor's arguments that a run's settings give (TrainConfig's
    fields of those names), so `OPTIMIZERS[name](params, **those)` builds any of them.
    """

    buffer_names = ()
    settings = ("lr",)

    def __init__(self, params, lr):
        self.params = list(params)
        self.lr = lr
        xp = self.params[0].xp if self.params else numpy
        self.t = backend.step_scalar(xp, 0, numpy.int64)

    def zero_grad(self):
        for p in self.params:
            p.zero_grad()

    def step(self):
        self.t += 1
        self.update_all()

    def update_all(self):
        for i, p in enumerate(self.params):
            if p.grad is not None:
                self.update(i, p)
        if not backend.is_array(self.t) and self.t % FLUSH_EVERY == 0:
            self.flush_subnormals()

    def flush_subnormals(self):
        """Set to 0 the state values that decayed below the smallest normal float.

        A parameter whose gradient has stopped (the weights into a dead ReLU unit) has its
        momentum multiplied by b1 = 0.9 at every step, down into the subnormal floats, and there
        it stays: 0.9 times the smallest subnormal rounds back to itself. x86 CPUs compute on
        subnormals through a slow path, so half a layer of them slows every later epoch
        markedly (benchmarks/vae_vs_pytorch.py shows it). They are far below anything that moves
        a parameter, so every FLUSH_EVERY steps they become 0 (on the CPU: the GPU's kernels
        flush them already).
        """
        for arrays in self.buffers().values():
            for a in arrays:
                numpy.copyto(a, 0, where=numpy.abs(a) < numpy.finfo(a.dtype).tiny)

    def buffers(self):
        """{name: [one array per parameter]} for each of `buffer_names`."""
        return {name: getattr(self, name) for name in self.buffer_names}

    def state_dict(self):
        """Step count and state arrays (NumPy copies), by kind and parameter index."""
        state = {"t": int(self.t)}
        for kind, arrays in self.buffers().items():
            for i, a in enumerate(arrays):
                state[f"{kind}.{i}"] = backend.to_numpy(a).copy()
        return state

    def load_state_dict(self, state):
        if backend.is_array(self.t):
            self.t.fill(int(state["t"]))  # the same device scalar, refilled
        else:
            self.t = int(state["t"])
        for kind, arrays in self.buffers().items():
            for i, a in enumerate(arrays):
                a[...] = backend.get_array_module(a).asarray(state[f"{kind}.{i}"])


class SGD(Optimizer):
    """v <- momentum v + g;  theta <- theta - lr v   (plain SGD when momentum = 0)."""

    buffer_names = ("velocity",)
    settings = ("lr", "momentum")

    def __init__(self, params, lr=0.01, momentum=0.0):
        super().__init__(params, lr)
        self.momentum = momentum
        self.velocity = [p.xp.zeros_like(p.data) for p in self.params]

    def update(self, i, p):
        v = self.velocity[i]
        v *= self.momentum
        v += p.grad
        p.data -= self.lr * v


class Adam(Optimizer):
    """Adam (Kingma and Ba, 2015): a step along bias-corrected running moments of g and g^2.

        m <- b1 m + (1 - b1) g                  v <- b2 v + (1 - b2) g^2
        m_hat = m / (1 - b1^t)                  v_hat = v / (1 - b2^t)
        theta <- theta - lr m_hat / (sqrt(v_hat) + eps)

    Every line of `update_arrays` writes into an existing array (m, v, the parameter, or one
    scratch buffer per parameter), so a step allocates nothing of the parameters' size.

    The fast form, on NumPy (`fused_update`): the same operations in one compiled loop
    (kernels/cpu/adam.cpp, loaded by minivae.accel.fused_adam), which reads and writes each
    element once where update_arrays' thirteen passes stream every array through memory
    thirteen times. The numbers are the same bits; `benchmarks/step_phases.py` times both.
    """

    buffer_names = ("m", "v")

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
        super().__init__(params, lr)
        self.b1, self.b2 = betas
        self.eps = eps
        self.m = [p.xp.zeros_like(p.data) for p in self.params]  # first moment, mean of g
        self.v = [p.xp.zeros_like(p.data) for p in self.params]  # second moment, mean of g^2
        self.scratch = [p.xp.empty_like(p.data) for p in self.params]

    def step(self):
        self.t += 1
        self.correction1 = 1 - self.b1**self.t  # 1 - b1^t and 1 - b2^t, for every parameter
        self.correction2 = 1 - self.b2**self.t
        self.update_all()

    def update(self, i, p):
        arrays = (p.grad, self.m[i], self.v[i], p.data)
        if not (p.xp is numpy and fast_forms_enabled() and self.fused_update(*arrays)):
            self.update_arrays(p.xp, *arrays, self.scratch[i])

    def update_arrays(self, xp, g, m, v, theta, tmp):
        """One Adam update of theta, in place, from its gradient g and moments m, v."""
        b1, b2 = self.b1, self.b2
        m *= b1
        xp.multiply(g, 1 - b1, out=tmp)
        m += tmp  # m = b1 m + (1 - b1) g
        v *= b2
        xp.multiply(g, g, out=tmp)
        tmp *= 1 - b2
        v += tmp  # v = b2 v + (1 - b2) g^2
        xp.divide(v, self.correction2, out=tmp)  # v_hat
        xp.sqrt(tmp, out=tmp)
        tmp += self.eps  # sqrt(v_hat) + eps
        xp.divide(m, tmp, out=tmp)
        tmp *= self.lr / self.correction1  # lr m_hat / (sqrt(v_hat) + eps), m_hat = m / (1 - b1^t)
        theta -= tmp

    def fused_update(self, g, m, v, theta):
        """The fast form: update_arrays' work by one compiled loop (minivae.accel.fused_adam);
        False, with nothing done, where it is not built or cannot take these arrays."""
        from minivae.accel import fused_adam  # noqa: PLC0415 - the fast form's machinery

        library, _ = fused_adam.fused_adam()
        return library is not None and fused_adam.update(
            library, g, m, v, theta, b1=self.b1, b2=self.b2, correction1=self.correction1,
            correction2=self.correction2, eps=self.eps, lr=self.lr,
        )


OPTIMIZERS = {"adam": Adam, "sgd": SGD}  # the names --optimizer takes


def clip_grad_norm(params, max_norm):
    """Scale all gradients by min(1, max_norm / ||g||), ||g|| the norm of all of them together.

    Returns ||g|| before clipping (useful to log), as a 0-d array: on the GPU it stays on the
    device, and nothing here waits for it.
    """
    with_grads = [p for p in params if p.grad is not None]
    xp = backend.get_array_module(*[p.grad for p in with_grads])
    total = xp.sqrt(sum((p.grad * p.grad).sum() for p in with_grads))  # ||g||, 0-d
    scale = xp.minimum(1.0, max_norm / xp.maximum(total, TINY))  # 1 unless ||g|| > max_norm
    for p in with_grads:
        p.grad = p.grad * scale.astype(p.grad.dtype)
    return total
