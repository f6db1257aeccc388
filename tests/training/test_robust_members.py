"""The members of a checkpoint, each under its own name: format 3 records in meta the SHA-256 of
every member's content under its name, so two parameters of one shape swapped, Adam's m and v
swapped, or any value edited, is refused before anything uses it (the zip's CRC-32 guards the
bytes, not the names). What must hold is checked too: Adam's v >= 0, the step count that the
epochs and batches make, an order of the examples as long as the training set. A checkpoint of
format 2 (minivae before format 3), which has no checksums, is still read and resumed."""

import hashlib
import io
import json
import os
import shutil

import numpy as np
import pytest
from support.checkpoint_files import (
    as_format_2,
    members,
    npy_member,
    quiet,
    read_meta,
    tiny_config,
    with_members,
    with_meta,
    write_archive,
    write_run,
)

from minivae.errors import CheckpointError
from minivae.training.checkpoint import load_checkpoint
from minivae.training.run_dir import read_metrics
from minivae.training.trainer import Trainer

FORMAT2 = os.path.join(os.path.dirname(__file__), "format2")  # written by minivae d654fc1
DAMAGED = "restore a copy, or start a new run with another --out"


def array(contents, key):
    return np.load(io.BytesIO(contents[f"{key}.npy"]))


def refused(path, *expected):
    with pytest.raises(CheckpointError) as error:
        load_checkpoint(path)
    message = str(error.value)
    assert str(path) in message and "\n" not in message and DAMAGED in message, message
    for words in expected:
        assert words in message, message


def swapped(path, a, b):
    """Rewrite the checkpoint at `path` with the members `a` and `b` under each other's names."""
    contents = members(path)
    contents[f"{a}.npy"], contents[f"{b}.npy"] = contents[f"{b}.npy"], contents[f"{a}.npy"]
    write_archive(path, contents)


@pytest.fixture
def run(tmp_path):
    return write_run(tmp_path / "run")


def test_meta_records_the_sha256_of_each_member_under_its_name(run):
    contents, checksums = members(run), read_meta(run)["checksums"]
    assert set(checksums) == {name[: -len(".npy")] for name in contents} - {"meta"}
    for key, digest in checksums.items():
        data = np.ascontiguousarray(array(contents, key))
        assert digest == hashlib.sha256(data.astype(data.dtype.newbyteorder("<"))).hexdigest()


@pytest.mark.parametrize(
    "a, b",
    [("param/encoder.layers.0.bias", "param/decoder.net.layers.0.bias"),
     ("param/decoder.logvar", "param/encoder.layers.1.bias"), ("optim/m.1", "optim/v.1"),
     ("optim/m.0", "optim/m.3")],
    ids=["two biases", "logvar and a bias", "m and v", "two parameters' m"],
)
def test_members_swapped_under_each_others_names_are_refused(run, a, b):
    assert array(members(run), a).shape == array(members(run), b).shape
    swapped(run, a, b)
    with pytest.raises(CheckpointError, match="members were swapped under each other's names"
                       ) as error:
        load_checkpoint(run)
    assert {f"{a} holds what meta records for {b}", f"{b} holds what meta records for {a}"} & {
        str(error.value).split(": ")[1]}, str(error.value)


def test_a_value_edited_is_refused(run):
    contents = members(run)
    bias = array(contents, "param/encoder.layers.0.bias")
    bias[0] += 1
    contents["param/encoder.layers.0.bias.npy"] = npy_member(bias)  # its zip CRC-32 is right
    write_archive(run, contents)
    refused(run, "param/encoder.layers.0.bias does not hold what meta records for it (SHA-256 ")


def test_a_negative_v_is_refused_even_with_checksums_to_match(run):
    contents = members(run)
    v = array(contents, "optim/v.2")
    v[0, 1] = -1e-6
    contents["optim/v.2.npy"] = npy_member(v)
    with_members(run, contents)
    refused(run, "optim/v.2 holds 1 negative values (the first at index (0, 1)): Adam's v is a "
            "running mean of g^2")


def test_a_step_count_the_epochs_do_not_make_is_refused(run):
    with_meta(run, run, {**read_meta(run), "step": 4})  # 1 epoch of 3 batches makes 3 steps
    contents = members(run)
    contents["optim/t.npy"] = npy_member(np.int64(4))
    with_members(run, contents)
    refused(run, "meta step is 4, but 1 epochs of 3 batches (12 examples, batch size 4) and 0 "
            "batches more make 3")


def test_an_order_of_another_length_than_the_training_set_is_refused(tmp_path):
    path = write_run(tmp_path / "mid", mid_epoch=True)
    contents = members(path)
    contents["array/order.npy"] = npy_member(np.arange(8, dtype=np.int64))
    with_members(path, contents)
    refused(path, "array/order holds 8 examples, but meta data.train holds 12")


def test_the_writer_records_what_the_reader_checks(tmp_path):
    trainer = quiet(tiny_config(tmp_path / "run", epochs=2))
    trainer.fit()
    checkpoint = load_checkpoint(tmp_path / "run" / "checkpoint.npz")
    assert checkpoint.meta["format"] == 3
    assert checkpoint.meta["data"]["train"]["examples"] == 12


@pytest.mark.parametrize("kind", ["after-epoch", "mid-epoch"])
def test_a_format_2_checkpoint_is_still_read_and_resumed(tmp_path, kind):
    out = tmp_path / kind
    shutil.copytree(os.path.join(FORMAT2, kind), out)
    old = load_checkpoint(out / "checkpoint.npz")
    assert old.meta["format"] == 2 and "checksums" not in old.meta and "data" not in old.meta
    logged = []
    with Trainer(tiny_config(out, epochs=2), resume=True, log=logged.append) as trainer:
        trainer.fit()
    assert "format 2, which records no identity of its data" in logged[0]
    new = load_checkpoint(out / "checkpoint.npz")
    assert new.meta["format"] == 3 and new.meta["epoch"] == 2 and "checksums" in new.meta
    assert [row["epoch"] for row in read_metrics(out / "metrics.jsonl")] == [1, 2]


def test_a_format_2_checkpoint_resumes_bit_for_bit(tmp_path):
    whole, parts = tmp_path / "whole", tmp_path / "parts"
    write_run(whole, epochs=3)
    as_format_2(write_run(parts, mid_epoch=True))
    quiet(tiny_config(parts, epochs=3), resume=True).fit()
    a, b = (load_checkpoint(d / "checkpoint.npz") for d in (whole, parts))
    for name in a.params:
        np.testing.assert_array_equal(a.params[name], b.params[name], err_msg=name)
    assert json.dumps(a.meta["data"]) == json.dumps(b.meta["data"])


def test_m_and_v_swapped_in_a_format_2_checkpoint_are_refused_by_v_at_least_0(tmp_path):
    path = tmp_path / "checkpoint.npz"
    shutil.copy(os.path.join(FORMAT2, "after-epoch", "checkpoint.npz"), path)
    swapped(path, "optim/m.1", "optim/v.1")
    refused(path, "optim/v.1 holds 2 negative values", "m and v may have been swapped")


@pytest.mark.parametrize("format", [1, 4])
def test_another_format_is_refused_naming_the_ones_read(run, format):
    with_meta(run, run, {**read_meta(run), "format": format})
    refused(run, f"meta has format {format}; this minivae reads formats 2 and 3")
