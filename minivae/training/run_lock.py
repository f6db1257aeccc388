"""One run at a time in a run directory: its lock file, run.lock, held while a run is there.

    lock = RunLock.take("runs/fashion")   # a RunError naming the run that holds it, if one does
    ...                                    # train
    lock.release()

The lock is the operating system's (flock on runs/fashion/run.lock) and belongs to the open
file: it is released by `release`, or when the process ends, however it ends, so a run that was
killed never blocks the next. While a run holds it, the file holds one line naming that run, its
process id and when it started, which a run refused there quotes. Two Trainers of one process
are two runs as well: the second is refused until the first is closed.

Reading a run (`minivae eval`, `sample`, `figures`) takes no lock: a checkpoint is replaced
whole (minivae.files.atomic_write), so a reader sees the last one written, whole.
"""

import fcntl
import os
import time

from minivae.errors import RunError
from minivae.files import REGULAR, file_kind, os_problem, writing

LOCK = "run.lock"
MAX_HOLDER_BYTES = 200  # of the holder's line quoted in a refusal
HOLDER_WAIT = 0.01, 50  # seconds between reads of an empty lock file, and how many reads


class RunLock:
    """The lock of one run directory, held from `take` until `release`."""

    def __init__(self, path, file):
        self.path, self.file = path, file

    @classmethod
    def take(cls, run_dir):
        """Lock the existing directory `run_dir` for this run, or a RunError that names the run
        holding it (or says why it cannot be locked)."""
        path = _lock_path(run_dir)
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        except OSError as err:
            raise RunError(f"cannot open the lock file {path}: {os_problem(err)}") from None
        file = os.fdopen(fd, "r+b", buffering=0)  # closed (and so unlocked) with the object
        try:
            fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder_line(file)
            file.close()
            raise RunError(_refusal(run_dir, holder)) from None
        except OSError as err:  # a file system without locks
            file.close()
            raise RunError(f"cannot lock {path}: {os_problem(err)}; a run directory must be on "
                           "a file system with locks (flock), such as a local disk") from None
        lock = cls(path, file)
        try:
            with writing(f"the lock file {path}", "nothing of the run was written"):
                file.truncate(0)
                file.write(_holder().encode())
        except BaseException:
            lock.release()
            raise
        return lock

    @staticmethod
    def refuse_if_held(run_dir):
        """The RunError `take` would raise if a run holds `run_dir` now; nothing otherwise (and
        nothing is created or written)."""
        path = _lock_path(run_dir)
        try:
            file = open(path, "rb")
        except OSError:  # none there, or unreadable: `take` will say
            return
        with file:
            try:
                fcntl.flock(file, fcntl.LOCK_SH | fcntl.LOCK_NB)  # let go when the file closes
            except BlockingIOError:
                raise RunError(_refusal(run_dir, _holder_line(file))) from None
            except OSError:  # no locks on this file system: `take` will say
                return

    def release(self):
        """Let another run have the directory (its line is cleared first). Idempotent."""
        if self.file is None:
            return
        try:
            self.file.truncate(0)
        finally:
            self.file.close()
            self.file = None


def _lock_path(run_dir):
    """run_dir's lock file, after checking that nothing else is in its place (a named pipe
    would make opening it wait for a writer)."""
    path = os.path.join(run_dir, LOCK)
    try:
        kind = file_kind(path)
    except OSError as err:
        raise RunError(f"cannot read the lock file {path}: {os_problem(err)}") from None
    if kind not in (None, REGULAR):
        raise RunError(f"{path} is {kind}, not a regular file: minivae keeps its lock there; "
                       "move it away, or train with another --out")
    return path


def _holder_line(file):
    """The line of the run holding the lock `file` is open on. It writes it just after taking
    the lock, so an empty file is read again a few times before giving up."""
    pause, reads = HOLDER_WAIT
    for _ in range(reads):
        line = os.pread(file.fileno(), MAX_HOLDER_BYTES, 0).decode(errors="replace").strip()
        if line:
            return line
        time.sleep(pause)
    return ""


def _holder():
    """This process's line in run.lock: 'pid 4242, started 2026-12-03 14:05:09 +0100'."""
    return f"pid {os.getpid()}, started {time.strftime('%Y-%m-%d %H:%M:%S %z')}"


def _refusal(run_dir, holder):
    """The RunError message for a run refused because `holder` (its line) holds `run_dir`."""
    if holder.startswith(f"pid {os.getpid()},"):
        return (f"{run_dir} is in use by another Trainer of this process ({holder}): one run at "
                "a time in a run directory; close that one first (trainer.close(), or train "
                "inside `with Trainer(...) as trainer:`)")
    holder = holder or "which has not yet written its pid"
    return (f"{run_dir} is in use by another run ({holder}): one run at a time in a run "
            "directory; wait for that one to end, or stop it, or train with another --out")
