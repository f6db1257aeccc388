"""What the operating system refuses, said for what it is: a loop of symbolic links (ELOOP), a name
too long, a full disk or a file-size limit, each named in the one line minivae prints instead of
a generic "check its permissions". Also the two writers: a row is appended whole or not at all,
and a temporary file that is being written is never removed as the leftover of a killed write."""

import errno
import os

import pytest
from support.checkpoint_files import tiny_config

from minivae import files
from minivae.data import load_dataset
from minivae.data.idx import read_idx
from minivae.data.sources import FILENAMES
from minivae.errors import MinivaeError
from minivae.training.checkpoint import load_checkpoint
from minivae.training.run_dir import read_metrics
from minivae.training.trainer import Trainer

LOOP = "a loop of symbolic links (ELOOP)"


def looped(path):
    """Make `path` a symbolic link to a link that points back to it."""
    os.symlink(f"{path}.other", path)
    os.symlink(path, f"{path}.other")
    return path


def dataset_file(tmp_path):
    for name in FILENAMES[1:]:
        (tmp_path / name).write_bytes(b"")  # never read: the search stops at the first file
    looped(tmp_path / FILENAMES[0])
    load_dataset("mnist", data_dir=str(tmp_path), download=False)


def idx_file(tmp_path):
    read_idx(looped(tmp_path / "images.idx"))


def checkpoint(tmp_path):
    load_checkpoint(looped(tmp_path / "checkpoint.npz"))


def metrics(tmp_path):
    read_metrics(looped(tmp_path / "metrics.jsonl"))


def run_directory(tmp_path):
    Trainer(tiny_config(looped(tmp_path / "run")), log=lambda _: None)


@pytest.mark.parametrize("read", [dataset_file, idx_file, checkpoint, metrics, run_directory])
def test_a_symbolic_link_loop_is_named_for_what_it_is(tmp_path, read):
    with pytest.raises(MinivaeError) as error:
        read(tmp_path)
    message = str(error.value)
    assert LOOP in message and "permissions" not in message and "\n" not in message, message


def test_a_name_too_long_for_the_file_system_is_named(tmp_path):
    long = tmp_path / ("d" * 300)
    with pytest.raises(MinivaeError) as error:
        load_dataset("mnist", data_dir=str(long), download=False)
    assert "longer than the file system allows (ENAMETOOLONG)" in str(error.value)
    assert "permissions" not in str(error.value)


@pytest.mark.parametrize(
    "code, words",
    [(errno.ENOSPC, "no space left on the device (ENOSPC)"),
     (errno.EFBIG, "largest file this process may write (EFBIG"),
     (errno.EDQUOT, "disk quota (EDQUOT)"), (errno.EROFS, "read-only (EROFS)"),
     (errno.EACCES, "permission denied (EACCES)"), (errno.ELOOP, LOOP),
     (errno.EIO, "input/output error (EIO)"), (errno.EXDEV, "Invalid cross-device link (EXDEV)")],
)
def test_each_kind_of_refusal_is_said_in_words(code, words):
    assert words in files.os_problem(OSError(code, os.strerror(code)))


def test_an_os_error_without_a_number_is_said_as_it_is():
    assert files.os_problem(OSError("the network went away")) == "the network went away"


def dying_write(monkeypatch, after):
    """Make os.write write `after` bytes and then fail as a full disk does."""
    write = os.write

    def half(fd, data):
        if len(data) > after:
            write(fd, bytes(data[:after]))
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return write(fd, data)

    monkeypatch.setattr(os, "write", half)


def test_a_row_that_cannot_be_appended_whole_is_not_appended_at_all(tmp_path, monkeypatch):
    path = tmp_path / "metrics.jsonl"
    files.append_durably(path, '{"epoch": 1}\n')
    dying_write(monkeypatch, after=5)
    with pytest.raises(OSError, match="No space left"):
        files.append_durably(path, '{"epoch": 2}\n')
    assert path.read_text() == '{"epoch": 1}\n'


def test_a_file_the_failed_append_would_have_created_is_not_left(tmp_path, monkeypatch):
    dying_write(monkeypatch, after=5)
    with pytest.raises(OSError, match="No space left"):
        files.append_durably(tmp_path / "metrics.jsonl", '{"epoch": 1}\n')
    assert os.listdir(tmp_path) == []


def test_a_temporary_file_being_written_is_not_removed_as_left_over(tmp_path):
    with files.atomic_write(tmp_path / "eval.json", "w") as f:
        f.write("{")
        assert files.remove_temporaries(tmp_path) == []  # another process starting a run there
        f.write("}")
    assert (tmp_path / "eval.json").read_text() == "{}"
    left = tmp_path / ".eval.json.0123456789abcdef.tmp"  # one a killed write left
    left.write_text("{")
    assert files.remove_temporaries(tmp_path) == [left.name]
