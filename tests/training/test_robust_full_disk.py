"""A full disk at each write a run makes: its lock file, the first metrics row, the first
checkpoint, a later row, a later checkpoint, the checkpoint of a run stopped mid-epoch (Ctrl-C),
the metrics rewritten when it resumes, its figures; and `minivae eval`'s eval.json.

Each write is made to fail for real, in a child process whose files may not grow past a size
(RLIMIT_FSIZE: the write fails with EFBIG, as it would with ENOSPC on a full disk), the size
chosen from the files already there so that this write is the first to pass it. Each failure
must be one line saying what could not be written, where, why, and what is kept; the files must
be as they were (but a row past the checkpoint, which a resume drops), with no temporary file
left; and the run, continued once there is room, must be bit for bit the run never stopped."""

import dataclasses
import os
import shutil

import numpy as np
import pytest
from support.checkpoint_files import tiny_config
from support.processes import limited_command, limited_trainer

from minivae.cli import main
from minivae.training.checkpoint import load_checkpoint
from minivae.training.run_dir import read_metrics

FLAGS = ["--dataset", "moons", "--limit", "12", "--batch-size", "4", "--hidden", "3",
         "--latent-dim", "1", "--quiet"]
EPOCHS = 3
EFBIG = "the file would pass the largest file this process may write (EFBIG"
LAST_GOOD = "the last good checkpoint, {out}/checkpoint.npz, is kept: once there is room, run the"
NONE_YET = "no checkpoint had been written yet: once there is room, start the run again"


@dataclasses.dataclass
class Case:
    before: int  # epochs trained (without a limit) before the limited command
    command: str  # "new", "resume", "resume with figures", or "resume, Ctrl-C after a batch"
    limit: object  # (run directory) -> the largest file size the limited command may write
    what: str  # what the one line says could not be written ({out}: the run directory)
    kept: str  # what it says is kept
    row_added: bool = False  # the failed write came after the epoch's row, which stays


CASES = {
    "lock file": Case(0, "new", lambda out: 0, "the lock file {out}/run.lock",
                      "nothing of the run was written"),
    "first row": Case(0, "new", lambda out: 100, "epoch 1's row to {out}/metrics.jsonl",
                      NONE_YET),
    "first checkpoint": Case(0, "new", lambda out: 1000, "{out}/checkpoint.npz", NONE_YET,
                             row_added=True),
    "later row": Case(1, "resume", lambda out: size(out, "metrics.jsonl"),
                      "epoch 2's row to {out}/metrics.jsonl", LAST_GOOD),
    "later checkpoint": Case(1, "resume", lambda out: size(out, "checkpoint.npz") // 2,
                             "{out}/checkpoint.npz", LAST_GOOD, row_added=True),
    "Ctrl-C checkpoint": Case(1, "resume, Ctrl-C after a batch",
                              lambda out: size(out, "checkpoint.npz") // 2,
                              "{out}/checkpoint.npz", LAST_GOOD),
    "metrics rewrite": Case(2, "resume", lambda out: size(out, "metrics.jsonl") - 1,
                            "the rows of the epochs kept to {out}/metrics.jsonl",
                            "it is kept as it was, and so is checkpoint.npz: once there is room"),
    "figures": Case(2, "resume with figures", lambda out: size(out, "checkpoint.npz") + 1024,
                    "the figures in {out}", "the run itself is saved (its checkpoint and "
                    "metrics): once there is room, draw them with minivae figures {out}"),
}


def size(out, name):
    return os.path.getsize(out / name)


def train(out, epochs, *extra):
    return main(["train", *FLAGS, "--no-figures", "--epochs", str(epochs), "--out", str(out),
                 *extra])


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The run never stopped."""
    out = tmp_path_factory.mktemp("reference") / "run"
    assert train(out, EPOCHS) == 0
    return out


def files(out):
    """{name: bytes} of the run's checkpoint and metrics, those that exist."""
    return {name: (out / name).read_bytes() for name in ("checkpoint.npz", "metrics.jsonl")
            if (out / name).exists()}


def run_limited(case, out):
    """The case's command with its limit: (exit status, stderr, the line's prefix)."""
    limit = case.limit(out)
    if case.command == "resume, Ctrl-C after a batch":
        status, err = limited_trainer(tiny_config(out, epochs=EPOCHS), limit, resume=True,
                                      stop=True)
        return status, err, ""
    figures = [] if case.command == "resume with figures" else ["--no-figures"]
    resume = [] if case.command == "new" else ["--resume"]
    done = limited_command(["train", *FLAGS, *figures, *resume, "--epochs", str(EPOCHS),
                            "--out", str(out)], limit)
    return done.returncode, done.stderr, "minivae train: "


def assert_same_run(out, reference):
    a, b = (load_checkpoint(d / "checkpoint.npz") for d in (out, reference))
    assert a.meta["epoch"] == b.meta["epoch"] == EPOCHS
    for name in b.params:
        np.testing.assert_array_equal(a.params[name], b.params[name], err_msg=name)
    for group in ("optimizer", "arrays"):
        assert getattr(a, group).keys() == getattr(b, group).keys()
    rows = [[{k: v for k, v in row.items() if k != "epoch_seconds"}
             for row in read_metrics(d / "metrics.jsonl")] for d in (out, reference)]
    assert rows[0] == rows[1]


@pytest.mark.parametrize("name", CASES)
def test_a_full_disk_at_each_write_is_one_line_and_loses_nothing(tmp_path, reference, name):
    case = CASES[name]
    if case.command == "resume with figures":
        pytest.importorskip("matplotlib.font_manager")  # its font cache, written before the limit
    out = tmp_path / "run"
    if case.before:
        assert train(out, case.before) == 0
    before = files(out)

    status, err, prefix = run_limited(case, out)

    assert status == 2 and err.count("\n") == 1, err
    what, kept = case.what.format(out=out), case.kept.format(out=out)
    assert err.startswith(f"{prefix}cannot write {what}: {EFBIG}") and kept in err, err
    assert [n for n in os.listdir(out) if n.endswith(".tmp")] == []
    after = files(out)
    if case.command == "resume with figures":  # the run itself ended: only figures are missing
        assert [r["epoch"] for r in read_metrics(out / "metrics.jsonl")] == [1, 2, 3]
        assert main(["figures", str(out)]) == 0
    elif case.row_added:  # the epoch's row went to disk first; the checkpoint is as it was
        assert after.get("checkpoint.npz") == before.get("checkpoint.npz")
        rows = read_metrics(out / "metrics.jsonl")
        assert after["metrics.jsonl"].startswith(before.get("metrics.jsonl", b""))
        assert [r["epoch"] for r in rows] == list(range(1, case.before + 2))
    else:
        assert after == before

    # once there is room, the run goes on as the line says, to the same end as if never stopped
    if NONE_YET in case.kept:
        shutil.rmtree(out)
    resume = ["--resume"] if (out / "checkpoint.npz").exists() else []
    assert train(out, EPOCHS, *resume) == 0
    assert_same_run(out, reference)


def test_a_full_disk_for_eval_json_keeps_the_numbers_printed(tmp_path, reference):
    out = tmp_path / "run"
    shutil.copytree(reference, out)
    done = limited_command(["eval", str(out), "--k", "3"], 10)
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith(f"minivae eval: cannot write {out}/eval.json: {EFBIG}")
    assert "the numbers above are what it would hold" in done.stderr
    assert "-log p(x) IWAE" in done.stdout
    assert sorted(os.listdir(out)) == sorted(os.listdir(reference))
