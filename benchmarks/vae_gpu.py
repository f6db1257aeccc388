"""The reference VAE on the GPU: minivae (eager, and with --cuda-graph) against PyTorch CUDA eager.

    python benchmarks/vae_gpu.py [--epochs 10] [--dataset sprites|fashion-mnist|auto]
                                 [--data-dir DIR]

The model and settings of vae_vs_pytorch.py (784-400-20-400-784, Bernoulli, Adam 1e-3, batch 128,
float32, the same batches in the same order), on 28 x 28 images:
  - sprites (the default): the 20,000 + 2,000 images minivae generates, on any machine;
  - fashion-mnist: Fashion-MNIST's IDX files, which must be on this machine (--data-dir,
    $MINIVAE_DATA, ~/.cache/minivae, /usr/share/datasets): nothing is ever downloaded;
  - auto: Fashion-MNIST where its files are here, else sprites.
It says first which data it trains on, and why. Then it prints, each row as it is measured:
  - ms per training step, each run's median over three timed stretches of 100 steps after 20
    steps of warm-up (the clock read after the device has finished);
  - seconds per epoch and the test -ELBO after each epoch, for the three GPU runs and a minivae
    run on the CPU with the same seed, whose final -ELBO the GPU runs must match within 0.5 nat.
Without CuPy or a GPU it says why (after naming the data) and exits 0.
"""

import argparse
import os
import statistics
import sys
import tempfile
import time

import numpy as np

from minivae import backend
from minivae.data import sources
from minivae.errors import MinivaeError
from minivae.training.trainer import TrainConfig, Trainer

TARGET_NATS = 0.5  # the GPU's final test -ELBO against the CPU run's
DATASETS = ("sprites", "fashion-mnist", "auto")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--dataset", choices=DATASETS, default="sprites")
    parser.add_argument("--data-dir", help="where Fashion-MNIST's IDX files are")
    return parser.parse_args(argv)


def choose_data(dataset, data_dir=None, system_dir=sources.SYSTEM_DIR):
    """(dataset, data_dir, why): what to train on, found on this machine, never downloaded."""
    if dataset == "sprites":
        return "sprites", None, "the sprites minivae generates (nothing to download)"
    try:
        paths = sources.locate("fashion-mnist", data_dir, download=False, system_dir=system_dir)
    except sources.DatasetNotFoundError as error:
        if dataset == "fashion-mnist":
            raise MinivaeError(f"benchmarks/vae_gpu.py --dataset fashion-mnist: {error}") from None
        searched = ", ".join(sources.candidate_dirs("fashion-mnist", data_dir, system_dir))
        return "sprites", None, ("the sprites minivae generates: Fashion-MNIST is not on this "
                                 f"machine (looked in {searched})")
    folder = os.path.dirname(paths[0])
    return "fashion-mnist", folder, f"Fashion-MNIST, found in {folder}"


def trainer(data, epochs, out, **settings):
    dataset, data_dir, _ = data
    config = TrainConfig(dataset=dataset, data_dir=data_dir, epochs=epochs, hidden=(400,),
                         latent_dim=20, out=out, **settings)
    return Trainer(config, progress=False, log=lambda _: None)


def minivae_step_ms(run, cupy, steps=100, warmup=20):
    """Median ms per step of a minivae trainer over three stretches (plain eager or graph)."""
    size = run.config.batch_size
    with run.device_stream():  # the graph's stream in graph runs, after the work before it
        order = cupy.asarray(np.random.default_rng(1).permutation(len(run.train_x)))  # copied on
        batches = [order[i * size : (i + 1) * size] for i in range(len(run.train_x) // size)]

        def one(i):  # the stream the steps run on, so the steps come after it
            index = batches[i % len(batches)]
            if run.graph_step is not None:
                run.graph_step.run(index, 1.0, run.sums)
            else:
                terms, loss = run.update(run.train_x[index], 1.0)
                run.sums.add(loss, terms, size)

        return _median_ms(one, steps, warmup, cupy.cuda.get_current_stream().synchronize)


def torch_step_ms(run, torch, steps=100, warmup=20):
    order = torch.from_numpy(np.random.default_rng(1).permutation(len(run.train_x)))
    order = order.to(run.device)
    batches = order[: (len(order) // 128) * 128].view(-1, 128)
    return _median_ms(lambda i: run.step(run.train_x[batches[i % len(batches)]]), steps, warmup,
                      torch.cuda.synchronize)


def _median_ms(step, steps, warmup, finish):
    for i in range(warmup):
        step(i)
    finish()
    times = []
    for _ in range(3):
        start = time.perf_counter()
        for i in range(steps):
            step(i)
        finish()
        times.append(1e3 * (time.perf_counter() - start) / steps)
    return statistics.median(times)


def main(argv=None):
    args = parse_args(argv)
    try:
        data = choose_data(args.dataset, args.data_dir)
    except MinivaeError as error:
        print(error, file=sys.stderr)
        return 2
    print(f"data: {data[2]}")
    reason = backend.why_no_gpu()
    if reason:
        print(f"benchmarks/vae_gpu.py needs a GPU: {reason}")
        return 0
    torch = torch_with_cuda()
    with tempfile.TemporaryDirectory() as out:
        print_step_table(gpu_runs(data, args.epochs, out, torch), backend.cupy, torch)
    with tempfile.TemporaryDirectory() as out:  # fresh runs: the step timing trained the others
        runs = gpu_runs(data, args.epochs, out, torch)
        runs["minivae CPU"] = trainer(data, args.epochs, f"{out}/cpu", device="cpu")
        print_epoch_table(runs, args.epochs)
    return 0


def torch_with_cuda():
    try:
        import torch  # noqa: PLC0415 - optional
    except ImportError:
        return None
    return torch if torch.cuda.is_available() else None


def gpu_runs(data, epochs, out, torch):
    """The GPU runs, freshly made with the same seed: minivae eager and graph, and PyTorch."""
    runs = {
        "minivae eager": trainer(data, epochs, f"{out}/eager", device="gpu"),
        "minivae graph": trainer(data, epochs, f"{out}/graph", device="gpu", cuda_graph=True),
    }
    if torch is not None:
        from torch_reference import TorchRun  # noqa: PLC0415 - needs torch

        eager = runs["minivae eager"]
        runs["PyTorch eager"] = TorchRun(backend.to_numpy(eager.train_x), eager.test_x, 0, "cuda")
    return runs


def print_step_table(runs, cupy, torch):
    print(f"GPU {cupy.cuda.runtime.getDeviceProperties(0)['name'].decode()}, CuPy "
          f"{cupy.__version__}, NumPy {np.__version__}"
          + (f", PyTorch {torch.__version__}" if torch else ""))
    print("ms per training step (median of 3 x 100 steps, batch 128, float32)")
    times = {}
    for name in sorted(runs, key=lambda n: not n.startswith("PyTorch")):  # PyTorch's first
        run = runs[name]
        times[name] = (torch_step_ms(run, torch) if name.startswith("PyTorch")
                       else minivae_step_ms(run, cupy))
        reference = times.get("PyTorch eager")
        ratio = f"{times[name] / reference:6.2f} x PyTorch eager" if reference else ""
        print(f"  {name:<15} {times[name]:8.3f} ms  {ratio}")
    reference = times.get("PyTorch eager")
    if reference and "minivae graph" in times:
        met = times["minivae graph"] <= reference / 3
        print(f"  target: graph step <= 1/3 of PyTorch eager's: {'met' if met else 'MISSED'}")


def print_epoch_table(runs, epochs):
    names = list(runs)
    print(f"epoch | {' | '.join(f'{n:>22}' for n in names)}   (test -ELBO, s per epoch)")
    finals = {}
    for epoch in range(1, epochs + 1):
        cells = []
        for name in names:
            run = runs[name]
            if name.startswith("PyTorch"):
                elbo, seconds = run.run_epoch()
            else:
                row = run.run_epoch()
                elbo, seconds = row["test_neg_elbo"], row["epoch_seconds"]
            finals[name] = elbo
            cells.append(f"{elbo:>12.2f} {seconds:>8.2f}s")
        print(f"{epoch:>5} | {' | '.join(cells)}")
    cpu = finals["minivae CPU"]
    for name in ("minivae eager", "minivae graph"):
        gap = finals[name] - cpu
        verdict = "met" if abs(gap) <= TARGET_NATS else "MISSED"
        print(f"  {name}: final test -ELBO {finals[name]:.2f} against the CPU's {cpu:.2f} "
              f"({gap:+.2f} nats; target within {TARGET_NATS}: {verdict})")


if __name__ == "__main__":
    raise SystemExit(main())
