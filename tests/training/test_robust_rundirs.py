"""Run directories: a directory that holds a run is resumed or refused, never appended to; what
killed writes leave behind is cleaned up; the metrics row reaches the disk before its
checkpoint; metrics.jsonl is read line by line with clear errors; --out that is not a directory
is refused before any training. Also the dataset search's files that are not files."""

import contextlib
import json
import os
import threading

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.checkpoint_files import quiet, tiny_config, write_run

from minivae import files
from minivae.cli import main
from minivae.data import load_dataset
from minivae.data.sources import FILENAMES
from minivae.errors import DataError, MinivaeError, RunError, WriteError
from minivae.training import run_dir
from minivae.training.run_dir import METRIC_KEYS, read_metrics

TINY_FLAGS = ["--dataset", "moons", "--limit", "12", "--batch-size", "4", "--hidden", "3",
              "--latent-dim", "1", "--quiet", "--no-figures"]
LEFT_BY_A_KILLED_WRITE = ".checkpoint.npz.0123456789abcdef.tmp"


def killed_in_first_checkpoint_write(out):
    """What a run killed while writing its first checkpoint leaves: epoch 1's row (flushed
    before the checkpoint) and the checkpoint's temporary file, half written."""
    write_run(out)
    os.rename(out / "checkpoint.npz", out / LEFT_BY_A_KILLED_WRITE)
    return out


def test_a_run_killed_in_its_first_checkpoint_write_is_not_appended_to(tmp_path, capsys):
    out = killed_in_first_checkpoint_write(tmp_path / "run")
    before = (out / "metrics.jsonl").read_bytes()
    assert main(["train", *TINY_FLAGS, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "already holds metrics.jsonl but no checkpoint.npz" in err
    assert "--resume has nothing to continue; start over with another --out, or delete" in err
    assert main(["train", *TINY_FLAGS, "--out", str(out), "--resume"]) == 2
    err = capsys.readouterr().err
    assert "holds metrics.jsonl but no checkpoint.npz" in err and "nothing to resume" in err
    assert (out / "metrics.jsonl").read_bytes() == before  # refused: nothing changed
    assert (out / LEFT_BY_A_KILLED_WRITE).exists()


def test_a_directory_holding_a_run_is_refused_without_resume(tmp_path, capsys):
    out = tmp_path / "run"
    write_run(out)
    assert main(["train", *TINY_FLAGS, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "already holds a run (checkpoint.npz, metrics.jsonl): pass --resume" in err
    assert "another --out or after deleting" in err
    assert [r["epoch"] for r in read_metrics(out / "metrics.jsonl")] == [1]


def test_temporary_files_of_killed_writes_are_removed_when_a_run_starts(tmp_path):
    out = tmp_path / "run"
    write_run(out)
    kept = ["notes.tmp", ".checkpoint.npz.tmp", ".x.0123456789ABCDEF.tmp", "a.0123456789abcdef.tmp"]
    for name in [LEFT_BY_A_KILLED_WRITE, ".curves.png.fedcba9876543210.tmp", *kept]:
        (out / name).write_bytes(b"half")
    os.mkfifo(out / ".metrics.jsonl.00000000000000aa.tmp")  # not a regular file: left alone
    logged = []
    from minivae.training.trainer import Trainer  # noqa: PLC0415

    Trainer(tiny_config(out, epochs=2), resume=True, log=logged.append).fit()
    assert sorted(os.listdir(out)) == sorted(["checkpoint.npz", "metrics.jsonl", "run.lock", *kept,
                                              ".metrics.jsonl.00000000000000aa.tmp"])
    assert "removed 2 temporary file(s) of writes killed midway" in logged[0]


def test_the_metrics_row_is_on_disk_before_the_checkpoint(tmp_path, monkeypatch):
    events = []
    fsync, replace = os.fsync, os.replace

    def recorded_fsync(fd):
        events.append(("fsync", os.path.basename(os.readlink(f"/proc/self/fd/{fd}"))))
        fsync(fd)

    def recorded_replace(source, target):
        events.append(("rename", os.path.basename(target)))
        replace(source, target)

    monkeypatch.setattr(os, "fsync", recorded_fsync)
    monkeypatch.setattr(os, "replace", recorded_replace)
    quiet(tiny_config(tmp_path / "run", epochs=2)).fit()
    start = 0
    for _ in range(2):  # each epoch: its row flushed, then its checkpoint renamed into place
        row_synced = events.index(("fsync", "metrics.jsonl"), start)
        start = events.index(("rename", "checkpoint.npz"), row_synced) + 1
    assert ("fsync", "run") in events[: events.index(("rename", "checkpoint.npz"))]  # its entry


def test_the_metrics_rewrite_on_resume_is_atomic(tmp_path, monkeypatch):
    out = tmp_path / "run"
    write_run(out)
    with open(out / "metrics.jsonl", "a") as f:  # killed between epoch 2's row and checkpoint
        f.write(json.dumps({**read_metrics(out / "metrics.jsonl")[0], "epoch": 2}) + "\n")
    before = (out / "metrics.jsonl").read_bytes()
    atomic_write = files.atomic_write

    @contextlib.contextmanager
    def dying_midway(path, mode="wb"):  # the disk fills up after the first row
        with atomic_write(path, mode) as f:
            def writelines(lines):
                f.write(next(iter(lines)))
                raise OSError(28, "No space left on device")

            yield type("Half", (), {"writelines": staticmethod(writelines)})()

    monkeypatch.setattr(run_dir, "atomic_write", dying_midway)
    with pytest.raises(WriteError, match=f"^cannot write the rows of the epochs kept to {out}/"
                       r"metrics.jsonl: no space left on the device \(ENOSPC\): make room; it is "
                       "kept as it was, and so is checkpoint.npz"):
        quiet(tiny_config(out, epochs=2), resume=True)
    assert (out / "metrics.jsonl").read_bytes() == before
    assert [name for name in os.listdir(out) if name.endswith(".tmp")] == []
    monkeypatch.setattr(run_dir, "atomic_write", atomic_write)
    quiet(tiny_config(out, epochs=2), resume=True).fit()
    assert [r["epoch"] for r in read_metrics(out / "metrics.jsonl")] == [1, 2]  # not 1, 2, 2


def test_a_row_cut_short_is_dropped_and_rows_missing_are_refused(tmp_path):
    out = tmp_path / "run"
    write_run(out, epochs=2)
    lines = (out / "metrics.jsonl").read_text().splitlines(keepends=True)
    (out / "metrics.jsonl").write_text("".join(lines) + lines[1][:25])  # epoch 3's, cut short
    assert [r["epoch"] for r in read_metrics(out / "metrics.jsonl")] == [1, 2]
    quiet(tiny_config(out, epochs=3), resume=True).fit()
    assert [r["epoch"] for r in read_metrics(out / "metrics.jsonl")] == [1, 2, 3]
    (out / "metrics.jsonl").write_text(lines[0])
    with pytest.raises(RunError, match="holds 1 epochs' rows, but the checkpoint is after epoch "
                       "3: rows are missing; .*restore it from a copy"):
        quiet(tiny_config(out, epochs=4), resume=True)


@pytest.mark.parametrize(
    "line, expected",
    [("{not json", "line 2 is not JSON"), ("[1, 2]", "line 2 is not a row of epoch, step"),
     ('{"epoch": 1}', "is not a row of epoch"), ("same row", "line 2 holds epoch 1 where epoch 2"),
     ("bad value", "has train_loss 'x', not a number or null")],
)
def test_a_bad_metrics_line_is_named_by_resume_and_figures(tmp_path, capsys, line, expected):
    out = tmp_path / "run"
    write_run(out)
    row = read_metrics(out / "metrics.jsonl")[0]
    line = {"same row": json.dumps(row),
            "bad value": json.dumps({**row, "epoch": 2, "train_loss": "x"})}.get(line, line)
    with open(out / "metrics.jsonl", "a") as f:
        f.write(line + "\n")
    assert main(["train", *TINY_FLAGS, "--epochs", "3", "--out", str(out), "--resume"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and expected in err and str(out / "metrics.jsonl") in err
    pytest.importorskip("matplotlib")
    assert main(["figures", str(out)]) == 2
    assert expected in capsys.readouterr().err


@settings(max_examples=200, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.binary(max_size=200) | st.lists(st.sampled_from(
    ['{"epoch": 1}', "", "{}", "null", "[", json.dumps(dict.fromkeys(METRIC_KEYS, 1))]),
    max_size=4).map(lambda lines: "\n".join(lines).encode()))
def test_any_metrics_file_gives_rows_or_one_clear_error(tmp_path, text):
    path = tmp_path / "metrics.jsonl"
    path.write_bytes(text)
    try:
        rows = read_metrics(path)
    except RunError as err:
        assert str(path) in str(err) and "\n" not in str(err)
        return
    assert [row["epoch"] for row in rows] == list(range(1, len(rows) + 1))


def test_a_named_pipe_for_metrics_is_refused_at_once(tmp_path, capsys):
    out = tmp_path / "run"
    write_run(out)
    os.remove(out / "metrics.jsonl")
    os.mkfifo(out / "metrics.jsonl")
    finished = {}
    command = ["train", *TINY_FLAGS, "--epochs", "2", "--out", str(out), "--resume"]
    resume = threading.Thread(target=lambda: finished.update(status=main(command)))
    resume.start()
    resume.join(timeout=5)
    if resume.is_alive():  # it opened the pipe: a writer lets it go, then the test fails
        os.close(os.open(out / "metrics.jsonl", os.O_WRONLY | os.O_NONBLOCK))
        resume.join()
        pytest.fail("--resume waited for a writer on metrics.jsonl, a named pipe")
    assert finished["status"] == 2
    assert "metrics.jsonl is a named pipe, not a regular file" in capsys.readouterr().err


def test_figures_without_metrics_draw_the_rest(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    out = tmp_path / "run"
    write_run(out)
    os.remove(out / "metrics.jsonl")
    assert main(["figures", str(out)]) == 0
    assert "curves.png" not in os.listdir(out) and "reconstructions.png" not in os.listdir(out)
    assert "points.png" in os.listdir(out)


def test_out_that_is_a_file_is_refused_before_any_data_is_read(tmp_path, capsys, monkeypatch):
    out = tmp_path / "results.txt"
    out.write_text("mine")
    never_reached = lambda *a, **k: 1 / 0  # noqa: E731
    monkeypatch.setattr("minivae.training.trainer.load_dataset", never_reached)
    assert main(["train", *TINY_FLAGS, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"the run directory {out} is a regular file, not a directory: choose another" in err
    assert out.read_text() == "mine"


def test_out_below_a_file_is_refused_before_training(tmp_path, capsys, monkeypatch):
    (tmp_path / "file").write_text("mine")
    monkeypatch.setattr("minivae.training.trainer.Trainer.fit", lambda self: 1 / 0)  # never reached
    assert main(["train", *TINY_FLAGS, "--out", str(tmp_path / "file" / "run")]) == 2
    assert "cannot create the run directory" in capsys.readouterr().err


@pytest.mark.parametrize("make", [os.mkdir, os.mkfifo], ids=["directory", "named pipe"])
def test_a_dataset_file_that_is_not_a_file_is_named(tmp_path, make):
    for name in FILENAMES[:2]:
        (tmp_path / name).write_bytes(b"")  # found first; never read, the search stops before
    make(tmp_path / FILENAMES[2])
    finished = {}
    search = threading.Thread(target=lambda: finished.update(outcome=_load(tmp_path)))
    search.start()
    search.join(timeout=5)
    assert not search.is_alive(), "the dataset search waited on a named pipe"
    error = finished["outcome"]
    assert isinstance(error, DataError) and str(tmp_path / FILENAMES[2]) in str(error)
    assert "not a regular file: a dataset file must be the IDX file itself" in str(error)


def _load(directory):
    try:
        return load_dataset("mnist", data_dir=str(directory), download=False)
    except MinivaeError as err:
        return err


def test_temporary_names_are_the_ones_atomic_write_gives(tmp_path):
    with files.atomic_write(tmp_path / "eval.json", "w") as f:
        (name,) = [n for n in os.listdir(tmp_path) if n.endswith(".tmp")]
        f.write("{}")
    assert files.TEMPORARY.fullmatch(name)
