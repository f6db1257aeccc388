"""Train the gallery's three short runs and draw their figures into build/gallery/.

    python docs/make_gallery.py          # about 40 s on 2 cores

The documentation's gallery (docs/gallery.md) shows every figure a training run draws. They
come from real runs of the `minivae train` command, made here before the docs build (CI runs
this right before sphinx-build), not at build time:

    build/gallery/sprites/      minivae train --epochs 10                  the default VAE
    build/gallery/sprites-2d/   minivae train --epochs 10 --latent-dim 2   a 2-D latent: manifold
    build/gallery/moons/        minivae train --dataset moons              a 2-D toy: points

and build/gallery/runs.csv, one line of final numbers per run, written last: the docs build
takes its presence as the sign that the gallery is complete. What a run prints goes to its
train.log. One BLAS thread unless told otherwise: on a loaded 2-core machine OpenBLAS's two
threads wait for each other, and the 10 epochs took 53 s instead of 14.
"""

import contextlib
import csv
import json
import os
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GALLERY = ROOT / "build" / "gallery"
RUNS = {  # run name -> the `minivae train` arguments after --out
    "sprites": ["--epochs", "10"],
    "sprites-2d": ["--epochs", "10", "--latent-dim", "2"],
    "moons": ["--dataset", "moons"],
}
COLUMNS = ["run", "command", "epochs", "test -ELBO", "reconstruction", "KL", "seconds"]


def summary(name, arguments, seconds):
    """The run's last metrics line as a row of runs.csv (nats per example)."""
    lines = (GALLERY / name / "metrics.jsonl").read_text().splitlines()
    last = json.loads(lines[-1])
    command = " ".join(["minivae train", *arguments])
    return [name, command, last["epoch"], f"{last['test_neg_elbo']:.2f}",
            f"{last['test_recon']:.2f}", f"{last['test_kl']:.2f}", f"{seconds:.0f}"]


def make_gallery():
    os.environ.setdefault("MPLBACKEND", "Agg")
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # read when NumPy loads, so before it
    from minivae.cli import main  # noqa: PLC0415

    shutil.rmtree(GALLERY, ignore_errors=True)
    rows = []
    for name, arguments in RUNS.items():
        started = time.monotonic()
        (GALLERY / name).mkdir(parents=True)
        with open(GALLERY / name / "train.log", "w") as log, contextlib.redirect_stdout(log):
            status = main(["train", *arguments, "--out", str(GALLERY / name), "--quiet"])
        if status:
            sys.exit(f"make_gallery: `minivae train {' '.join(arguments)}` failed ({status}); "
                     f"see {GALLERY / name / 'train.log'}")
        (GALLERY / name / "checkpoint.npz").unlink()  # the site shows figures, not weights
        rows.append(summary(name, arguments, time.monotonic() - started))
    with open(GALLERY / "runs.csv", "w", newline="") as file:
        csv.writer(file).writerows([COLUMNS, *rows])
    print(f"make_gallery: {len(rows)} runs in {GALLERY.relative_to(ROOT)}/")


if __name__ == "__main__":
    make_gallery()
