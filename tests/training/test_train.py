"""Training runs: metrics, exact resume (after an epoch, mid-epoch, after Ctrl-C), NaN losses,
checkpoints that are missing, truncated or of another architecture."""

import dataclasses
import os
import signal

import numpy as np
import pytest

from minivae.errors import CheckpointError, ConfigError, MinivaeError, TrainingError
from minivae.training.checkpoint import load_checkpoint
from minivae.training.run_dir import load_run, read_metrics
from minivae.training.trainer import Interrupted, TrainConfig, Trainer, train

SMALL = dict(
    dataset="sprites", limit=600, epochs=3, batch_size=64, hidden=(32,), latent_dim=4,
    binarize="dynamic", warmup_epochs=1.5,
)


def config(tmp_path, name="run", **changes):
    return TrainConfig(**{**SMALL, "out": str(tmp_path / name), **changes})


def final_params(out):
    return load_checkpoint(os.path.join(out, "checkpoint.npz")).params


def without_time(rows):
    return [{k: v for k, v in row.items() if k != "epoch_seconds"} for row in rows]


def assert_same_run(out_a, out_b):
    a, b = final_params(out_a), final_params(out_b)
    assert a.keys() == b.keys()
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)
    rows_a = read_metrics(os.path.join(out_a, "metrics.jsonl"))
    rows_b = read_metrics(os.path.join(out_b, "metrics.jsonl"))
    assert without_time(rows_a) == without_time(rows_b)


def test_metrics_rows_have_the_promised_keys_and_learning_happens(tmp_path):
    cfg = config(tmp_path)
    rows = train(cfg, log=lambda _: None)
    keys = {"epoch", "train_loss", "test_neg_elbo", "test_recon", "test_kl", "epoch_seconds"}
    assert [r["epoch"] for r in rows] == [1, 2, 3]
    assert keys <= rows[0].keys()
    assert read_metrics(os.path.join(cfg.out, "metrics.jsonl")) == rows
    assert rows[-1]["test_neg_elbo"] < rows[0]["test_neg_elbo"]
    assert rows[0]["beta"] < rows[-1]["beta"] == 1.0  # warm-up


def test_one_seed_makes_a_run_exactly_repeatable(tmp_path):
    train(config(tmp_path, "a", epochs=1), log=lambda _: None)
    train(config(tmp_path, "b", epochs=1), log=lambda _: None)
    assert_same_run(tmp_path / "a", tmp_path / "b")


def test_resume_after_an_epoch_equals_an_uninterrupted_run(tmp_path):
    train(config(tmp_path, "whole"), log=lambda _: None)
    train(config(tmp_path, "parts", epochs=1), log=lambda _: None)
    train(config(tmp_path, "parts"), resume=True, log=lambda _: None)
    assert_same_run(tmp_path / "whole", tmp_path / "parts")


def test_ctrl_c_mid_epoch_writes_a_checkpoint_and_resume_continues_exactly(tmp_path, monkeypatch):
    train(config(tmp_path, "whole"), log=lambda _: None)
    trainer = Trainer(config(tmp_path, "stopped"), log=lambda _: None)
    steps = {"n": 0}
    step = trainer.optimizer.step

    def step_then_ctrl_c():
        step()
        steps["n"] += 1
        if steps["n"] == 14:  # in the middle of epoch 2 (10 batches per epoch)
            signal.raise_signal(signal.SIGINT)

    monkeypatch.setattr(trainer.optimizer, "step", step_then_ctrl_c)
    with pytest.raises(Interrupted, match="epoch 2, batch 4/10.*--resume"):
        trainer.fit()
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # handler restored
    trainer.close()  # as the command line's run ends: the resumed run may have the directory
    Trainer(config(tmp_path, "stopped"), resume=True, log=lambda _: None).fit()
    assert_same_run(tmp_path / "whole", tmp_path / "stopped")


def test_a_nan_loss_stops_training_and_keeps_the_last_good_checkpoint(tmp_path, monkeypatch):
    cfg = config(tmp_path, epochs=1)
    train(cfg, log=lambda _: None)
    before = final_params(cfg.out)
    trainer = Trainer(dataclasses.replace(cfg, epochs=2), resume=True, log=lambda _: None)
    loss = trainer.model.loss
    calls = {"n": 0}

    def loss_turning_nan(x, beta=1.0, noise=None, validated=False, free_bits=0.0):
        calls["n"] += 1
        terms = loss(x, beta, noise, validated, free_bits)
        if calls["n"] == 3:
            terms.objective = terms.objective * float("nan")
        return terms

    monkeypatch.setattr(trainer.model, "loss", loss_turning_nan)
    with pytest.raises(TrainingError, match=r"became nan at epoch 2, batch 3 \(step 13\).*kept"):
        trainer.fit()
    after = final_params(cfg.out)
    for name in before:
        np.testing.assert_array_equal(before[name], after[name])
    assert len(read_metrics(os.path.join(cfg.out, "metrics.jsonl"))) == 1


def test_an_existing_run_is_not_overwritten_without_resume(tmp_path):
    cfg = config(tmp_path, epochs=1)
    train(cfg, log=lambda _: None)
    with pytest.raises(MinivaeError, match="already holds a run.*--resume"):
        Trainer(cfg)


def test_resume_without_a_checkpoint_says_what_to_do(tmp_path):
    with pytest.raises(CheckpointError, match="no checkpoint at .*train first"):
        Trainer(config(tmp_path), resume=True)


def test_truncated_checkpoint_is_refused_clearly(tmp_path):
    cfg = config(tmp_path, epochs=1)
    train(cfg, log=lambda _: None)
    path = os.path.join(cfg.out, "checkpoint.npz")
    with open(path, "r+b") as f:
        f.truncate(os.path.getsize(path) // 2)
    with pytest.raises(CheckpointError, match="truncated or corrupt"):
        Trainer(cfg, resume=True)


def test_resuming_with_another_architecture_is_refused_clearly(tmp_path):
    cfg = config(tmp_path, epochs=1)
    train(cfg, log=lambda _: None)
    with pytest.raises(ConfigError, match=r"latent_dim 6 contradicts .* started with latent_dim 4"):
        Trainer(dataclasses.replace(cfg, latent_dim=6), resume=True)


def test_checkpoint_writes_leave_no_temporary_files(tmp_path):
    cfg = config(tmp_path, epochs=2)
    train(cfg, log=lambda _: None)
    assert sorted(os.listdir(cfg.out)) == ["checkpoint.npz", "metrics.jsonl", "run.lock"]
    meta = load_checkpoint(os.path.join(cfg.out, "checkpoint.npz")).meta
    assert meta["epoch"] == 2 and meta["model"]["latent_dim"] == 4


def test_load_run_gives_back_the_trained_model(tmp_path):
    cfg = config(tmp_path, epochs=1)
    trainer = Trainer(cfg, log=lambda _: None)
    trainer.fit()
    run = load_run(cfg.out)
    assert run.config == cfg
    np.testing.assert_array_equal(run.test_x, trainer.test_x)  # binarized as in training
    trained, loaded = dict(trainer.model.named_parameters()), dict(run.model.named_parameters())
    assert trained.keys() == loaded.keys()
    for name, p in trained.items():
        np.testing.assert_array_equal(loaded[name].data, p.data, err_msg=name)
    np.testing.assert_array_equal(
        run.model.reconstruct(run.test_x[:3]), trainer.model.reconstruct(trainer.test_x[:3])
    )


def test_cuda_graph_is_refused_where_it_cannot_run():
    with pytest.raises(ConfigError, match="cuda_graph needs device 'gpu'"):
        TrainConfig(cuda_graph=True)
    with pytest.raises(ConfigError, match="binarize 'dynamic'"):
        TrainConfig(cuda_graph=True, device="gpu", binarize="dynamic")
