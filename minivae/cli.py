"""The command line: `minivae COMMAND ...` (also `python -m minivae COMMAND ...`).

    minivae train                      # the sprites dataset, figures in runs/sprites/
    minivae train --dataset fashion-mnist --epochs 10 --out runs/fashion
    minivae train --out runs/fashion --resume
    minivae eval runs/fashion          # test -ELBO, IWAE -log p(x) (k = 5000), KL per dim
    minivae sample runs/fashion --n 64
    minivae figures runs/fashion       # draw the figures again
    minivae gradcheck                  # every op and the whole loss against finite differences

Errors minivae raises on purpose (a missing dataset, a corrupt checkpoint, bad input) print
their message, which says what to do, and exit with status 2; no traceback. A flag outside its
range (`--batch-size 0`, `--lr nan`) is refused the same way before anything runs, with the
limits TrainConfig uses (minivae.training.config.LIMITS). `train --resume` continues the run with
the settings its checkpoint saved: a flag that contradicts one of them is refused, naming it;
only --epochs, --device, --cuda-graph and --data-dir may change
(minivae.training.config.MAY_CHANGE_ON_RESUME).
"""

import argparse
import dataclasses
import os
import sys

import numpy as np

from minivae import backend, limits, plots
from minivae.engine import gradcheck
from minivae.errors import MinivaeError
from minivae.files import writing
from minivae.models.gradcheck_cases import MODEL_CASES
from minivae.ops.gradcheck_cases import CASES, MODES, RandomPicker, forms, on_device, running
from minivae.plots.figures import write_figures
from minivae.rng import CounterRNG
from minivae.training import evaluate
from minivae.training.config import LIMITS, TrainConfig, resumed_config
from minivae.training.run_dir import SavedRun, load_run, read_saved_config, write_json
from minivae.training.run_lock import RunLock
from minivae.training.trainer import Trainer

SHAPES_SHOWN = 3  # inputs shown in the gradcheck table


def main(argv=None):
    """Run the command in `argv` (default: sys.argv[1:]); returns the exit status."""
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as stop:  # argparse has printed --help, or one line on a bad value
        return stop.code
    if args.command is None:
        parser.print_help()
        return 2
    try:
        return args.run(args) or 0
    except MinivaeError as err:
        print(f"minivae {args.command}: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"minivae {args.command}: interrupted", file=sys.stderr)
        return 130


# The flags that set a TrainConfig field of the same name (--batch-size: batch_size), each
# limited as that field is (minivae.training.config.LIMITS), with its help text.
TRAIN_SETTINGS = {
    "--dataset": "default: sprites",
    "--model": None,
    "--epochs": None,
    "--batch-size": None,
    "--lr": "learning rate",
    "--optimizer": None,
    "--momentum": "SGD momentum",
    "--clip": "clip the global gradient norm to this",
    "--hidden": "hidden layer sizes, e.g. 400 or 512,256 ('' for none)",
    "--latent-dim": None,
    "--likelihood": None,
    "--activation": None,
    "--binarize": None,
    "--beta": "weight of the KL term (beta-VAE)",
    "--warmup-epochs": "raise beta from 0 over N epochs",
    "--free-bits": "a floor on each latent unit's KL in the objective, in nats (free bits)",
    "--seed": None,
    "--dtype": None,
    "--device": None,
    "--cuda-graph": "GPU: capture one training step in a CUDA graph and replay it per batch",
    "--limit": "use only the first N examples of each split",
}


class _Parser(argparse.ArgumentParser):
    """argparse with a one-line usage error: what is wrong, and where the options are listed."""

    def error(self, message):
        self.exit(2, f"{self.prog}: {message}; see {self.prog} --help\n")


def _parser():
    parser = _Parser(prog="minivae", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command")

    train = commands.add_parser("train", help="train a VAE and draw its figures")
    train.add_argument("--data-dir", help="a directory holding the dataset's files")
    for flag, text in TRAIN_SETTINGS.items():
        _add_setting(train, flag, text)
    train.add_argument("--out", help="run directory (default runs/<dataset>)")
    train.add_argument("--resume", action="store_true", help="continue the run in --out")
    train.add_argument("--no-figures", action="store_true")
    train.add_argument("--quiet", action="store_true", help="no progress bar")
    train.set_defaults(run=_train)

    count, seed = _checked(limits.COUNT), _checked(limits.SEED)
    evaluate = commands.add_parser("eval", help="evaluate a trained run on its test set")
    evaluate.add_argument("run_dir")
    evaluate.add_argument("--k", type=count, default=5000, help="IWAE importance samples")
    evaluate.add_argument("--n-test", type=count, help="evaluate the first N test examples only")
    evaluate.set_defaults(run=_eval)

    sample = commands.add_parser("sample", help="an image grid of samples from the prior")
    sample.add_argument("run_dir")
    sample.add_argument("--n", type=count, default=64)
    sample.add_argument("--seed", type=seed, default=0)
    sample.add_argument("--out", help="PNG path (default <run_dir>/samples-<seed>.png)")
    sample.set_defaults(run=_sample)

    figures = commands.add_parser("figures", help="draw a trained run's figures again")
    figures.add_argument("run_dir")
    figures.set_defaults(run=_figures)

    check = commands.add_parser("gradcheck", help="check every backward pass numerically")
    check.add_argument("--draws", type=count, default=5, help="random input draws per op")
    check.add_argument("--seed", type=seed, default=0)
    check.add_argument("--device", choices=["cpu", "gpu"], default="cpu",
                       help="NumPy, or CuPy with the CUDA kernels")
    check.set_defaults(run=_gradcheck)
    return parser


def _add_setting(parser, flag, text):
    """Add `flag` for the TrainConfig field of its name: a choice of names, or a checked value."""
    limit = LIMITS[flag[2:].replace("-", "_")]
    if isinstance(limit, limits.Names):
        parser.add_argument(flag, choices=limit.names, help=text)
    elif isinstance(limit, limits.Flag):
        parser.add_argument(flag, action="store_true", default=None, help=text)
    else:
        parser.add_argument(flag, type=_checked(limit), help=text)


def _flag(field):
    """The flag that sets a TrainConfig field: batch_size -> --batch-size."""
    return "--" + field.replace("_", "-")


def _checked(limit):
    """An argparse type: the value parsed and checked by `limit` (a minivae.limits kind), so
    a flag and the TrainConfig field it sets are refused in the same words."""

    def parse(text):
        value, problem = limit.parse(text)
        if problem:
            raise argparse.ArgumentTypeError(problem)
        return value

    return parse


def _train(args):
    fields = {f.name for f in dataclasses.fields(TrainConfig)}
    given = {k: v for k, v in vars(args).items() if k in fields and v is not None}
    given.setdefault("out", os.path.join("runs", given.get("dataset", TrainConfig.dataset)))
    if args.resume:  # the saved settings; a flag given may change only how the run goes on
        RunLock.refuse_if_held(given["out"])  # a run there now says more than its checkpoint
        config = resumed_config(read_saved_config(given["out"]), given, given["out"], _flag)
    else:
        config = TrainConfig(**given)
    with Trainer(config, resume=args.resume, progress=False if args.quiet else None) as trainer:
        print(f"training {config.model} on {config.dataset}: {len(trainer.train_x)} examples, "
              f"{trainer.steps_per_epoch} steps per epoch; writing to {config.out}/")
        trainer.fit()
        if not args.no_figures:  # from the model in memory: no need to read the data back
            run = SavedRun(config, trainer.model, trainer.test_set, trainer.test_x)
            _draw_figures(run, config.out, "the run itself is saved (its checkpoint and "
                          f"metrics): once there is room, draw them with minivae figures "
                          f"{config.out}")


def _eval(args):
    run = load_run(args.run_dir)
    config, model = run.config, run.model
    x = run.test_x[: args.n_test]  # None: all of them
    test = evaluate.mean_elbo_terms(model, x)
    if config.model != "vae":
        print(f"autoencoder on {len(x)} test examples of {config.dataset}: reconstruction "
              f"-log p(x|z = f(x)) {test['recon']:.3f} nats per example; it has no ELBO, "
              "KL or likelihood bound to report")
        return
    mu, kl_per_dim = evaluate.latent_statistics(model, x)
    active, _ = evaluate.active_units(mu)
    nll = evaluate.iwae_negative_log_likelihood(model, x, args.k)
    result = dict(
        dataset=config.dataset,
        test_examples=len(x),
        binarization=config.binarize,
        test_neg_elbo=test["neg_elbo"],
        test_recon=test["recon"],
        test_kl=test["kl"],
        iwae_k=args.k,
        iwae_neg_log_likelihood=nll,
        kl_per_dim=[round(float(v), 4) for v in kl_per_dim],
        active_units=active,
        latent_dim=len(kl_per_dim),
    )
    print(
        f"protocol: {len(x)} test examples of {config.dataset}, binarization "
        f"'{config.binarize}', nats per example (summed over the {x.shape[1]} data dimensions, "
        "mean over examples)"
    )
    print(
        f"  test -ELBO      {test['neg_elbo']:9.3f}   (recon {test['recon']:.3f} + "
        f"KL {test['kl']:.3f}, one z per example)"
    )
    print(f"  -log p(x) IWAE  {nll:9.3f}   (k = {args.k}; an upper bound on -log p(x))")
    print(f"  active units    {active} of {len(kl_per_dim)}   (Var_x mu_u > 0.01)")
    print("  KL per dim      " + " ".join(f"{v:.2f}" for v in kl_per_dim))
    path = os.path.join(args.run_dir, "eval.json")
    with writing(path, "the numbers above are what it would hold"):
        write_json(path, result)
    print(f"written to {path}")


def _sample(args):
    run = load_run(args.run_dir)
    config, model = run.config, run.model
    if config.model != "vae":
        raise MinivaeError("sample: an autoencoder has no prior to sample from; train a VAE")
    images = model.sample(args.n, noise=CounterRNG(args.seed))
    path = args.out or os.path.join(args.run_dir, f"samples-{args.seed}.png")
    with writing(path, "nothing else was changed"):
        plots.samples(_as_square_images(images), path)
    print(f"written to {path}")


def _figures(args):
    _draw_figures(load_run(args.run_dir), args.run_dir, "the figures written before it are kept")


def _draw_figures(run, run_dir, kept):
    """Write the run's figures into run_dir; `kept`: what a failed write leaves, for its message."""
    with writing(f"the figures in {run_dir}", kept):
        for path in write_figures(run, run_dir):
            print(f"figure: {path}")


def _as_square_images(x):
    """(N, D) -> (N, side, side) NumPy images, for D a square number of pixels."""
    side = int(round(np.sqrt(x.shape[1])))
    if side * side != x.shape[1]:
        raise MinivaeError(f"sample: data of {x.shape[1]} dimensions are not square images")
    return backend.to_numpy(x).reshape(-1, side, side)


def _gradcheck(args):
    xp = backend.module_for_device(args.device)
    print(f"{'op':<22} {'form':<6} {'shapes (worst draw)':<34} {'worst rel err':>13}  result")
    rows = [(c.name, f.label, lambda seed, c=c: (c.call, on_device(c.draw(RandomPicker(seed)), xp)))
            for c in CASES for f in forms(c.function, xp)]
    rows += [(c.name, mode, lambda seed, c=c: c.build(seed, xp))
             for c in MODEL_CASES for mode in MODES]
    failures = 0
    for name, mode, build in rows:
        worst = None
        for draw in range(args.draws):
            call, inputs = build(args.seed * 1000 + draw)
            with running(mode):
                report = gradcheck(call, inputs, name=name)
            if worst is None or report.max_rel_error > worst.max_rel_error:
                worst = report
        shapes = [s for s in worst.shapes if s]  # arrays only, not axes or indices
        shapes_text = ", ".join(map(str, shapes[:SHAPES_SHOWN]))
        if len(shapes) > SHAPES_SHOWN:
            shapes_text = f"{len(shapes)} arrays (the model's parameters)"
        result = "pass" if worst.passed else "FAIL"
        failures += not worst.passed
        print(f"{name:<22} {mode:<6} {shapes_text[:34]:<34} {worst.max_rel_error:>13.2e}  "
              f"{result}")
    print(f"{len(rows) - failures} of {len(rows)} passed on {xp.__name__} ({args.draws} draws "
          "each, float64, tolerance 1e-6 on |a - n| / max(1, |a|, |n|); form: plain = the "
          "textbook forward and backward, fast = the form that runs by default)")
    return 1 if failures else 0
