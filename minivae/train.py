"""The training loop: shuffled mini-batches, KL warm-up, metrics, checkpoints, exact resume.

    config = TrainConfig(dataset="fashion-mnist", epochs=10, out="runs/fashion")
    rows = train(config)            # one dict of metrics per epoch
    rows = train(config, resume=True)   # continues from runs/fashion/checkpoint.npz

Everything random in a run comes from `config.seed`: the initial weights, the order of the
batches (a NumPy Generator), the noise z = mu + sigma * eps (the counter-based RNG) and the
dynamic binarization. Their states go into every checkpoint, so a resumed run draws exactly the
numbers the uninterrupted run would have drawn and ends with the same weights.

Each epoch appends one JSON line to <out>/metrics.jsonl (negative ELBO in nats per example):
epoch, step, beta, train_loss (the mean objective recon + beta KL over the epoch),
train_neg_elbo, test_neg_elbo, test_recon, test_kl, epoch_seconds.
"""

import dataclasses
import json
import math
import os
import signal
import time

import numpy as np

from minivae import backend, settings
from minivae.autoencoder import Autoencoder
from minivae.checkpoint import check_same_architecture, load_checkpoint, save_checkpoint
from minivae.data import TOY2D, load_dataset
from minivae.data.batches import binarize, check_inputs
from minivae.errors import ConfigError, MinivaeError, TrainingError
from minivae.evaluate import mean_elbo_terms
from minivae.model import VAE
from minivae.optim import SGD, Adam, clip_grad_norm
from minivae.progress import ProgressBar

TEST_BINARIZATION_SEED = 12345  # the one fixed binarization of the test set


# What a field left at None becomes, by kind of dataset. Images: the pytorch/examples VAE.
# 2-D toys: a 2-D latent and a Gaussian likelihood; their 5,000 points make only 40 steps per
# epoch, so they take more epochs (with 10 the posterior has not left the prior yet).
IMAGE_DEFAULTS = dict(epochs=10, lr=1e-3, hidden=(400,), latent_dim=20, likelihood="bernoulli")
TOY2D_DEFAULTS = dict(epochs=100, lr=3e-3, hidden=(64, 64), latent_dim=2, likelihood="gaussian")


@dataclasses.dataclass
class TrainConfig:
    """Everything a run depends on. Fields left at None take the dataset's defaults (above)."""

    dataset: str = "sprites"
    data_dir: str | None = None
    model: str = "vae"  # or "autoencoder"
    epochs: int | None = None
    batch_size: int = 128
    lr: float | None = None
    optimizer: str = "adam"  # or "sgd" (with momentum)
    momentum: float = 0.9
    clip: float | None = None  # max global gradient norm
    hidden: tuple | None = None
    latent_dim: int | None = None
    likelihood: str | None = None
    activation: str = "relu"
    binarize: str = "none"  # none | static | dynamic
    beta: float = 1.0
    warmup_epochs: float = 0.0  # beta rises linearly from 0 over this many epochs
    seed: int = 0
    dtype: str = "float32"
    device: str = "cpu"
    limit: int | None = None  # use only the first N examples of each split (quick runs, tests)
    out: str = "runs/default"

    def __post_init__(self):
        defaults = TOY2D_DEFAULTS if self.dataset in TOY2D else IMAGE_DEFAULTS
        for name, value in defaults.items():
            if getattr(self, name) is None:
                setattr(self, name, value)
        self._check()

    def _check(self):
        """ConfigError naming the first field outside what minivae.settings allows it."""
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if value is None and field.default is None:
                continue  # optional and left unset (clip, limit, data_dir)
            problem = settings.problem_with(field.name, value)
            if problem:
                raise ConfigError(f"TrainConfig: {field.name} {problem}")

    def model_config(self, input_dim):
        return dict(
            kind=self.model,
            input_dim=int(input_dim),
            hidden=[int(h) for h in self.hidden],
            latent_dim=int(self.latent_dim),
            likelihood=self.likelihood,
            activation=self.activation,
        )


class Interrupted(MinivaeError):
    """Ctrl-C during training: a checkpoint was written; --resume continues."""


def build_model(model_config, dtype, seed, xp):
    cls = {"vae": VAE, "autoencoder": Autoencoder}[model_config["kind"]]
    settings = {k: v for k, v in model_config.items() if k != "kind"}
    return cls(**settings, dtype=dtype, seed=seed, xp=xp)


def build_optimizer(config, params):
    if config.optimizer == "adam":
        return Adam(params, lr=config.lr)
    if config.optimizer == "sgd":
        return SGD(params, lr=config.lr, momentum=config.momentum)
    raise ValueError(f"unknown optimizer {config.optimizer!r}: use adam or sgd")


def prepare_data(config, train_set, test_set):
    """Validate the inputs and binarize them as asked; returns (train_x, test_x)."""
    for which, split in (("train", train_set), ("test", test_set)):
        check_inputs(split.x, config.likelihood, f"{config.dataset} {which} split")
    train_x, test_x = train_set.x[: config.limit], test_set.x[: config.limit]
    if config.binarize != "none":
        test_x = binarize(test_x, np.random.default_rng(TEST_BINARIZATION_SEED))
    if config.binarize == "static":
        train_x = binarize(train_x, np.random.default_rng(config.seed))
    return train_x.astype(config.dtype, copy=False), test_x.astype(config.dtype, copy=False)


class Trainer:
    """One run: its data, model, optimizer, random generators and where it is within an epoch."""

    def __init__(self, config, resume=False, progress=None, log=print):
        self.config, self.log, self.progress = config, log, progress
        self.xp = backend.module_for_device(config.device)
        self.checkpoint_path = os.path.join(config.out, "checkpoint.npz")
        self.metrics_path = os.path.join(config.out, "metrics.jsonl")
        self.train_set, self.test_set = load_dataset(config.dataset, data_dir=config.data_dir)
        self.train_x, self.test_x = prepare_data(config, self.train_set, self.test_set)
        model_config = config.model_config(self.train_x.shape[1])
        self.model = build_model(model_config, config.dtype, config.seed, self.xp)
        self.optimizer = build_optimizer(config, self.model.parameters())
        self.order_rng = np.random.default_rng(config.seed)
        self.binarize_rng = np.random.default_rng(config.seed + 1)
        self.epoch, self.step = 0, 0  # epochs completed, optimizer steps taken
        self.partial = None  # mid-epoch position: order, next batch, sums, seconds
        if resume:
            self._restore(model_config)
        elif os.path.exists(self.checkpoint_path):
            raise MinivaeError(
                f"{config.out} already holds a run (checkpoint.npz): pass --resume to continue "
                "it, or choose another --out so nothing is overwritten"
            )

    @property
    def steps_per_epoch(self):
        return math.ceil(len(self.train_x) / self.config.batch_size)

    def beta_at(self, step):
        """beta, rising linearly from 0 over the warm-up epochs, then constant."""
        warmup_steps = self.config.warmup_epochs * self.steps_per_epoch
        if warmup_steps <= 0:
            return self.config.beta
        return self.config.beta * min(1.0, step / warmup_steps)

    def fit(self):
        """Train up to config.epochs; returns the metrics rows of the epochs run now."""
        rows = []
        with _StopOnCtrlC() as stop:
            while self.epoch < self.config.epochs:
                row = self.run_epoch(stop)
                rows.append(row)
                self.log(
                    f"epoch {row['epoch']:3d}  train {row['train_loss']:.2f}  "
                    f"test -ELBO {row['test_neg_elbo']:.2f} (recon {row['test_recon']:.2f}, "
                    f"KL {row['test_kl']:.2f})  beta {row['beta']:.2f}  "
                    f"{row['epoch_seconds']:.1f}s"
                )
                if stop.requested and self.epoch < self.config.epochs:
                    raise Interrupted(
                        f"interrupted after epoch {self.epoch}: checkpoint written to "
                        f"{self.checkpoint_path}; run the same command with --resume to continue"
                    )
        return rows

    def run_epoch(self, stop=None):
        """Train one epoch (or the rest of an interrupted one), evaluate, checkpoint, log."""
        cfg = self.config
        if self.partial is None:
            order = self.order_rng.permutation(len(self.train_x))
            self.partial = dict(order=order, next_batch=0, sums=[0.0, 0.0], seen=0, seconds=0.0)
        p = self.partial
        order, size = p["order"], cfg.batch_size
        batches = [order[i : i + size] for i in range(0, len(order), size)]
        bar = ProgressBar(len(batches), f"epoch {self.epoch + 1}", enabled=self.progress)
        started = time.perf_counter()
        for b in range(p["next_batch"], len(batches)):
            x = self.train_x[batches[b]]
            if cfg.binarize == "dynamic":
                x = binarize(x, self.binarize_rng)
            beta = self.beta_at(self.step)
            terms = self.model.loss(x, beta)
            loss = terms.objective.mean()
            value = loss.item()
            if not math.isfinite(value):
                raise TrainingError(
                    f"the loss became {value} at epoch {self.epoch + 1}, batch {b + 1} (step "
                    f"{self.step + 1}); stopped without saving that state: the last good "
                    f"checkpoint, {self.checkpoint_path}, is kept. Try a smaller --lr or --clip"
                )
            self.optimizer.zero_grad()
            loss.backward()
            if cfg.clip:
                clip_grad_norm(self.model.parameters(), cfg.clip)
            self.optimizer.step()
            self.step += 1
            p["sums"][0] += value * len(x)
            p["sums"][1] += float(terms.neg_elbo.sum())
            p["seen"] += len(x)
            p["next_batch"] = b + 1
            bar.update(b + 1, f"loss {value:.2f}")
            if stop is not None and stop.requested and b + 1 < len(batches):
                p["seconds"] += time.perf_counter() - started
                bar.close()
                self._save()
                raise Interrupted(
                    f"interrupted at epoch {self.epoch + 1}, batch {b + 1}/{len(batches)}: "
                    f"checkpoint written to {self.checkpoint_path}; run the same command with "
                    "--resume to continue exactly where it stopped"
                )
        bar.close()
        seconds = p["seconds"] + time.perf_counter() - started
        test = mean_elbo_terms(self.model, self.test_x)
        self.epoch += 1
        row = dict(
            epoch=self.epoch,
            step=self.step,
            beta=self.beta_at(self.step),
            train_loss=p["sums"][0] / p["seen"],
            train_neg_elbo=p["sums"][1] / p["seen"],
            test_neg_elbo=test["neg_elbo"],
            test_recon=test["recon"],
            test_kl=test["kl"],
            epoch_seconds=seconds,
        )
        self.partial = None
        # the row first: a crash before the checkpoint leaves one row too many, which a resume
        # drops, rather than a checkpoint whose row is missing
        os.makedirs(cfg.out, exist_ok=True)
        with open(self.metrics_path, "a") as f:
            f.write(json.dumps(row) + "\n")
        self._save()
        return row

    def _save(self):
        meta = dict(
            config=dataclasses.asdict(self.config),
            model=self.model.config,
            dtype=str(self.model.dtype),
            epoch=self.epoch,
            step=self.step,
            noise=self.model.noise.state_dict() if hasattr(self.model, "noise") else None,
            order_rng=self.order_rng.bit_generator.state,
            binarize_rng=self.binarize_rng.bit_generator.state,
            partial=None if self.partial is None else {
                k: v for k, v in self.partial.items() if k != "order"
            },
        )  # fmt: skip
        arrays = {} if self.partial is None else {"order": self.partial["order"]}
        save_checkpoint(
            self.checkpoint_path, meta, self.model.state_dict(), self.optimizer.state_dict(), arrays
        )

    def _restore(self, model_config):
        meta, params, optim_state, arrays = load_checkpoint(self.checkpoint_path)
        check_same_architecture(self.checkpoint_path, meta["model"], model_config)
        self.model.load_state_dict(params)
        self.optimizer.load_state_dict(optim_state)
        if meta["noise"] is not None:
            self.model.noise.load_state_dict(meta["noise"])
        self.order_rng.bit_generator.state = meta["order_rng"]
        self.binarize_rng.bit_generator.state = meta["binarize_rng"]
        self.epoch, self.step = meta["epoch"], meta["step"]
        if meta["partial"] is not None:
            self.partial = dict(meta["partial"], order=arrays["order"])
        _truncate_metrics(self.metrics_path, self.epoch)


def train(config, resume=False, progress=None, log=print):
    """Build the run described by `config` and train it; returns the new metrics rows."""
    return Trainer(config, resume=resume, progress=progress, log=log).fit()


def read_saved_config(run_dir):
    """The TrainConfig a run was started with, from its checkpoint."""
    meta = load_checkpoint(os.path.join(run_dir, "checkpoint.npz"))[0]
    saved = meta["config"]
    saved["hidden"] = tuple(saved["hidden"])
    return TrainConfig(**saved)


@dataclasses.dataclass
class SavedRun:
    config: TrainConfig
    model: object  # a VAE or an Autoencoder with the saved weights
    test_set: object  # the Dataset (labels, factors, image shape)
    test_x: np.ndarray  # its inputs prepared as in training (binarized if the run was)


def load_run(run_dir):
    """A finished (or interrupted) run, read back from its checkpoint."""
    meta, params, _, _ = load_checkpoint(os.path.join(run_dir, "checkpoint.npz"))
    config = read_saved_config(run_dir)
    train_set, test_set = load_dataset(config.dataset, data_dir=config.data_dir)
    _, test_x = prepare_data(config, train_set, test_set)
    model = build_model(
        meta["model"], config.dtype, config.seed, backend.module_for_device(config.device)
    )
    model.load_state_dict(params)
    return SavedRun(config, model, test_set, test_x)


def read_metrics(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def _truncate_metrics(path, epochs):
    """Keep the rows of the epochs the checkpoint holds (a crash may have left one more)."""
    if os.path.exists(path):
        rows = [row for row in read_metrics(path) if row["epoch"] <= epochs]
        with open(path, "w") as f:
            f.writelines(json.dumps(row) + "\n" for row in rows)


class _StopOnCtrlC:
    """Turn the first Ctrl-C into a request to stop after the current step (main thread only);
    a second one stops at once (the last checkpoint on disk is complete either way)."""

    requested = False

    def __enter__(self):
        self.previous = None
        try:
            self.previous = signal.signal(signal.SIGINT, self._request)
        except ValueError:  # not the main thread: leave SIGINT alone
            pass
        return self

    def _request(self, signum, frame):
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    def __exit__(self, *exc):
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)
        return False
