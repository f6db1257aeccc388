"""The elementwise work behind minivae's forward pass, against PyTorch, in one invocation.

    python benchmarks/elementwise.py

On one float32 batch of 128 x 784 logits (the decoder's output in the benchmark model) and the
(128, 20) latent noise of one step, microseconds per call, best of 5 repeats:
  - the Bernoulli likelihood: minivae's BernoulliNLL forward + backward in its fast NumPy form
    (what runs by default) and in its plain form (inside minivae.plain_forms()), against
    PyTorch's binary_cross_entropy_with_logits forward + backward on 1 and on 2 threads
    (PyTorch splits elementwise work over its threads, NumPy does not);
  - sampling z and the KL, forward + backward: the fused sample_kl (default) against the plain
    noise draw + reparameterize + gaussian_kl;
  - three ways of computing sigma(l) from t = 1 + e^-|l| in the backward pass: the one
    BernoulliNLL uses, |1[l < 0] - 1/t|, against a select with `where=` and with `copysign`;
  - the counter-based noise of one step (Philox4x32-10 and Box-Muller), drawn alone and, per
    step, as 64 steps' worth in one call.
"""

import os
import timeit

os.environ.setdefault("OPENBLAS_NUM_THREADS", "2")  # as in the other benchmarks

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from minivae import Tensor, ops, plain_forms  # noqa: E402
from minivae.models.vae import VAE  # noqa: E402
from minivae.rng import CounterRNG, counter_normal  # noqa: E402

BATCH, PIXELS, LATENT = 128, 784, 20


def microseconds(call, number):
    """Best of 5 repeats of `number` calls, in microseconds per call."""
    return 1e6 * min(timeit.repeat(call, number=number, repeat=5)) / number


def likelihood_rows(logits, x):
    g = np.ones(BATCH, np.float32)

    def minivae_step():
        leaf = Tensor(logits, requires_grad=True)
        ops.bernoulli_nll(leaf, x).backward(g)

    def torch_step():
        leaf = torch.from_numpy(logits).requires_grad_()
        F.binary_cross_entropy_with_logits(leaf, torch.from_numpy(x), reduction="none").sum(
            1
        ).backward(torch.from_numpy(g))

    rows = [("BernoulliNLL forward + backward, fast form", microseconds(minivae_step, 300))]
    with plain_forms():
        rows.append(("  plain form", microseconds(minivae_step, 300)))
    for threads in (1, 2):
        torch.set_num_threads(threads)
        rows.append(
            (f"  PyTorch BCE with logits, {threads} thread(s)", microseconds(torch_step, 300))
        )
    return rows


def sigmoid_rows(logits):
    t = 1 + np.exp(-np.abs(logits))
    negative = logits < 0
    out = np.empty_like(t)

    def with_where():
        np.reciprocal(t, out=out)
        np.subtract(1, out, out=out, where=negative)

    def with_copysign():
        np.reciprocal(t, out=out)
        np.subtract(out, 0.5, out=out)
        np.copysign(out, logits, out=out)
        np.add(out, 0.5, out=out)

    def with_abs():  # what BernoulliNLL.backward does
        np.abs((logits < 0) - np.reciprocal(t), out=out)

    return [
        ("sigma(l) as |1[l < 0] - 1/t| (BernoulliNLL)", microseconds(with_abs, 1000)),
        ("  as a select with where=", microseconds(with_where, 1000)),
        ("  as 1/2 + copysign(1/t - 1/2, l)", microseconds(with_copysign, 1000)),
    ]


def sample_kl_rows():
    rng = np.random.default_rng(1)
    mu, logvar = (rng.standard_normal((BATCH, LATENT), np.float32) for _ in range(2))
    weights = rng.standard_normal((BATCH, LATENT), np.float32)  # stands in for the decoder
    noise = CounterRNG(0)

    def step():  # one backward pass through both outputs, as in a training step
        leaves = Tensor(mu, requires_grad=True), Tensor(logvar, requires_grad=True)
        z, kl = VAE.sample_and_kl(*leaves, noise)
        ((z * weights).sum() + kl.sum()).backward()

    rows = [("z and KL, forward + backward: fused sample_kl", microseconds(step, 300))]
    with plain_forms():
        rows.append(("  plain: draw eps, reparameterize, gaussian_kl", microseconds(step, 300)))
    return rows


def noise_rows(steps_at_once=64):
    def one_step():
        counter_normal(np, (BATCH, LATENT), 1, 5, np.float32)

    def many_steps():
        counter_normal(np, (steps_at_once * BATCH, LATENT), 1, 5, np.float32)

    return [
        ("noise of one step (2,560 normals)", microseconds(one_step, 300)),
        (
            f"  per step, {steps_at_once} steps drawn in one call",
            microseconds(many_steps, 10) / steps_at_once,
        ),
    ]


def main():
    rng = np.random.default_rng(0)
    logits = (4 * rng.standard_normal((BATCH, PIXELS))).astype(np.float32)
    x = rng.random((BATCH, PIXELS), dtype=np.float32)
    rows = likelihood_rows(logits, x) + sigmoid_rows(logits) + sample_kl_rows() + noise_rows()
    print(f"numpy {np.__version__}, torch {torch.__version__}; us per call, best of 5 repeats")
    for name, us in rows:
        print(f"{name:<48} {us:8.1f}")


if __name__ == "__main__":
    main()
