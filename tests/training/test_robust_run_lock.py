"""One run at a time in a run directory: a second run there, new or resumed, in another process
or the same one, is refused in one line naming the first; a run that was killed never blocks
the next; reading a directory being trained (eval, figures) is not refused and does not
disturb the run; a run that is refused, or ends, lets the directory go."""

import dataclasses
import errno
import os
import signal
import subprocess
import sys

import pytest
from support.checkpoint_files import quiet, tiny_config, write_run
from support.processes import ENV, SECONDS, held_run

from minivae.cli import main
from minivae.errors import CheckpointError, ConfigError, RunError
from minivae.training import run_lock
from minivae.training.checkpoint import load_checkpoint
from minivae.training.run_dir import read_metrics

FLAGS = ["--dataset", "moons", "--limit", "12", "--batch-size", "4", "--hidden", "3",
         "--latent-dim", "1", "--quiet", "--no-figures"]


def epochs_written(out):
    return [row["epoch"] for row in read_metrics(out / "metrics.jsonl")]


def refused_by(child, err, out):
    """The one line a run refused because `child` holds `out` prints."""
    assert err.count("\n") == 1, err
    assert err.startswith(f"minivae train: {out} is in use by another run (pid {child.pid}, "
                          "started "), err
    assert "one run at a time in a run directory; wait for that one to end" in err


@pytest.mark.parametrize("resume", [False, True], ids=["new run", "resumed run"])
def test_a_second_run_in_a_held_directory_is_refused_naming_the_first(tmp_path, capsys, resume):
    out = tmp_path / "run"
    if resume:
        write_run(out)
    with held_run(tiny_config(out, epochs=2), resume=resume) as child:
        for extra in ([], ["--resume"]):
            assert main(["train", *FLAGS, "--epochs", "3", "--out", str(out), *extra]) == 2
            refused_by(child, capsys.readouterr().err, out)
    assert epochs_written(out) == [1, 2]  # the first run's rows, once each
    assert main(["train", *FLAGS, "--epochs", "3", "--out", str(out), "--resume"]) == 0
    assert epochs_written(out) == [1, 2, 3]


def racing(out, count, *extra):
    """`count` processes running the same `minivae train` in `out`, started together:
    [(exit status, stderr)] of each."""
    command = [sys.executable, "-m", "minivae", "train", *FLAGS, "--out", str(out), *extra]
    children = [subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                 text=True, env=ENV) for _ in range(count)]
    return [(child.wait(SECONDS), child.stderr.read()) for child in children]


@pytest.mark.parametrize("resume", [False, True], ids=["new runs", "resumed runs"])
def test_runs_started_at_once_in_one_directory_train_it_once(tmp_path, resume):
    out = tmp_path / "run"
    if resume:
        write_run(out)
    outcomes = racing(out, 3, "--epochs", "40", *(["--resume"] if resume else []))
    assert sum(status == 0 for status, _ in outcomes) >= 1, outcomes
    for status, err in outcomes:
        assert status in (0, 2) and "Traceback" not in err, err
        if status == 2:  # refused while another ran, or (a new run) after it had finished
            assert err.count("\n") == 1 and ("is in use by another run (pid " in err or (
                not resume and "already holds a run" in err)), err
    assert epochs_written(out) == list(range(1, 41))
    assert load_checkpoint(out / "checkpoint.npz").meta["epoch"] == 40
    assert sorted(os.listdir(out)) == ["checkpoint.npz", "metrics.jsonl", "run.lock"]


def test_a_killed_run_never_blocks_the_next(tmp_path):
    out = tmp_path / "run"
    write_run(out)
    with held_run(tiny_config(out, epochs=2), resume=True) as child:
        child.send_signal(signal.SIGKILL)
        child.wait()
    assert main(["train", *FLAGS, "--epochs", "2", "--out", str(out), "--resume"]) == 0
    assert epochs_written(out) == [1, 2]


def test_a_directory_being_trained_can_be_read(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    out = tmp_path / "run"
    write_run(out)
    with held_run(tiny_config(out, epochs=3), resume=True):
        assert main(["eval", str(out), "--k", "3"]) == 0
        assert main(["figures", str(out)]) == 0
    assert epochs_written(out) == [1, 2, 3]
    assert {"eval.json", "points.png"} <= set(os.listdir(out))


def test_two_trainers_of_one_process_are_two_runs(tmp_path):
    config = tiny_config(tmp_path / "run")
    first = quiet(config)
    with pytest.raises(RunError, match=f"in use by another Trainer of this process \\(pid "
                       f"{os.getpid()}, started .*close that one first"):
        quiet(config)
    first.close()
    with quiet(config) as second:
        second.fit()
    assert epochs_written(tmp_path / "run") == [1]


def test_a_refused_or_finished_run_lets_the_directory_go(tmp_path):
    config = tiny_config(tmp_path / "run")
    write_run(config.out)  # finished
    with pytest.raises(ConfigError) as refused:
        quiet(dataclasses.replace(config, batch_size=5), resume=True)
    assert refused.value is not None  # the refusal is still held here, its Trainer is not
    quiet(dataclasses.replace(config, epochs=2), resume=True).fit()
    assert epochs_written(tmp_path / "run") == [1, 2]


def test_resuming_where_there_is_no_directory_creates_none(tmp_path):
    with pytest.raises(CheckpointError, match="no checkpoint at .*train first"):
        quiet(tiny_config(tmp_path / "nowhere"), resume=True)
    assert not (tmp_path / "nowhere").exists()


@pytest.mark.parametrize("make", [os.mkdir, os.mkfifo], ids=["directory", "named pipe"])
def test_a_lock_file_that_is_not_a_file_is_named(tmp_path, make):
    out = tmp_path / "run"
    out.mkdir()
    make(out / "run.lock")
    with pytest.raises(RunError, match="run.lock is a .*, not a regular file: minivae keeps its"):
        quiet(tiny_config(out))


def test_a_file_system_without_locks_is_said_to_be_one(tmp_path, monkeypatch):
    def no_locks(file, operation):
        raise OSError(errno.ENOLCK, os.strerror(errno.ENOLCK))

    monkeypatch.setattr(run_lock.fcntl, "flock", no_locks)
    with pytest.raises(RunError, match="run.lock: No locks available .ENOLCK.; a run directory "
                       "must be on a file system with locks .flock., such as a local disk"):
        quiet(tiny_config(tmp_path / "run"))
