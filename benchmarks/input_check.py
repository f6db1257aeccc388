"""What the model's input check costs a training step: steps with it and without it.

    python benchmarks/input_check.py

Every public VAE method checks its x (minivae.inputs.as_model_input: shape, dtype, and min
and max for NaN, infinity and the Bernoulli range). One training step of the benchmark model
(784-400-20-400-784, float32, batch 128) checks twice, in `loss` and in the `encode` it calls.
This times one check of a batch, and whole steps (forward, backward, Adam) with the check and
with a plain conversion in its place, in alternating rounds so the machine's load falls on both.
"""

import os
import timeit

os.environ.setdefault("OPENBLAS_NUM_THREADS", "2")  # as in the other benchmarks

import numpy as np  # noqa: E402

import minivae.models.encoder_decoder as models  # noqa: E402
from minivae.inputs import as_model_input  # noqa: E402
from minivae.models.optim import Adam  # noqa: E402
from minivae.models.vae import VAE  # noqa: E402

ROUNDS, STEPS = 10, 50


def unchecked(model, x):
    """What as_model_input did before it checked values: the conversion alone."""
    return model.xp.asarray(x, dtype=model.dtype)


def main():
    checked = as_model_input
    x = np.random.default_rng(0).uniform(size=(128, 784)).astype(np.float32)
    model = VAE(784)
    optimizer = Adam(model.parameters(), lr=1e-3)

    def step():
        loss = model.loss(x).objective.mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    one = min(timeit.repeat(lambda: checked(model, x), number=2000, repeat=5)) / 2000
    print(f"one check of a (128, 784) float32 batch: {one * 1e6:.1f} us")
    times = {checked: [], unchecked: []}
    for _ in range(ROUNDS):
        for conversion, seconds in times.items():
            models.as_model_input = conversion  # what EncoderDecoder calls
            seconds.append(min(timeit.repeat(step, number=STEPS, repeat=3)) / STEPS)
    models.as_model_input = checked
    with_check, without = (1e3 * np.median(t) for t in times.values())
    print(f"step with the check {with_check:.3f} ms, without {without:.3f} ms: "
          f"{with_check - without:+.3f} ms ({(with_check / without - 1):+.1%}), median of "
          f"{ROUNDS} alternating rounds of best-of-3 x {STEPS} steps")


if __name__ == "__main__":
    main()
