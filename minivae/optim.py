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

    The paper keeps weighted averages m <- b1 m + (1 - b1) g and v <- b2 v + (1 - b2) g^2 and
    steps theta <- theta - lr m_hat / (sqrt(v_hat) + eps), m_hat = m / (1 - b1^t),
    v_hat = v / (1 - b2^t). This class keeps the weighted sums instead,

        G <- b1 G + g,    S <- b2 S + g^2,    so that m = (1 - b1) G,  v = (1 - b2) S,

    which saves a pass over each array per step (the sums need no scaling of g), and folds every
    constant of the step into two scalars, with k = sqrt((1 - b2) / (1 - b2^t)):

        theta <- theta - c1 G / (sqrt(S) + c2),   c1 = lr (1 - b1) / ((1 - b1^t) k),  c2 = eps / k
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
        super().__init__(params, lr)
        self.b1, self.b2 = betas
        self.eps = eps
        self.grad_sum = [p.xp.zeros_like(p.data) for p in self.params]  # G
        self.square_sum = [p.xp.zeros_like(p.data) for p in self.params]  # S
        self.scratch = [p.xp.empty_like(p.data) for p in self.params]  # reused every step

    def buffers(self):
        return {"grad_sum": self.grad_sum, "square_sum": self.square_sum}

    def update(self, i, p):
        xp, g, tmp = p.xp, p.grad, self.scratch[i]
        G, S = self.grad_sum[i], self.square_sum[i]  # noqa: N806 - the symbols above
        k = math.sqrt((1 - self.b2) / (1 - self.b2**self.t))
        c1 = self.lr * (1 - self.b1) / ((1 - self.b1**self.t) * k)
        # every line writes into an existing array: no temporaries of the parameter's size
        G *= self.b1
        G += g
        S *= self.b2
        xp.multiply(g, g, out=tmp)
        S += tmp
        xp.sqrt(S, out=tmp)
        tmp += self.eps / k
        xp.divide(G, tmp, out=tmp)
        tmp *= c1
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
