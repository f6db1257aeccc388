"""minivae against PyTorch: the same VAE, the same data and settings, in one invocation.

    pip install -e ".[dev,bench]"     # bench = torch==2.13.0 (CPU), for comparisons only
    python benchmarks/vae_vs_pytorch.py --epochs 10

The model is the pytorch/examples VAE: 784-400-20-400-784, ReLU, Bernoulli likelihood on the
[0, 1] pixel intensities (no binarization), loss = summed BCE + KL per example, averaged over the
batch, Adam with lr 1e-3, batch 128, float32, on the full Fashion-MNIST. Both implementations see
the same batches in the same order (one NumPy permutation per epoch from the same seed); their
initial weights and noise come from their own generators. Epochs alternate between the two, so
a change in the machine's load hits both. Each epoch's time covers training only (the test
evaluation is timed apart), and both use the same number of threads.

minivae trains twice, side by side: with its fast forms (what runs by default) and inside
minivae.plain_forms() (every op in its textbook form, the loss through reparameterize and
gaussian_kl). Both draw the same noise, so they reach the same ELBO to rounding; the plain run
shows what the fast forms buy. Prints, per epoch, the test negative ELBO (nats per example) of
each and the seconds per epoch, with the ratios to PyTorch; then the summary the README quotes.

With --flush-denormal, the CPU flushes subnormal floats to 0 (torch.set_flush_denormal), which
keeps PyTorch's later epochs from slowing down as they do by default (see the README).

Last, whether an epoch gets slower as training goes on. Comparing epoch 10 with epoch 1 of the
run above mixes that up with the machine's drift over the minutes between them, so each
framework also times, back to back, epochs of its trained model (epochs 11 and 12) and first
epochs of fresh models, in the order fresh, trained, trained, fresh (a linear drift cancels).
"""

import argparse
import os
import sys
import tempfile


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data-dir", help="where Fashion-MNIST's IDX files are")
    parser.add_argument(
        "--flush-denormal", action="store_true",
        help="torch.set_flush_denormal(True) first: the CPU's FTZ and DAZ flags turn subnormal "
        "inputs and results into 0, so no arithmetic takes the slow path for them",
    )
    return parser.parse_args()


ARGS = parse_args()
os.environ.setdefault("OPENBLAS_NUM_THREADS", str(ARGS.threads))  # before numpy is imported
os.environ.setdefault("OMP_NUM_THREADS", str(ARGS.threads))

import numpy as np  # noqa: E402

try:
    import torch  # noqa: E402
except ImportError:
    sys.exit('this benchmark needs PyTorch: pip install "minivae[bench]" (torch==2.13.0, CPU)')

from torch_reference import BATCH, HIDDEN, LATENT, LR, TorchRun  # noqa: E402

from minivae import plain_forms  # noqa: E402
from minivae.accel import fused_adam  # noqa: E402
from minivae.training.trainer import TrainConfig, Trainer  # noqa: E402


def minivae_trainer(out):
    config = TrainConfig(
        dataset="fashion-mnist", data_dir=ARGS.data_dir, epochs=ARGS.epochs,
        batch_size=BATCH, lr=LR, hidden=(HIDDEN,), latent_dim=LATENT,
        likelihood="bernoulli", binarize="none", seed=ARGS.seed, dtype="float32", out=out,
    )
    return Trainer(config, progress=False, log=lambda _: None)


def main():
    torch.set_num_threads(ARGS.threads)
    if ARGS.flush_denormal and not torch.set_flush_denormal(True):
        sys.exit("--flush-denormal: this CPU cannot flush subnormal floats (needs SSE3 on x86)")
    with tempfile.TemporaryDirectory() as out, tempfile.TemporaryDirectory() as plain_out:
        ours, ours_plain = minivae_trainer(out), minivae_trainer(plain_out)
        theirs = TorchRun(ours.train_x, ours.test_x, ARGS.seed)
        print(f"Fashion-MNIST, {len(ours.train_x)} train / {len(ours.test_x)} test, "
              f"batch {BATCH}, Adam {LR}, float32, {ARGS.threads} threads, "
              f"numpy {np.__version__}, torch {torch.__version__}")
        print(fused_adam.status())  # built here if it must be, before any epoch is timed
        print(f"{'epoch':>5} | {'test -ELBO minivae':>18} {'plain':>7} {'PyTorch':>8} "
              f"{'diff':>6} | {'s/epoch minivae':>15} {'plain':>6} {'PyTorch':>8} "
              f"{'ratio':>6} {'plain':>6}")
        rows = []
        for _ in range(ARGS.epochs):
            row = ours.run_epoch()
            with plain_forms():
                plain = ours_plain.run_epoch()
            torch_elbo, torch_seconds = theirs.run_epoch()
            rows.append((row["test_neg_elbo"], plain["test_neg_elbo"], torch_elbo,
                         row["epoch_seconds"], plain["epoch_seconds"], torch_seconds))
            print(f"{row['epoch']:>5} | {row['test_neg_elbo']:>18.2f} "
                  f"{plain['test_neg_elbo']:>7.2f} {torch_elbo:>8.2f} "
                  f"{row['test_neg_elbo'] - torch_elbo:>6.2f} | {row['epoch_seconds']:>15.2f} "
                  f"{plain['epoch_seconds']:>6.2f} {torch_seconds:>8.2f} "
                  f"{row['epoch_seconds'] / torch_seconds:>6.2f} "
                  f"{plain['epoch_seconds'] / torch_seconds:>6.2f}")
        print_summary(rows)
        print_late_against_early(ours, theirs)  # inside: `ours` writes to `out`


def print_summary(rows):
    ours_elbo, plain_elbo, torch_elbo = rows[-1][:3]
    ours_total, plain_total, torch_total = (sum(r[i] for r in rows) for i in (3, 4, 5))
    print(
        f"final test -ELBO: minivae {ours_elbo:.2f} (plain forms {plain_elbo:.2f}), PyTorch "
        f"{torch_elbo:.2f}, difference {ours_elbo - torch_elbo:+.2f} nats per example"
    )
    print(
        f"time: minivae {ours_total:.1f}s, PyTorch {torch_total:.1f}s, ratio "
        f"{ours_total / torch_total:.2f}; plain forms {plain_total:.1f}s, ratio "
        f"{plain_total / torch_total:.2f}; minivae epoch {len(rows)} / epoch 1: "
        f"{rows[-1][3] / rows[0][3]:.2f}, PyTorch's: {rows[-1][5] / rows[0][5]:.2f}"
    )


def print_late_against_early(ours, theirs):
    """Seconds of trained-model epochs against fresh-model first epochs, ordered F T T F.

    The fresh models (and minivae's fresh copies of the data) are all made before the first
    timed epoch, so no timed epoch comes right after loading a dataset.
    """
    epoch = {
        "minivae": lambda run: run.run_epoch()["epoch_seconds"],
        "PyTorch": lambda run: run.run_epoch()[1],
    }
    trained = {"minivae": ours, "PyTorch": theirs}
    seconds = {(name, kind): [] for name in epoch for kind in ("fresh", "trained")}
    with tempfile.TemporaryDirectory() as first, tempfile.TemporaryDirectory() as second:
        fresh = {
            "minivae": [minivae_trainer(first), minivae_trainer(second)],
            "PyTorch": [TorchRun(ours.train_x, ours.test_x, ARGS.seed) for _ in range(2)],
        }
        for kind in ("fresh", "trained", "trained", "fresh"):
            for name, run_epoch in epoch.items():
                run = fresh[name].pop() if kind == "fresh" else trained[name]
                seconds[name, kind].append(run_epoch(run))
    print(
        "an epoch late in training against a first epoch, back to back (fresh, trained x 2, fresh):"
    )
    for name in epoch:
        late, early = seconds[name, "trained"], seconds[name, "fresh"]
        print(
            f"  {name:<8} fresh {' '.join(f'{s:.2f}' for s in early)} s, trained "
            f"{' '.join(f'{s:.2f}' for s in late)} s: trained / fresh {sum(late) / sum(early):.2f}"
        )


if __name__ == "__main__":
    main()
