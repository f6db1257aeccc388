"""Resuming a run with other settings: the run's settings are its checkpoint's; a flag (or a
TrainConfig field) that contradicts them is refused, naming it, its saved value and what to do;
only the settings that say how the run goes on (config.MAY_CHANGE_ON_RESUME) may change. A
resume that is taken continues the run bit for bit."""

import dataclasses
import hashlib
import os
import re

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.checkpoint_files import as_format_2, quiet, read_meta, tiny_config, write_run

from minivae.cli import main
from minivae.data import load_dataset
from minivae.data.idx import write_idx
from minivae.data.sources import FILENAMES
from minivae.errors import CheckpointError, ConfigError
from minivae.training import trainer
from minivae.training.checkpoint import load_checkpoint
from minivae.training.config import MAY_CHANGE_ON_RESUME, TrainConfig, resumed_config
from minivae.training.run_dir import read_metrics

TINY_FLAGS = ["--dataset", "moons", "--limit", "12", "--batch-size", "4", "--hidden", "3",
              "--latent-dim", "1", "--epochs", "1"]
QUIET = ["--quiet", "--no-figures"]
# For each flag of the run: spellings of the value the tiny run was trained with, and other
# values, all valid, each of which would make another run.
SAME = {
    "--dataset": ["moons"], "--model": ["vae"], "--batch-size": ["4"], "--lr": ["0.003", "3e-3"],
    "--optimizer": ["adam"], "--momentum": ["0.9"], "--hidden": ["3", "3,"],
    "--latent-dim": ["1"], "--likelihood": ["gaussian"], "--activation": ["relu"],
    "--binarize": ["none"], "--beta": ["1", "1.0"], "--warmup-epochs": ["0"], "--seed": ["0"],
    "--dtype": ["float32"], "--limit": ["12"],
}
OTHER = {
    "--dataset": ["gaussians"], "--model": ["autoencoder"], "--batch-size": ["5", "12"],
    "--lr": ["0.001"], "--optimizer": ["sgd"], "--momentum": ["0.5"], "--clip": ["1"],
    "--hidden": ["4", "3,3", ""], "--latent-dim": ["2"], "--likelihood": ["bernoulli"],
    "--activation": ["tanh"], "--binarize": ["static"], "--beta": ["0.5"],
    "--warmup-epochs": ["1"], "--seed": ["1"], "--dtype": ["float64"], "--limit": ["10"],
}
FUZZ = settings(max_examples=150, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def saved_run(tmp_path_factory):
    """A tiny one-epoch run made on the command line: (its directory, its checkpoint's bytes)."""
    out = tmp_path_factory.mktemp("resume") / "run"
    assert main(["train", *TINY_FLAGS, *QUIET, "--out", str(out)]) == 0
    return out, (out / "checkpoint.npz").read_bytes()


@st.composite
def resume_flags(draw):
    """Flags for `minivae train --resume`: some of the run's own, each with its saved value or
    another; maybe some that may change. Returns (flags, the run flags given another value)."""
    flags, changed = [], []
    for flag in draw(st.lists(st.sampled_from(sorted(SAME | OTHER)), unique=True, max_size=4)):
        other = flag not in SAME or draw(st.booleans())
        value = draw(st.sampled_from(OTHER[flag] if other else SAME[flag]))
        flags += [f"{flag}={value}"]
        changed += [flag] if other else []
    if draw(st.booleans()):
        flags += [draw(st.sampled_from(["--epochs=1", "--device=cpu", "--data-dir=elsewhere"]))]
    return draw(st.permutations(flags)), changed


@FUZZ
@given(drawn=resume_flags())
def test_a_flag_that_contradicts_the_saved_run_is_refused_naming_it(saved_run, capsys, drawn):
    out, checkpoint = saved_run
    flags, changed = drawn
    status = main(["train", "--resume", *QUIET, "--out", str(out), *flags])
    _, err = capsys.readouterr()
    assert (out / "checkpoint.npz").read_bytes() == checkpoint  # refused or not, untouched
    if not changed:
        assert status == 0, err
        return
    assert status == 2 and err.count("\n") == 1 and "Traceback" not in err, err
    named = err.split(": ", 1)[1].split(" ", 1)[0]
    assert named in changed, (err, changed)
    assert "contradicts the run in" in err and "which was started with" in err
    assert f"leave {named} out to continue it, or start a new run with another --out" in err


@pytest.mark.parametrize(
    "flag, value, saved",
    [("--optimizer", "sgd", "optimizer 'adam'"), ("--dtype", "float64", "dtype 'float32'"),
     ("--batch-size", "3", "batch_size 4"), ("--dataset", "pinwheel", "dataset 'moons'"),
     ("--lr", "0.01", "lr 0.003")],
)
def test_the_issues_cases_are_one_line_not_a_traceback(tmp_path, capsys, flag, value, saved):
    out = tmp_path / "run"
    write_run(out, mid_epoch=True)  # the saved position inside the epoch depends on the batch
    assert main(["train", "--resume", *QUIET, "--out", str(out), flag, value]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert f"started with {saved}" in err and err.startswith(f"minivae train: {flag} ")


FIELDS = {f.name for f in dataclasses.fields(TrainConfig)}
OTHER_FIELDS = dict(dataset="pinwheel", model="autoencoder", batch_size=3, lr=0.01,
                    optimizer="sgd", momentum=0.5, clip=1.0, hidden=(2,), latent_dim=2,
                    likelihood="bernoulli", activation="tanh", binarize="static", beta=0.5,
                    warmup_epochs=1.0, free_bits=0.5, seed=7, dtype="float64", limit=8)


def test_every_field_is_either_the_run_or_may_change():
    assert set(OTHER_FIELDS) | set(MAY_CHANGE_ON_RESUME) == FIELDS
    assert not set(OTHER_FIELDS) & set(MAY_CHANGE_ON_RESUME)


@pytest.mark.parametrize("field", sorted(OTHER_FIELDS))
def test_the_python_api_refuses_a_config_of_another_run(tmp_path, field):
    config = tiny_config(tmp_path / "run")
    write_run(config.out)
    with pytest.raises(ConfigError, match=f"^{field} .* contradicts the run in .* started with "
                       f"{field} "):
        quiet(dataclasses.replace(config, **{field: OTHER_FIELDS[field]}), resume=True)


def test_what_may_change_does_and_the_run_goes_on(tmp_path):
    config = tiny_config(tmp_path / "run")
    write_run(config.out)
    moved = str(tmp_path / "moved")
    os.rename(config.out, moved)
    changed = dataclasses.replace(config, out=moved, epochs=2, data_dir=str(tmp_path))
    quiet(changed, resume=True).fit()
    assert [row["epoch"] for row in read_metrics(os.path.join(moved, "metrics.jsonl"))] == [1, 2]
    assert load_checkpoint(os.path.join(moved, "checkpoint.npz")).config == changed


def test_a_saved_cuda_graph_is_dropped_when_the_run_moves_to_the_cpu():
    saved = TrainConfig(device="gpu", cuda_graph=True)
    assert resumed_config(saved, {"device": "cpu"}, "runs/x").cuda_graph is False
    assert resumed_config(saved, {"epochs": 3}, "runs/x").cuda_graph is True  # still the GPU
    with pytest.raises(ConfigError, match="cuda_graph needs device 'gpu'"):
        resumed_config(saved, {"device": "cpu", "cuda_graph": True}, "runs/x")


def test_resuming_on_the_command_line_with_the_same_flags_is_bit_identical(tmp_path):
    whole, parts = tmp_path / "whole", tmp_path / "parts"
    command = ["train", *TINY_FLAGS[:-2], "--binarize", "dynamic", "--warmup-epochs", "1.5",
               *QUIET]
    assert main([*command, "--epochs", "3", "--out", str(whole)]) == 0
    assert main([*command, "--epochs", "1", "--out", str(parts)]) == 0
    assert main([*command, "--epochs", "3", "--out", str(parts), "--resume"]) == 0
    a, b = (load_checkpoint(d / "checkpoint.npz") for d in (whole, parts))
    for name in a.params:
        np.testing.assert_array_equal(a.params[name], b.params[name], err_msg=name)
    rows = [[{k: v for k, v in r.items() if k != "epoch_seconds"} for r in read_metrics(
        d / "metrics.jsonl")] for d in (whole, parts)]
    assert rows[0] == rows[1] and [r["epoch"] for r in rows[0]] == [1, 2, 3]


def mnist_dir(path, images, test_images=None):
    """MNIST's four files in `path`: `images` for training, `test_images` (default: the first
    four of them) for testing, every label 0."""
    path.mkdir()
    test_images = images[:4] if test_images is None else test_images
    labels, test_labels = (np.zeros(len(x), np.uint8) for x in (images, test_images))
    for name, array in zip(FILENAMES, (images, labels, test_images, test_labels), strict=True):
        write_idx(path / name, array)
    return path


EIGHT = np.zeros((8, 2, 2), np.uint8)
MNIST_FLAGS = ["--dataset", "mnist", "--likelihood", "bernoulli", "--batch-size", "4",
               "--hidden", "3", "--latent-dim", "1", *QUIET]
OTHER_DATA = {
    "more examples": (np.zeros((12, 2, 2), np.uint8), None,
                      "the training set holds 12 examples where the run was trained on 8"),
    "fewer examples": (EIGHT[:7], None,
                       "the training set holds 7 examples where the run was trained on 8"),
    "one pixel": (np.where(np.arange(32).reshape(8, 2, 2) == 5, 255, 0).astype(np.uint8), None,
                  "the training set's contents are not those the run was trained on (SHA-256 "),
    "test set": (EIGHT, np.full((4, 2, 2), 7, np.uint8),
                 "the test set's contents are not those the run was trained on (SHA-256 "),
}


@pytest.mark.parametrize("mid_epoch", [False, True], ids=["after an epoch", "mid-epoch"])
@pytest.mark.parametrize("change", OTHER_DATA)
def test_a_resume_on_other_data_is_refused_saying_what_differs(tmp_path, capsys, change,
                                                                 mid_epoch):
    images, test_images, expected = OTHER_DATA[change]
    trained, other = mnist_dir(tmp_path / "a", EIGHT), mnist_dir(tmp_path / "b", images,
                                                                 test_images)
    out = tmp_path / "run"
    if mid_epoch:
        write_run(out, mid_epoch=True, dataset="mnist", limit=None, data_dir=str(trained),
                  likelihood="bernoulli")
    else:
        assert main(["train", *MNIST_FLAGS, "--data-dir", str(trained), "--epochs", "1",
                     "--out", str(out)]) == 0
    before = (out / "checkpoint.npz").read_bytes()
    assert main(["train", *MNIST_FLAGS, "--data-dir", str(other), "--epochs", "2", "--out",
                 str(out), "--resume"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and expected in err, err
    assert f"checkpoint {out}/checkpoint.npz was trained on other mnist data than" in err
    assert "resume with the data it was trained on (--data-dir)" in err
    assert (out / "checkpoint.npz").read_bytes() == before
    assert main(["train", *MNIST_FLAGS, "--data-dir", str(trained), "--epochs", "2", "--out",
                 str(out), "--resume"]) == 0


def test_the_data_are_recorded_by_name_examples_and_sha256(tmp_path):
    meta = read_meta(write_run(tmp_path / "run"))
    train, test = load_dataset("moons")
    assert meta["data"] == {"name": "moons", **{
        split: {"examples": 12, "sha256": hashlib.sha256(x[:12]).hexdigest()}
        for split, x in (("train", train.x), ("test", test.x))}}


def test_generated_data_that_differ_are_reported_not_refused(tmp_path, monkeypatch):
    config = tiny_config(tmp_path / "run")
    write_run(config.out)
    load = trainer.load_dataset

    def drawn_on_another_machine(*args, **kwargs):  # a sine rounded the other way in its last bit
        train, test = load(*args, **kwargs)
        train.x[3, 1] = np.nextafter(train.x[3, 1], np.inf)
        return train, test

    monkeypatch.setattr(trainer, "load_dataset", drawn_on_another_machine)
    logged = []
    with trainer.Trainer(dataclasses.replace(config, epochs=2), resume=True,
                         log=logged.append) as resumed:
        resumed.fit()
    assert logged[0].startswith("note: the training set's contents are not those the run was "
                                "trained on (SHA-256 ")
    assert "The moons data are drawn by minivae" in logged[0]
    assert [row["epoch"] for row in read_metrics(tmp_path / "run" / "metrics.jsonl")] == [1, 2]


@pytest.mark.parametrize(
    "mid_epoch, expected",
    [(False, "checkpoint {out}/checkpoint.npz is after 1 epochs of 2 batches, but the mnist "
      "training set now makes epochs of 3 batches"),
     (True, "checkpoint {out}/checkpoint.npz stopped inside an epoch of 8 examples, but the "
      "mnist training set now has 12")],
    ids=["after an epoch", "mid-epoch"],
)
def test_a_format_2_resume_on_a_dataset_of_another_size_is_refused(tmp_path, mid_epoch,
                                                                     expected):
    small = mnist_dir(tmp_path / "a", EIGHT)
    large = mnist_dir(tmp_path / "b", np.zeros((12, 2, 2), np.uint8))
    config = tiny_config(tmp_path / "run", dataset="mnist", limit=None, data_dir=str(small),
                         likelihood="bernoulli")
    as_format_2(write_run(config.out, mid_epoch=mid_epoch, **{k: getattr(config, k) for k in
                ("dataset", "limit", "data_dir", "likelihood")}))
    with pytest.raises(CheckpointError, match=re.escape(expected.format(out=config.out))):
        quiet(dataclasses.replace(config, data_dir=str(large), epochs=2), resume=True)
