"""What recording the data's identity costs a run: the SHA-256 of every example, against loading
the dataset.

    python benchmarks/data_fingerprint.py [--dataset fashion-mnist] [--data-dir DIR]

Every start or resume of a run fingerprints the examples it uses
(minivae.training.data_identity: the SHA-256 of their bytes, float32 as loaded), once. This
times that, and loading the dataset (minivae.data.load_dataset: reading and checking its IDX
files), in alternating rounds in one process, so the machine's load falls on both; the ratio
of the two is what to read on a shared machine. With --sample it also times the cheaper
fingerprint that was weighed against it: the SHA-256 of every 16th example only.

With --ulp it shows why the generated datasets' fingerprints are compared only loosely: it draws
the 20,000 training sprites twice, the second time with every cos rounded one ulp up (as another
CPU's or NumPy's cos may round), and counts the pixels that differ.
"""

import argparse
import time
import types

import numpy as np

from minivae.data import SPRITES_SIZES, load_dataset, sprites
from minivae.training.data_identity import data_identity, sha256_of

ROUNDS = 5


def seconds(call):
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", default="fashion-mnist")
    parser.add_argument("--data-dir")
    parser.add_argument("--sample", action="store_true", help="also every 16th example only")
    parser.add_argument("--ulp", action="store_true", help="sprites with cos one ulp up")
    args = parser.parse_args()
    if args.ulp:
        ulp_up()
    train, test = load_dataset(args.dataset, data_dir=args.data_dir)
    print(f"{args.dataset}: train {train.x.shape} and test {test.x.shape} {train.x.dtype}, "
          f"{(train.x.nbytes + test.x.nbytes) / 1e6:.0f} MB")
    times = {"load": [], "fingerprint": [], "every 16th": []}
    for _ in range(ROUNDS):
        times["load"].append(seconds(lambda: load_dataset(args.dataset, data_dir=args.data_dir)))
        times["fingerprint"].append(seconds(lambda: data_identity(args.dataset, train.x, test.x)))
        if args.sample:
            times["every 16th"].append(seconds(lambda: [sha256_of(x[::16]) for x in (train.x,
                                                                                     test.x)]))
    load = np.median(times["load"])
    for name, values in times.items():
        if values:
            print(f"{name:12s} median {np.median(values):.3f} s (of {ROUNDS} alternating rounds), "
                  f"{np.median(values) / load:.3f} of loading")


def ulp_up():
    """Count the training sprites' pixels that change when cos rounds one ulp up."""
    n = SPRITES_SIZES[0]
    images, _, _ = sprites.make_sprites(n, 0)
    nudged = types.SimpleNamespace(**vars(np))
    nudged.cos = lambda x: np.nextafter(np.cos(x), np.inf)
    sprites.np = nudged  # the module's own name for NumPy, for this one draw
    try:
        other, _, _ = sprites.make_sprites(n, 0)
    finally:
        sprites.np = np
    changed = images != other
    print(f"sprites drawn with cos one ulp up: {int(changed.sum())} pixels differ, in "
          f"{int(changed.any(axis=(1, 2)).sum())} of {n} images")


if __name__ == "__main__":
    main()
