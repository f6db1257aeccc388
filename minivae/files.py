"""Files: written all at once or not at all, appended whole or not at all, read only when they
are files; and the operating system's refusals said in words.

    with atomic_write("runs/fashion/eval.json", "w") as f:
        json.dump(result, f)
    with writing("runs/fashion/eval.json", "nothing else was changed"):
        ...   # an OSError here (the disk full, say) becomes one WriteError saying so

Checkpoints, downloads, figures, eval.json and the rewritten metrics all go through
`atomic_write`; the metrics rows through `append_durably`. Readers of files a user names
(checkpoints, metrics, IDX files) open them with `open_regular_file`, which refuses a named pipe
(opening one waits forever for a writer), a directory or a device before opening anything.
`os_problem` says what an OSError is (a loop of symbolic links, a full disk, a file-size limit)
and what to do, for every message minivae makes of one.
"""

import contextlib
import errno
import fcntl
import os
import re
import secrets
import stat

from minivae.errors import WriteError

REGULAR = "a regular file"
TEMPORARY = re.compile(r"\..+\.[0-9a-f]{16}\.tmp")  # what atomic_write names its temporary files
# What the refusals a user can meet mean, and what to do; any other is said by its strerror.
OS_PROBLEMS = {
    errno.ELOOP: "a loop of symbolic links (ELOOP), each pointing on to the next and never to "
                 "a file: point the link at the file itself",
    errno.ENAMETOOLONG: "a name in the path is longer than the file system allows "
                        "(ENAMETOOLONG): use a shorter path",
    errno.EACCES: "permission denied (EACCES): check its permissions and those of the "
                  "directories above it",
    errno.EPERM: "operation not permitted (EPERM): check its permissions and those of the "
                 "directories above it",
    errno.ENOSPC: "no space left on the device (ENOSPC): make room",
    errno.EDQUOT: "the disk quota (EDQUOT) is used up: make room",
    errno.EFBIG: "the file would pass the largest file this process may write (EFBIG: a "
                 "file-size limit such as ulimit -f, or the file system's own)",
    errno.EROFS: "the file system is read-only (EROFS): use a writable directory",
    errno.EIO: "an input/output error (EIO): the disk or the network under the file failed",
    errno.EMFILE: "too many files open in this process (EMFILE): raise ulimit -n",
}


def os_problem(err):
    """What the OSError `err` is, in words, with what to do where that is known."""
    if err.errno in OS_PROBLEMS:
        return OS_PROBLEMS[err.errno]
    if err.errno is None:
        return str(err)
    return f"{err.strerror} ({errno.errorcode.get(err.errno, err.errno)})"


@contextlib.contextmanager
def writing(what, kept):
    """Run a block that writes `what` (words naming the file); an OSError it raises (the disk
    full, a file-size limit, a read-only file system) becomes one WriteError, "cannot write
    <what>: <os_problem>; <kept>", where `kept` says what is still on disk and how to go on."""
    try:
        yield
    except WriteError:
        raise
    except OSError as err:
        raise WriteError(f"cannot write {what}: {os_problem(err)}; {kept}") from None


@contextlib.contextmanager
def atomic_write(path, mode="wb"):
    """Create or replace `path` with what the block writes to the file it is given.

    The content goes to a temporary file beside `path`, which is flushed to disk and only then
    renamed over `path`; the directory is flushed after the rename, so the rename itself survives
    a power cut. A crash at any moment leaves the old file or the new one, never half of one. If
    the block raises, the temporary file is removed and `path` is untouched; a process killed
    mid-write leaves it behind, named .<name>.<16 hex digits>.tmp (`remove_temporaries` finds
    those). The temporary file is opened with "x" (it must not exist yet), so the user's umask
    gives it the permissions of any new file, and locked (flock) until it is renamed, so that
    `remove_temporaries` in another process tells it from one a killed write left.
    """
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    # opened before `try`: the clean-up below removes only a temporary file of ours
    temporary, file = _locked_temporary(directory, os.path.basename(path), mode)
    try:
        with file:
            yield file
            file.flush()
            os.fsync(file.fileno())
            os.replace(temporary, path)  # while still open, so still locked
    except BaseException:
        with contextlib.suppress(FileNotFoundError):  # renamed already, if close() failed
            os.remove(temporary)
        raise
    fsync_directory(directory)


def _locked_temporary(directory, name, mode):
    """(path, file) of a new temporary file for `name` in `directory`, open for writing in
    `mode` and locked, so `remove_temporaries` leaves it alone while it is written. On a file
    system without locks it is only opened."""
    while True:
        temporary = os.path.join(directory, f".{name}.{secrets.token_hex(8)}.tmp")
        file = open(temporary, "x" + mode.replace("w", ""))
        with contextlib.suppress(OSError):
            fcntl.flock(file, fcntl.LOCK_EX)
        if os.fstat(file.fileno()).st_nlink:  # not removed in the instant before it was locked
            return temporary, file
        file.close()


def append_durably(path, text):
    """Append `text` to the file at `path` and flush it to the disk before returning (and the
    directory entry too when this creates the file), so that whatever is written after it, such
    as the checkpoint after its epoch's metrics row, can never reach the disk before it.

    The text is appended whole or not at all: when a write fails midway (the disk full, a
    file-size limit), the file is cut back to its length before (or removed, if this call
    created it) and the OSError raised."""
    path = os.fspath(path)
    created = not os.path.lexists(path)
    with open(path, "ab", buffering=0) as f:  # unbuffered: each write goes to the file at once
        length = f.tell()
        try:
            data = memoryview(text.encode())
            while data:  # a write may take only the first part of the data
                data = data[os.write(f.fileno(), data) :]
            os.fsync(f.fileno())
        except BaseException:
            f.truncate(length)
            if created:
                os.remove(path)
            raise
    if created:
        fsync_directory(os.path.dirname(os.path.abspath(path)))


def remove_temporaries(directory):
    """Remove the temporary files `atomic_write` left in `directory` when killed mid-write (it
    never reached its clean-up); returns their names. Only regular files with its naming, and
    only those no atomic_write holds locked: one being written now, by any process, stays."""
    removed = []
    for entry in sorted(os.scandir(directory), key=lambda e: e.name):
        if TEMPORARY.fullmatch(entry.name) and entry.is_file(follow_symlinks=False):
            try:
                file = open(entry.path, "rb")
            except OSError:  # another user's, say: whether it is being written is not known
                continue
            with file:
                try:
                    fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    continue  # being written
                os.remove(entry.path)
            removed.append(entry.name)
    return removed


def file_kind(path):
    """What is at `path`: REGULAR, "a directory", "a named pipe", "a device or socket", or None
    when nothing is (a missing file, or a path through something that is not a directory).
    Asked of the file system (os.stat, following links) without opening anything."""
    try:
        mode = os.stat(path).st_mode
    except (FileNotFoundError, NotADirectoryError):
        return None
    if stat.S_ISREG(mode):
        return REGULAR
    if stat.S_ISDIR(mode):
        return "a directory"
    return "a named pipe" if stat.S_ISFIFO(mode) else "a device or socket"


def open_regular_file(path, error, hint):
    """`path` opened for binary reading, after checking (without opening it) that it is a regular
    file; otherwise `error` (a MinivaeError class) naming the path, what is there, and `hint`,
    what to pass instead."""
    try:
        kind = file_kind(path)
    except OSError as err:
        raise error(f"{path}: cannot be read: {os_problem(err)}") from None
    if kind is None:
        raise error(f"{path}: no such file")
    if kind != REGULAR:
        raise error(f"{path} is {kind}, not a regular file: {hint}")
    try:
        return open(path, "rb")
    except OSError as err:
        raise error(f"{path}: cannot be opened: {os_problem(err)}") from None


def fsync_directory(directory):
    """Flush a directory's entries (a file created, renamed or removed in it) to the disk."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
