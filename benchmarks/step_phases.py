"""Where a training step's time goes: forward, backward and optimizer, minivae against PyTorch.

    python benchmarks/step_phases.py --steps 400

The same model as vae_vs_pytorch.py (784-400-20-400-784, Bernoulli, Adam, batch 128, float32)
on random Fashion-MNIST batches. minivae runs twice: with its fast forms (the default) and
inside minivae.plain_forms(). Each runs its steps in a loop of its own (interleaving single
steps makes the thread pools fight), twice in turn, and the table shows milliseconds per step
for each phase and the ratios to PyTorch, plus minivae's forward time per op in both forms.
"""

import argparse
import collections
import os
import time

ARGS = argparse.ArgumentParser(description=__doc__.split("\n")[0])
ARGS.add_argument("--steps", type=int, default=400)
ARGS.add_argument("--threads", type=int, default=os.cpu_count())
ARGS = ARGS.parse_args()
os.environ.setdefault("OPENBLAS_NUM_THREADS", str(ARGS.threads))  # before numpy is imported

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from minivae.accel import fused_adam  # noqa: E402
from minivae.data import load_dataset  # noqa: E402
from minivae.engine.function import Function  # noqa: E402
from minivae.models.optim import Adam  # noqa: E402
from minivae.models.vae import VAE  # noqa: E402
from minivae.ops.gradcheck_cases import running  # noqa: E402


class TorchVAE(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.enc1, self.enc2 = torch.nn.Linear(784, 400), torch.nn.Linear(400, 40)
        self.dec1, self.dec2 = torch.nn.Linear(20, 400), torch.nn.Linear(400, 784)

    def forward(self, x):
        mu, logvar = self.enc2(F.relu(self.enc1(x))).chunk(2, dim=1)
        z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
        logits = self.dec2(F.relu(self.dec1(z)))
        recon = F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(1)
        return (recon + 0.5 * (mu**2 + logvar.exp() - 1 - logvar).sum(1)).mean()


def timed_steps(forward, backward, step, batches):
    """Mean milliseconds of each phase over the batches."""
    totals = np.zeros(3)
    for x in batches:
        t0 = time.perf_counter()
        loss = forward(x)
        t1 = time.perf_counter()
        backward(loss)
        t2 = time.perf_counter()
        step()
        totals += [t1 - t0, t2 - t1, time.perf_counter() - t2]
    return 1e3 * totals / len(batches)


def main():
    torch.set_num_threads(ARGS.threads)
    x = load_dataset("fashion-mnist")[0].x
    rng = np.random.default_rng(0)
    batches = [x[rng.integers(0, len(x), 128)] for _ in range(ARGS.steps)]
    torch_batches = [torch.from_numpy(b) for b in batches]
    ours = VAE(784)
    ours_opt = Adam(ours.parameters())
    theirs = TorchVAE()
    theirs_opt = torch.optim.Adam(theirs.parameters(), lr=1e-3)

    def ours_backward(loss):
        ours_opt.zero_grad()
        loss.backward()

    def theirs_backward(loss):
        theirs_opt.zero_grad()
        loss.backward()

    def ours_forward(b):  # as the trainer calls it: the batches come from a checked dataset
        return ours.loss(b, validated=True).objective.mean()

    adam_form = fused_adam.status()  # built here if it must be, before any step is timed
    runs = {"fast": [], "plain": [], "PyTorch": []}
    for _ in range(2):
        for mode in ("fast", "plain"):
            with running(mode):
                runs[mode].append(timed_steps(ours_forward, ours_backward, ours_opt.step, batches))
        runs["PyTorch"].append(timed_steps(theirs, theirs_backward, theirs_opt.step, torch_batches))
    best = {name: np.min(times, axis=0) for name, times in runs.items()}  # best of the two turns
    print(f"ms per step, best of 2 turns of {ARGS.steps} steps, {ARGS.threads} threads; minivae "
          "fast forms (default) and plain forms")
    print(adam_form)
    print(f"{'phase':<10} {'fast':>8} {'plain':>8} {'PyTorch':>8} {'fast/PT':>8} {'plain/PT':>8}")
    phases = ["forward", "backward", "optimizer"]
    for i, phase in [*enumerate(phases), (slice(None), "total")]:
        fast, plain, torch_ms = (best[name][i].sum() for name in ("fast", "plain", "PyTorch"))
        print(f"{phase:<10} {fast:>8.2f} {plain:>8.2f} {torch_ms:>8.2f} {fast / torch_ms:>8.2f} "
              f"{plain / torch_ms:>8.2f}")
    for mode in ("fast", "plain"):
        with running(mode):
            print_forward_ops(ours, batches, mode)
    print_matmuls()


def print_matmuls(repeats=200):
    """The three big products of a step (784x400 layer, batch 128), NumPy against PyTorch."""
    rng = np.random.default_rng(0)
    x, w, g = (rng.random(s, np.float32) for s in ((128, 784), (784, 400), (128, 400)))
    products = {
        "x @ W (forward)": (lambda a, b, c: a @ b),
        "x.T @ g (dL/dW)": (lambda a, b, c: a.T @ c),
        "g @ W.T (dL/dx)": (lambda a, b, c: c @ b.T),
    }
    print("matrix products, ms (best of 5 x", repeats, "calls):")
    for name, product in products.items():
        times = []
        for args in ((x, w, g), tuple(torch.from_numpy(a) for a in (x, w, g))):
            best = min(_seconds(product, args, repeats) for _ in range(5))
            times.append(1e3 * best / repeats)
        print(f"  {name:<16} NumPy {times[0]:.3f}  PyTorch {times[1]:.3f}")


def _seconds(product, args, repeats):
    start = time.perf_counter()
    for _ in range(repeats):
        product(*args)
    return time.perf_counter() - start


def print_forward_ops(model, batches, mode):
    """minivae's forward time per op, measured by wrapping every Function.forward."""
    spent = collections.Counter()
    originals = {}
    stack = list(Function.__subclasses__())
    while stack:
        cls = stack.pop()
        stack += cls.__subclasses__()
        originals[cls] = cls.__dict__["forward"]

        def timed(ctx, *args, _forward=originals[cls].__func__, _name=cls.__name__, **kwargs):
            start = time.perf_counter()
            out = _forward(ctx, *args, **kwargs)
            spent[_name] += time.perf_counter() - start
            return out

        cls.forward = staticmethod(timed)
    for b in batches:
        model.loss(b).objective.mean()
    for cls, forward in originals.items():
        cls.forward = forward
    print(f"minivae forward ({mode} forms), ms per step by op:")
    for name, seconds in spent.most_common():
        print(f"  {name:<14} {1e3 * seconds / len(batches):6.3f}")


if __name__ == "__main__":
    main()
