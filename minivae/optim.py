"""Optimizers: SGD with momentum and Adam, updating parameters in place; gradient clipping.

Notation: theta a parameter, g its gradient dL/dtheta, lr the learning rate, t the step count.
"""

import math

from minivae import backend


class Optimizer:
    """Holds the parameters and per-parameter state; `step()` applies one update."""

    def __init__(self, params, lr):
        self.params = list(params)
        self.lr = lr
        self.t = 0

    def zero_grad(self):
        for p in self.params:
            p.zero_grad()

    def step(self):
        self.t += 1
        for i, p in enumerate(self.params):
            if p.grad is not None:
                self.update(i, p)

    def state_dict(self):
        """Step count and state arrays (NumPy copies), by kind and parameter index."""
        state = {"t": self.t}
        for kind, arrays in self.buffers().items():
            for i, a in enumerate(arrays):
                state[f"{kind}.{i}"] = backend.to_numpy(a).copy()
        return state

    def load_state_dict(self, state):
        self.t = int(state["t"])
        for kind, arrays in self.buffers().items():
            for i, a in enumerate(arrays):
                a[...] = backend.get_array_module(a).asarray(state[f"{kind}.{i}"])


class SGD(Optimizer):
    """v <- momentum v + g;  theta <- theta - lr v   (plain SGD when momentum = 0)."""

    def __init__(self, params, lr=0.01, momentum=0.0):
        super().__init__(params, lr)
        self.momentum = momentum
        self.velocity = [p.xp.zeros_like(p.data) for p in self.params]

    def buffers(self):
        return {"velocity": self.velocity}

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

    Every line of `update` writes into an existing array (m, v, the parameter, or one scratch
    buffer per parameter), so a step allocates nothing of the parameters' size.
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
        super().__init__(params, lr)
        self.b1, self.b2 = betas
        self.eps = eps
        self.m = [p.xp.zeros_like(p.data) for p in self.params]  # first moment, mean of g
        self.v = [p.xp.zeros_like(p.data) for p in self.params]  # second moment, mean of g^2
        self.scratch = [p.xp.empty_like(p.data) for p in self.params]

    def buffers(self):
        return {"m": self.m, "v": self.v}

    def update(self, i, p):
        xp, g, m, v, tmp = p.xp, p.grad, self.m[i], self.v[i], self.scratch[i]
        b1, b2, t = self.b1, self.b2, self.t
        m *= b1
        xp.multiply(g, 1 - b1, out=tmp)
        m += tmp  # m = b1 m + (1 - b1) g
        v *= b2
        xp.multiply(g, g, out=tmp)
        tmp *= 1 - b2
        v += tmp  # v = b2 v + (1 - b2) g^2
        xp.divide(v, 1 - b2**t, out=tmp)  # v_hat
        xp.sqrt(tmp, out=tmp)
        tmp += self.eps  # sqrt(v_hat) + eps
        xp.divide(m, tmp, out=tmp)
        tmp *= self.lr / (1 - b1**t)  # lr m_hat / (sqrt(v_hat) + eps), m_hat = m / (1 - b1^t)
        p.data -= tmp


def clip_grad_norm(params, max_norm):
    """Scale all gradients by min(1, max_norm / ||g||), ||g|| the norm of all of them together.

    Returns ||g|| before clipping (useful to log).
    """
    grads = [p.grad for p in params if p.grad is not None]
    total = math.sqrt(sum(float((g * g).sum()) for g in grads))
    if total > max_norm:
        scale = max_norm / total
        for p in params:
            if p.grad is not None:
                p.grad = p.grad * scale
    return total
