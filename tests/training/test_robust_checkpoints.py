"""Checkpoints on hostile files: every outcome is the checkpoint as written or a MinivaeError
that names the file, promptly and in little memory.

Three small real checkpoints (Adam after an epoch; SGD stopped mid-epoch with no hidden layer;
a float64 autoencoder) are mutated: bit flips anywhere, truncation at every length, random
values in the zip directory's fields, renamed members, random .npy headers, random meta
documents. A load that succeeds must give back exactly what was written (the zip's CRC-32 guards
the data, the reader compares every name and every header with what meta describes); for .npy
headers the reference is NumPy's own reading of the mutated member. Then one test per kind of
damage the issue lists, each checking the words of the error.
"""

import contextlib
import io
import json
import os
import struct
import threading
import warnings
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.checkpoint_files import (
    PEAK_BYTES,
    SECONDS,
    assert_same_or_error,
    bounded_load,
    content,
    measured_load,
    members,
    npy_member,
    overwrite,
    quiet,
    read_meta,
    tiny_config,
    with_members,
    with_meta,
    write_archive,
    write_run,
)

from minivae.cli import main
from minivae.errors import CheckpointError, MinivaeError
from minivae.training.checkpoint import load_checkpoint, save_checkpoint

FUZZ = settings(max_examples=300, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])
BASES = {
    "adam": {},
    "sgd mid-epoch": dict(optimizer="sgd", hidden=(), mid_epoch=True),
    "autoencoder float64": dict(model="autoencoder", dtype="float64", hidden=(2,)),
}


class Bases(dict):
    def __repr__(self):  # hypothesis prints its arguments: not the three files in full
        return f"Bases({', '.join(self)})"


@pytest.fixture(scope="module")
def bases(tmp_path_factory):
    """{name: (path, bytes, content)} of the three checkpoints every mutation starts from."""
    root = tmp_path_factory.mktemp("bases")
    made = Bases()
    for name, changes in BASES.items():
        path = write_run(root / name.replace(" ", "-"), **changes)
        made[name] = (path, open(path, "rb").read(), content(load_checkpoint(path)))
    return made


@pytest.fixture(scope="module")
def scratch(tmp_path_factory):
    return tmp_path_factory.mktemp("mutated") / "checkpoint.npz"


BASE_NAMES = st.sampled_from(sorted(BASES))


@FUZZ
@given(base=BASE_NAMES, flips=st.lists(st.integers(0, 2**17), min_size=1, max_size=8))
def test_bit_flips_give_the_checkpoint_or_an_error(bases, scratch, base, flips):
    _, data, expected = bases[base]
    mutated = bytearray(data)
    for bit in flips:
        mutated[(bit // 8) % len(mutated)] ^= 1 << (bit % 8)
    overwrite(scratch, bytes(mutated))
    assert_same_or_error(scratch, expected)


@pytest.mark.parametrize("base", ["adam", "sgd mid-epoch"])
def test_truncation_at_every_length_is_an_error(bases, scratch, base):
    _, data, _ = bases[base]
    overwrite(scratch, data)
    for length in reversed(range(len(data))):
        os.truncate(scratch, length)
        outcome, seconds, peak = measured_load(scratch)
        assert isinstance(outcome, CheckpointError), length
        assert str(scratch) in str(outcome) and seconds < SECONDS and peak < PEAK_BYTES


def zip_fields(data):
    """(offset, size) of every field of the zip's end record, central directory entries and
    local headers, found by walking the structure from the end record."""
    end = data.rindex(b"PK\x05\x06")
    fields = [(end + at, size) for at, size in ((4, 2), (6, 2), (8, 2), (10, 2), (12, 4),
                                                 (16, 4), (20, 2))]
    count, _, directory = struct.unpack_from("<HII", data, end + 10)
    entry = directory
    for _ in range(count):
        name_len, extra_len, comment_len = struct.unpack_from("<HHH", data, entry + 28)
        local = struct.unpack_from("<I", data, entry + 42)[0]
        fields += [(entry + at, size) for at, size in ((4, 2), (6, 2), (8, 2), (10, 2), (12, 2),
                   (14, 2), (16, 4), (20, 4), (24, 4), (28, 2), (30, 2), (32, 2), (34, 2),
                   (36, 2), (38, 4), (42, 4))]
        fields += [(local + at, size) for at, size in ((4, 2), (6, 2), (8, 2), (10, 2), (12, 2),
                   (14, 4), (18, 4), (22, 4), (26, 2), (28, 2))]
        entry += 46 + name_len + extra_len + comment_len
    return fields


# versions, flags, methods (8 deflate, 9 deflate64, 12 bzip2, 14 lzma, 99 AES) and extremes
SPECIAL_VALUES = [0, 1, 2, 8, 9, 12, 14, 20, 45, 63, 99, 0x800, 0xFFFF, 0xFFFFFFFF]
SPECIAL = st.sampled_from(SPECIAL_VALUES)


@pytest.mark.parametrize("structure", ["end record", "central directory", "local header"])
def test_each_zip_directory_field_of_a_member_with_each_special_value(bases, scratch, structure):
    """Every field of the end record, and of the first parameter's directory entry and local
    header (26 fields per member, after the end record's 7), set to each special value."""
    _, data, expected = bases["adam"]
    fields = zip_fields(data)
    chosen = {"end record": fields[:7], "central directory": fields[7 + 26 : 7 + 26 + 16],
              "local header": fields[7 + 26 + 16 : 7 + 2 * 26]}[structure]
    for offset, size in chosen:
        for value in SPECIAL_VALUES:
            mutated = bytearray(data)
            mutated[offset : offset + size] = (value % 2 ** (8 * size)).to_bytes(size, "little")
            overwrite(scratch, bytes(mutated))
            assert_same_or_error(scratch, expected)


@FUZZ
@given(base=BASE_NAMES, which=st.integers(0, 10**6), value=st.one_of(SPECIAL,
       st.integers(0, 2**32 - 1)))
def test_random_zip_directory_fields_give_the_checkpoint_or_an_error(
    bases, scratch, base, which, value
):
    _, data, expected = bases[base]
    offset, size = zip_fields(data)[which % len(zip_fields(data))]
    mutated = bytearray(data)
    mutated[offset : offset + size] = (value % 2 ** (8 * size)).to_bytes(size, "little")
    overwrite(scratch, bytes(mutated))
    assert_same_or_error(scratch, expected)


NAMES = st.sampled_from([
    "meta.npy", "param/decoder.logvar.npy", "optim/t.npy", "optim/m.0.npy",
    "optim/velocity.0.npy", "META.NPY", "meta", "param/decoder.logvar",
])


# zipfile cuts a name at NUL and cannot write a lone surrogate
ZIP_NAME_CHARACTERS = st.characters(exclude_categories=["Cs"], exclude_characters="\0")


@FUZZ
@given(base=BASE_NAMES, which=st.integers(0, 100),
       new_name=st.one_of(NAMES, st.text(ZIP_NAME_CHARACTERS, min_size=1, max_size=40)))
def test_a_renamed_member_is_an_error(bases, scratch, base, which, new_name):
    path, _, _ = bases[base]
    contents = list(members(path).items())
    old_name = contents[which % len(contents)][0]
    if new_name == old_name:
        return
    contents[which % len(contents)] = (new_name, contents[which % len(contents)][1])
    buffer = io.BytesIO()
    with warnings.catch_warnings(), zipfile.ZipFile(buffer, "w") as archive:
        warnings.simplefilter("ignore")  # zipfile warns of a duplicate name
        for name, data in contents:
            archive.writestr(name, data)
    overwrite(scratch, buffer.getvalue())
    outcome = bounded_load(scratch)
    assert isinstance(outcome, CheckpointError), (old_name, new_name)


DESCRS = st.sampled_from(["<f4", ">f4", "<f8", ">f8", "<i8", "|u1", "<U3", "|O", "<c8", "V4",
                          "[('a', '<f4')]", "'<f4'", "f4"])
SHAPES = st.one_of(st.lists(st.integers(-2, 5), max_size=3).map(tuple), st.just((2**40, 2**40)),
                   st.text(st.characters(max_codepoint=255), max_size=5))


@FUZZ
@given(base=BASE_NAMES, which=st.integers(0, 100), data=st.data())
def test_random_npy_headers_give_numpys_array_or_an_error(bases, scratch, base, which, data):
    path, _, _ = bases[base]
    contents = members(path)
    name = sorted(n for n in contents if n != "meta.npy")[which % (len(contents) - 1)]
    original = np.load(io.BytesIO(contents[name]))
    # each field of the header: often the right value or a near miss, else anything
    descr = data.draw(st.sampled_from([original.dtype.str, original.dtype.newbyteorder(">").str])
                      | DESCRS)
    shape = data.draw(st.sampled_from([original.shape, original.shape[::-1], (original.size,),
                                       (1, *original.shape)]) | SHAPES)
    fortran = data.draw(st.sampled_from([False, False, True, 0, None]))
    version = data.draw(st.sampled_from([1, 1, 2, 3, 9]))
    quoted = descr if descr.startswith(("[", "'")) else repr(descr)
    header = f"{{'descr': {quoted}, 'fortran_order': {fortran}, 'shape': {shape!r}, }}"
    header = header.ljust(118) + "\n"
    length = struct.pack("<H" if version == 1 else "<I", len(header))
    contents[name] = (b"\x93NUMPY" + bytes([version, 0]) + length + header.encode("latin1")
                      + original.tobytes())
    write_archive(scratch, contents)
    outcome = bounded_load(scratch)
    if isinstance(outcome, MinivaeError):
        return
    reference = np.load(io.BytesIO(contents[name]))  # NumPy's reading of the mutated member
    group, _, key = name[: -len(".npy")].partition("/")
    loaded = getattr(outcome, {"param": "params", "optim": "optimizer", "array": "arrays"}[group])
    assert (loaded[key].shape, loaded[key].dtype) == (original.shape, original.dtype)  # as meta
    assert loaded[key].tobytes() == reference.astype(original.dtype).tobytes()


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=6),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner,
                                                                 max_size=3),
    max_leaves=8,
)


def paths(value, prefix=()):
    """Every path into a JSON value, itself first."""
    yield prefix
    items = value.items() if isinstance(value, dict) else (
        enumerate(value) if isinstance(value, list) else ())
    for key, item in items:
        yield from paths(item, (*prefix, key))


def at(value, path):
    for key in path:
        value = value[key]
    return value


def kind(value):
    return "null" if value is None else type(value).__name__


def allowed_instead(value, replacement):
    """Whether meta may hold `replacement` where `value` was, by its kind alone: the same kind,
    or an integer for a real number; a null field may become something else (clip, limit)."""
    if value is None or kind(replacement) == kind(value):
        return True
    return isinstance(value, float) and kind(replacement) == "int"


@FUZZ
@given(base=BASE_NAMES, which=st.integers(0, 1000), how=st.sampled_from(["delete", "add", "kind",
       "any"]), value=JSON, key=st.text(min_size=1, max_size=6))
def test_random_meta_documents_are_refused_or_read_as_written(
    bases, scratch, base, which, how, value, key
):
    path, _, _ = bases[base]
    meta = read_meta(path)
    chosen = list(paths(meta))[which % len(list(paths(meta)))]
    parent, last = (at(meta, chosen[:-1]), chosen[-1]) if chosen else (None, None)
    must_fail = True
    if how == "delete" and chosen:
        del parent[last]
    elif how == "add" and isinstance(at(meta, chosen), dict) and key not in at(meta, chosen):
        at(meta, chosen)[key] = value
    elif how == "kind" and chosen and not allowed_instead(parent[last], value):
        parent[last] = value
    elif chosen:
        parent[last], must_fail = value, False
    else:
        meta, must_fail = value, not isinstance(value, dict)
    with_meta(path, scratch, meta)
    outcome = bounded_load(scratch)
    if must_fail:
        assert isinstance(outcome, CheckpointError), (how, chosen, value)
        assert str(scratch) in str(outcome) and "\n" not in str(outcome)
    elif not isinstance(outcome, MinivaeError):
        assert json.dumps(outcome.meta, sort_keys=True) == json.dumps(meta, sort_keys=True)


# One test per kind of damage the issue lists, each checking what the error says.


def refused(path, *expected):
    with pytest.raises(CheckpointError) as error:
        load_checkpoint(path)
    message = str(error.value)
    assert str(path) in message and "\n" not in message
    for words in expected:
        assert words in message, message
    return message


@pytest.fixture
def run(tmp_path):
    """A tiny finished run, and its checkpoint's path."""
    return write_run(tmp_path / "run")


def rewritten(path, change):
    """Rewrite the checkpoint at `path` with `change` applied to its members ({name: bytes})."""
    contents = members(path)
    change(contents)
    write_archive(path, contents)


@pytest.mark.parametrize(
    "offset_in_entry, value, expected",
    [(10, 8, "is compressed (method 8)"), (10, 99, "is compressed (method 99)"),
     (8, 1, "is encrypted"), (6, 99, "NotImplementedError: zip file version 9.9")],
    ids=["deflated", "unknown method", "encrypted", "version"],
)
def test_a_corrupt_zip_directory_is_named(run, offset_in_entry, value, expected):
    data = bytearray(open(run, "rb").read())
    entry = struct.unpack_from("<I", data, data.rindex(b"PK\x05\x06") + 16)[0]  # the first
    data[entry + offset_in_entry : entry + offset_in_entry + 2] = struct.pack("<H", value)
    open(run, "wb").write(bytes(data))
    refused(run, expected)


def test_a_compressed_archive_is_refused_saying_how_minivae_stores(run):
    write_archive(run, members(run), zipfile.ZIP_DEFLATED)
    refused(run, "is compressed (method 8); minivae stores its arrays uncompressed")


def test_a_member_renamed_is_named(run):
    def rename(contents):
        contents["param/encoder.layers.9.bias.npy"] = contents.pop(
            "param/encoder.layers.0.bias.npy")

    rewritten(run, rename)
    refused(run, "missing ['param/encoder.layers.0.bias'], unexpected "
            "['param/encoder.layers.9.bias']")


def write_npy(path):
    with open(path, "wb") as f:
        np.save(f, np.zeros(3))


@pytest.mark.parametrize(
    "make, expected",
    [(write_npy, "is a single .npy array (np.save), not a checkpoint"),
     (lambda p: p.write_text('{"format": 2}'), "BadZipFile: File is not a zip file"),
     (lambda p: p.write_bytes(b""), "truncated or corrupt"),
     (lambda p: p.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100)), "not a zip file"),
     (os.mkdir, "is a directory, not a regular file: pass a run directory")],
    ids=["npy", "json", "empty", "png", "directory"],
)
def test_another_kind_of_file_in_its_place_is_named(tmp_path, make, expected):
    path = tmp_path / "checkpoint.npz"
    make(path)
    refused(path, expected)


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="no /dev/zero here")
def test_a_link_to_an_endless_device_is_refused_without_reading(tmp_path):
    path = tmp_path / "checkpoint.npz"
    os.symlink("/dev/zero", path)
    outcome, seconds, peak = measured_load(path)
    assert "is a device or socket, not a regular file" in str(outcome)
    assert seconds < SECONDS and peak < PEAK_BYTES


def in_thread(call, seconds=5):
    """call() in a thread; fails the test (after releasing it) if it does not return in time."""
    outcome = {}
    worker = threading.Thread(target=lambda: outcome.update(result=call()))
    worker.start()
    worker.join(timeout=seconds)
    return worker, outcome


def release_pipe(path, worker):
    """A reader blocked on the pipe at `path` lets go once a writer opens and closes it."""
    with contextlib.suppress(OSError):
        os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))
    worker.join()


def test_a_named_pipe_in_its_place_is_refused_at_once(tmp_path, capsys):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    pipe = run_dir / "checkpoint.npz"
    os.mkfifo(pipe)
    worker, outcome = in_thread(lambda: measured_load(pipe))
    if worker.is_alive():
        release_pipe(pipe, worker)
        pytest.fail("load_checkpoint waited for a writer on a named pipe")
    error, seconds, _ = outcome["result"]
    assert "is a named pipe, not a regular file" in str(error) and seconds < SECONDS
    worker, outcome = in_thread(lambda: main(["eval", str(run_dir)]))
    if worker.is_alive():
        release_pipe(pipe, worker)
        pytest.fail("minivae eval waited for a writer on a named pipe")
    assert outcome["result"] == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is a named pipe, not a regular file" in err


@pytest.mark.parametrize(
    "change, expected",
    [(lambda m: [], "meta must be a JSON object with keys format, config, model,"),
     (lambda m: {**m, "format": 1}, "meta has format 1; this minivae reads formats 2 and 3"),
     (lambda m: {k: v for k, v in m.items() if k != "noise"}, "meta lacks noise"),
     (lambda m: {**m, "epoch": "1"}, "meta epoch must be an integer >= 0, got '1'"),
     (lambda m: {**m, "epoch": 1.0}, "meta epoch must be an integer >= 0, got 1.0"),
     (lambda m: {**m, "partial": 3}, "meta partial must be a JSON object"),
     (lambda m: {**m, "noise": {"seed": 0, "stream": -1}}, "meta noise.stream must be"),
     (lambda m: {**m, "config": {**m["config"], "colour": "red"}},
      "meta config has keys minivae never writes there: 'colour'"),
     (lambda m: {**m, "config": {**m["config"], "limit": 0}},
      "meta config is refused by this minivae's limits: TrainConfig: limit must be an integer "
      ">= 1, got 0"),
     (lambda m: {**m, "config": {**m["config"], "out": 5}}, "TrainConfig: out must be a "
      "non-empty path"),
     (lambda m: {**m, "model": {**m["model"], "latent_dim": 2}},
      "is not the architecture its config describes"),
     (lambda m: {**m, "order_rng": {**m["order_rng"], "bit_generator": "MT19937"}},
      "meta order_rng.bit_generator must be 'PCG64'"),
     (lambda m: {**m, "dtype": "float64"}, "meta dtype 'float64' is not its config's dtype")],
    ids=["not a dict", "old format", "key missing", "str epoch", "float epoch", "partial",
         "stream", "unknown config key", "config outside limits", "out not a path",
         "architecture", "generator", "dtype"],
)
def test_meta_of_the_wrong_shape_names_the_field(run, change, expected):
    with_meta(run, run, change(read_meta(run)))
    refused(run, expected, "restore a copy, or start a new run with another --out")


def test_an_optimizer_state_of_another_architecture_is_named(run):
    rewritten(run, lambda c: c.update({"optim/m.0.npy": npy_member(np.zeros(7, np.float32))}))
    refused(run, "optim/m.0 has shape (7,), not (2,)", "another architecture or optimizer")


def test_an_optimizer_state_of_another_optimizer_is_named(run):
    meta = read_meta(run)
    meta["config"]["optimizer"] = "sgd"
    with_meta(run, run, meta)
    refused(run, "missing ['optim/velocity.0',", "unexpected ['optim/m.0',")


def test_parameters_of_the_wrong_dtype_are_named(run):
    weight = np.load(io.BytesIO(members(run)["param/encoder.layers.0.weight.npy"]))
    rewritten(run, lambda c: c.update({"param/encoder.layers.0.weight.npy":
                                       npy_member(weight.astype(np.float64))}))
    refused(run, "param/encoder.layers.0.weight has dtype float64, not float32")


def test_a_parameter_of_another_shape_but_the_same_size_is_named(run):
    weight = np.load(io.BytesIO(members(run)["param/encoder.layers.0.weight.npy"]))  # (2, 3)
    rewritten(run, lambda c: c.update({"param/encoder.layers.0.weight.npy": npy_member(
        np.ascontiguousarray(weight.T))}))
    refused(run, "param/encoder.layers.0.weight has shape (3, 2), not (2, 3)")


def test_a_zip_bomb_is_refused_before_it_inflates(run, tmp_path):
    contents = members(run)
    contents["param/decoder.logvar.npy"] += bytes(64 << 20)  # 64 MiB of zeros, deflated
    bomb = tmp_path / "bomb.npz"
    write_archive(bomb, contents, zipfile.ZIP_DEFLATED)
    assert bomb.stat().st_size < 1 << 20
    outcome, seconds, peak = measured_load(bomb)
    assert isinstance(outcome, CheckpointError) and "is compressed (method 8)" in str(outcome)
    assert seconds < SECONDS and peak < PEAK_BYTES


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_parameters_are_refused_and_eval_says_so(run, capsys, bad):
    weight = np.load(io.BytesIO(members(run)["param/decoder.logvar.npy"]))
    weight[1] = bad
    with_members(run, {**members(run), "param/decoder.logvar.npy": npy_member(weight)})
    refused(run, "param/decoder.logvar holds 1 NaN or infinite values (the first at index (1,))")
    assert main(["eval", os.path.dirname(run)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "NaN or infinite" in err


def test_the_writer_refuses_what_the_reader_would_and_keeps_the_checkpoint(run):
    before = open(run, "rb").read()
    trainer = quiet(tiny_config(os.path.dirname(run), epochs=2), resume=True)
    trainer.model.decoder.logvar.data[0] = np.nan
    with pytest.raises(CheckpointError, match="not written: param/decoder.logvar holds 1 NaN.*"
                       "already there, if any, is kept"):
        trainer._save()
    assert open(run, "rb").read() == before
    assert sorted(os.listdir(os.path.dirname(run))) == ["checkpoint.npz", "metrics.jsonl",
                                                        "run.lock"]


def test_a_mid_epoch_order_that_is_no_permutation_is_named(tmp_path):
    path = write_run(tmp_path / "mid", mid_epoch=True)
    with_members(path, {**members(path), "array/order.npy": npy_member(np.zeros(12, np.int64))})
    refused(path, "array/order is not a permutation of 0..11")


def test_the_writer_refuses_a_meta_it_would_not_read(tmp_path):
    with pytest.raises(CheckpointError, match="not written: meta has format 1"):
        save_checkpoint(tmp_path / "c.npz", {"format": 1}, {}, {})
    assert not os.path.exists(tmp_path / "c.npz")
