"""The training loop: shuffled mini-batches, KL warm-up, metrics, checkpoints, exact resume.

    config = TrainConfig(dataset="fashion-mnist", epochs=10, out="runs/fashion")
    rows = train(config)            # one dict of metrics per epoch
    rows = train(config, resume=True)   # continues from runs/fashion/checkpoint.npz
    with Trainer(config) as trainer:    # holds runs/fashion (its run.lock) until the block ends
        trainer.fit()

Everything random in a run comes from `config.seed`: the initial weights, the order of the
batches (a NumPy Generator), the noise z = mu + sigma * eps (the counter-based RNG) and the
dynamic binarization. Their states go into every checkpoint, so a resumed run draws exactly the
numbers the uninterrupted run would have drawn and ends with the same weights.

Each epoch appends one JSON line to <out>/metrics.jsonl (negative ELBO in nats per example):
epoch, step, beta, train_loss (the mean objective recon + beta KL over the epoch),
train_neg_elbo, test_neg_elbo, test_recon, test_kl, epoch_seconds. An autoencoder has no KL and
no ELBO: its rows hold null for train_neg_elbo, test_neg_elbo and test_kl. A row or a checkpoint
that cannot be written (the disk full, a file-size limit) ends the run with one line saying so;
the last good checkpoint stays as it was.
"""

import contextlib
import dataclasses
import math
import os
import signal
import time

import numpy as np

from minivae import backend
from minivae.accel.graph_step import GraphStep
from minivae.data import load_dataset
from minivae.data.batches import binarize
from minivae.errors import CheckpointError, MinivaeError, TrainingError
from minivae.files import writing
from minivae.models.optim import OPTIMIZERS, clip_grad_norm
from minivae.rng import CounterRNG
from minivae.training.checkpoint import check_same_architecture, save_checkpoint
from minivae.training.config import TrainConfig
from minivae.training.data_identity import check_same_batches, check_same_data, data_identity
from minivae.training.evaluate import mean_elbo_terms
from minivae.training.progress import ProgressBar
from minivae.training.run_dir import (
    CHECKPOINT,
    METRICS,
    append_metrics,
    build_model,
    claim_run_dir,
    open_run_dir,
    prepare_data,
    start_run_dir,
)

__all__ = ["Interrupted", "TrainConfig", "Trainer", "train"]


class Interrupted(MinivaeError):
    """Ctrl-C during training: a checkpoint was written; --resume continues."""


class Trainer:
    """One run: its data, model, optimizer, random generators and where it is within an epoch.

    The run's noise (`self.noise`, one stream per example of every batch) is its own, passed to
    every `model.loss` call: evaluating or sampling the model in between draws from other
    generators and leaves the training run exactly as it would have been.

    A Trainer holds its run directory (minivae.training.run_lock) from its construction until
    `close()`, the end of a `with Trainer(...)` block, or the end of the process.
    """

    def __init__(self, config, resume=False, progress=None, log=print):
        config = dataclasses.replace(config)  # checked again: a field may have been set since
        self.config, self.log, self.progress = config, log, progress
        self.checkpoint_path = os.path.join(config.out, CHECKPOINT)
        self.metrics_path = os.path.join(config.out, METRICS)
        self.lock = claim_run_dir(config.out, resume)  # one run at a time there, from now on
        try:
            self._build(resume)
        except BaseException:
            self.close()
            raise

    def _build(self, resume):
        """The run's data, model, optimizer and generators, restored when resuming."""
        config = self.config
        # before any data is read: a new run needs an empty directory; a resumed one, a
        # checkpoint of the run `config` describes and the metrics rows of its epochs
        checkpoint, kept_rows = open_run_dir(config, resume)
        self.xp = backend.module_for_device(config.device)
        self.train_set, self.test_set = load_dataset(config.dataset, data_dir=config.data_dir)
        self.data = data_identity(config.dataset, *(split.x[: config.limit] for split in (
            self.train_set, self.test_set)))  # recorded in each checkpoint
        train_x, self.test_x = prepare_data(config, self.train_set, self.test_set)
        self.train_x = self.xp.asarray(train_x)  # to the device once; batches are cut there
        architecture = config.architecture(self.train_x.shape[1])
        self.model = build_model(architecture, config.dtype, config.seed, self.xp)
        optimizer = OPTIMIZERS[config.optimizer]  # Adam or SGD, with the run's settings
        self.optimizer = optimizer(self.model.parameters(),
                                   **{name: getattr(config, name) for name in optimizer.settings})
        self.noise = CounterRNG(config.seed, xp=self.xp)  # z = mu + sigma * eps
        self.order_rng = np.random.default_rng(config.seed)  # the order of the batches
        self.binarize_rng = np.random.default_rng(config.seed + 1)  # dynamic binarization
        self.epoch, self.step = 0, 0  # epochs completed, optimizer steps taken
        self.sums = EpochSums(self.xp)  # this epoch's loss sums, on the device
        self.partial = None  # mid-epoch position: order, next batch, seconds
        self.graph_step = GraphStep(self) if config.cuda_graph else None
        if checkpoint is not None:
            self._restore(checkpoint, architecture)
        removed = start_run_dir(config.out, kept_rows)  # everything checked: now change files
        if removed:
            self.log(f"removed {len(removed)} temporary file(s) of writes killed midway in "
                     f"{config.out}: {', '.join(removed)}")

    def close(self):
        """Let another run have the run directory; the model and the data stay usable."""
        self.lock.release()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

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
                self.log(_summary(row))
                if stop.requested and self.epoch < self.config.epochs:
                    raise Interrupted(
                        f"interrupted after epoch {self.epoch}: checkpoint written to "
                        f"{self.checkpoint_path}; run the same command with --resume to continue"
                    )
        return rows

    def run_epoch(self, stop=None):
        """Train one epoch (or the rest of an interrupted one), evaluate, checkpoint, log."""
        if self.partial is None:
            order = self.order_rng.permutation(len(self.train_x))
            self.partial = dict(order=order, next_batch=0, seconds=0.0)
            self.sums.reset()  # on the current stream: device_stream() waits for it (an event)
        p = self.partial
        bar = ProgressBar(self.steps_per_epoch, f"epoch {self.epoch + 1}", enabled=self.progress)
        started = time.perf_counter()
        with self.device_stream():
            self._train_batches(self.xp.asarray(p["order"]), bar, stop, started)  # order: once
        bar.close()
        seconds = p["seconds"] + time.perf_counter() - started
        loss_mean, neg_elbo_mean = self.sums.means()  # the epoch's one read from the device
        if not math.isfinite(loss_mean):
            self._stop_on(loss_mean, f"during epoch {self.epoch + 1} (the GPU's loss is read "
                          "once per epoch, so the step is not known)")
        test = mean_elbo_terms(self.model, self.test_x)
        self.epoch += 1
        row = dict(
            epoch=self.epoch,
            step=self.step,
            beta=self.beta_at(self.step),
            train_loss=loss_mean,
            train_neg_elbo=None if test["kl"] is None else neg_elbo_mean,
            test_neg_elbo=test["neg_elbo"],
            test_recon=test["recon"],
            test_kl=test["kl"],
            epoch_seconds=seconds,
        )
        self.partial = None
        # the row first, on disk before the checkpoint is written: a crash between the two
        # leaves one row too many, which a resume drops, never a checkpoint whose row is missing
        with writing(f"epoch {self.epoch}'s row to {self.metrics_path}", self._kept()):
            append_metrics(self.metrics_path, row)
        self._save()
        return row

    def _train_batches(self, order, bar, stop, started):
        """The epoch's batches from p["next_batch"] on; order: the epoch's permutation (device)."""
        cfg, p = self.config, self.partial
        size, batches = cfg.batch_size, self.steps_per_epoch
        for b in range(p["next_batch"], batches):
            index = order[b * size : (b + 1) * size]  # (B,) on the device
            beta = self.beta_at(self.step)
            if self.graph_step is not None and len(index) == size:
                self.graph_step.run(index, beta, self.sums)
                loss = None
            else:
                x = self.train_x[index]  # (B, D), gathered on the device
                if cfg.binarize == "dynamic":
                    x = binarize(x, self.binarize_rng)
                terms, loss = self.update(x, beta)
                self.sums.add(loss, terms, len(x))
            self.step += 1
            p["next_batch"] = b + 1
            bar.update(b + 1, self._loss_so_far(loss, b))
            if stop is not None and stop.requested and b + 1 < batches:
                p["seconds"] += time.perf_counter() - started
                bar.close()
                self._save()
                raise Interrupted(
                    f"interrupted at epoch {self.epoch + 1}, batch {b + 1}/{batches}: "
                    f"checkpoint written to {self.checkpoint_path}; run the same command with "
                    "--resume to continue exactly where it stopped"
                )

    def update(self, x, beta):
        """One optimizer step on the batch x: forward, backward, (clip,) Adam or SGD."""
        terms = self.model.loss(x, beta, noise=self.noise, validated=True,  # checked at load
                                free_bits=self.config.free_bits)
        loss = terms.objective.mean()
        self.optimizer.zero_grad()
        loss.backward()
        if self.config.clip:
            clip_grad_norm(self.model.parameters(), self.config.clip)
        self.optimizer.step()
        return terms, loss

    def device_stream(self):
        """The CUDA stream the epoch's device work goes to: the graph's, in --cuda-graph runs,
        where it starts after everything queued before on the current stream (the parameters,
        the data, the sums' reset) and is finished on leaving; otherwise the current one."""
        if self.graph_step is None:
            return contextlib.nullcontext()
        return self.graph_step.ordered_block()

    def _loss_so_far(self, loss, b):
        """The loss for the progress bar, on the CPU only, where reading it costs nothing; there
        a loss that is not finite stops the run at once. The GPU's is read once per epoch."""
        if self.xp is not np or loss is None:
            return ""
        value = float(loss.data)
        if not math.isfinite(value):
            self._stop_on(value, f"at epoch {self.epoch + 1}, batch {b + 1} (step {self.step})")
        return f"loss {value:.2f}"

    def _stop_on(self, value, where):
        raise TrainingError(
            f"the loss became {value} {where}; stopped without saving that state: the last good "
            f"checkpoint, {self.checkpoint_path}, is kept. Try a smaller --lr or --clip"
        )

    def _save(self):
        meta = dict(
            config=dataclasses.asdict(self.config),
            model=self.model.config,
            dtype=str(self.model.dtype),
            epoch=self.epoch,
            step=self.step,
            noise=self.noise.state_dict(),
            order_rng=self.order_rng.bit_generator.state,
            binarize_rng=self.binarize_rng.bit_generator.state,
            partial=None if self.partial is None else dict(
                next_batch=self.partial["next_batch"], seconds=self.partial["seconds"],
                sums=self.sums.state_dict(),
            ),
            data=self.data,
        )
        arrays = {} if self.partial is None else {"order": self.partial["order"]}
        with writing(self.checkpoint_path, self._kept()):
            save_checkpoint(self.checkpoint_path, meta, self.model.state_dict(),
                            self.optimizer.state_dict(), arrays)

    def _kept(self):
        """What a write that fails leaves on disk to go on from, and how, for its message."""
        if os.path.exists(self.checkpoint_path):
            return (f"the last good checkpoint, {self.checkpoint_path}, is kept: once there is "
                    "room, run the same command with --resume to go on from it")
        return ("no checkpoint had been written yet: once there is room, start the run again in "
                "an empty directory")

    def _restore(self, checkpoint, architecture):
        """Continue from `checkpoint` (checked whole by training.checkpoint, its run's settings
        those of self.config by run_dir.open_run_dir): what is left to check needs the data."""
        meta, path = checkpoint.meta, checkpoint.path
        check_same_architecture(path, meta["model"], architecture)  # the data's input_dim
        if "data" in meta:
            check_same_data(path, meta["data"], self.data, self.log)
        else:
            self.log(f"resuming from {path}, of format 2, which records no identity of its data "
                     "(its next checkpoint will): only the number of batches per epoch is "
                     "compared with the data found now")
            check_same_batches(path, meta, self.steps_per_epoch, self.config.dataset,
                               self.config.batch_size)
        if meta["partial"] is not None and len(checkpoint.arrays["order"]) != len(self.train_x):
            raise CheckpointError(
                f"checkpoint {path} stopped inside an epoch of {len(checkpoint.arrays['order'])} "
                f"examples, but the {self.config.dataset} training set now has "
                f"{len(self.train_x)}: resume with the data it was trained on (--data-dir), or "
                "start a new run with another --out"
            )
        self.model.load_state_dict(checkpoint.params)
        self.optimizer.load_state_dict(checkpoint.optimizer)
        self.noise.load_state_dict(meta["noise"])
        self.order_rng.bit_generator.state = meta["order_rng"]
        self.binarize_rng.bit_generator.state = meta["binarize_rng"]
        self.epoch, self.step = meta["epoch"], meta["step"]
        if meta["partial"] is not None:
            saved = meta["partial"]
            self.sums.load_state_dict(saved["sums"])
            self.partial = dict(order=checkpoint.arrays["order"], next_batch=saved["next_batch"],
                                seconds=saved["seconds"])


def train(config, resume=False, progress=None, log=print):
    """Build the run described by `config` and train it; returns the new metrics rows."""
    with Trainer(config, resume=resume, progress=progress, log=log) as trainer:
        return trainer.fit()


class EpochSums:
    """The epoch's running sums of the training loss and of the negative ELBO, in float64, kept
    where the model is: on the GPU adding to them never waits for the device, and `means()`
    reads them once, at the end of the epoch. The two sums are arrays that stay the same
    objects all run long (a captured CUDA graph adds to them); `reset` zeroes them in place."""

    def __init__(self, xp):
        self.loss = xp.zeros((), dtype=np.float64)  # sum over examples of the batch mean loss
        self.neg_elbo = xp.zeros((), dtype=np.float64)  # sum over examples of recon + KL
        self.seen = 0  # examples so far (a host count)

    def add(self, loss, terms, count):
        self.accumulate(loss, terms, count)
        self.seen += count

    def accumulate(self, loss, terms, count):
        """The device's part of `add`, all a captured step may do."""
        self.loss += count * loss.data.astype(np.float64)
        if terms.kl is not None:
            self.neg_elbo += terms.neg_elbo.data.sum(dtype=np.float64)

    def means(self):
        """(mean loss, mean negative ELBO) per example over the epoch so far, as floats."""
        return float(self.loss) / self.seen, float(self.neg_elbo) / self.seen

    def reset(self):
        self.load_state_dict(dict(loss=0.0, neg_elbo=0.0, seen=0))

    def state_dict(self):
        return dict(loss=float(self.loss), neg_elbo=float(self.neg_elbo), seen=self.seen)

    def load_state_dict(self, state):
        self.loss.fill(state["loss"])
        self.neg_elbo.fill(state["neg_elbo"])
        self.seen = state["seen"]


def _summary(row):
    """One line per epoch for the log."""
    if row["test_kl"] is None:  # an autoencoder: reconstruction only
        test = f"test recon {row['test_recon']:.2f}"
    else:
        test = (f"test -ELBO {row['test_neg_elbo']:.2f} (recon {row['test_recon']:.2f}, "
                f"KL {row['test_kl']:.2f})  beta {row['beta']:.2f}")
    return (f"epoch {row['epoch']:3d}  train {row['train_loss']:.2f}  {test}  "
            f"{row['epoch_seconds']:.1f}s")


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
