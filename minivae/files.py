"""Files: written all at once or not at all, appended durably, and read only when they are files.

    with atomic_write("runs/fashion/eval.json", "w") as f:
        json.dump(result, f)

Checkpoints, downloads, figures, eval.json and the rewritten metrics all go through
`atomic_write`; the metrics rows through `append_durably`. Readers of files a user names
(checkpoints, metrics, IDX files) open them with `open_regular_file`, which refuses a named pipe
(opening one waits forever for a writer), a directory or a device before opening anything.
"""

import contextlib
import os
import re
import secrets
import stat

REGULAR = "a regular file"
TEMPORARY = re.compile(r"\..+\.[0-9a-f]{16}\.tmp")  # what atomic_write names its temporary files


@contextlib.contextmanager
def atomic_write(path, mode="wb"):
    """Create or replace `path` with what the block writes to the file it is given.

    The content goes to a temporary file beside `path`, which is flushed to disk and only then
    renamed over `path`; the directory is flushed after the rename, so the rename itself survives
    a power cut. A crash at any moment leaves the old file or the new one, never half of one. If
    the block raises, the temporary file is removed and `path` is untouched; a process killed
    mid-write leaves it behind, named .<name>.<16 hex digits>.tmp (`remove_temporaries` finds
    those). The temporary file is opened with "x" (it must not exist yet), so the user's umask
    gives it the permissions of any new file.
    """
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    temporary = os.path.join(directory, f".{os.path.basename(path)}.{secrets.token_hex(8)}.tmp")
    file = open(temporary, "x" + mode.replace("w", ""))  # before `try`: only ours is removed
    try:
        with file:
            yield file
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        os.remove(temporary)
        raise
    fsync_directory(directory)


def append_durably(path, text):
    """Append `text` to the file at `path` and flush it to the disk before returning (and the
    directory entry too when this creates the file), so that whatever is written after it, such
    as the checkpoint after its epoch's metrics row, can never reach the disk before it."""
    path = os.fspath(path)
    created = not os.path.lexists(path)
    with open(path, "a") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    if created:
        fsync_directory(os.path.dirname(os.path.abspath(path)))


def remove_temporaries(directory):
    """Remove the temporary files `atomic_write` left in `directory` when killed mid-write (it
    never reached its clean-up); returns their names. Only regular files with its naming."""
    removed = []
    for entry in sorted(os.scandir(directory), key=lambda e: e.name):
        if TEMPORARY.fullmatch(entry.name) and entry.is_file(follow_symlinks=False):
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
        raise error(f"{path}: cannot be read ({err.strerror}); check the path") from None
    if kind is None:
        raise error(f"{path}: no such file")
    if kind != REGULAR:
        raise error(f"{path} is {kind}, not a regular file: {hint}")
    try:
        return open(path, "rb")
    except OSError as err:
        raise error(f"{path}: cannot be opened ({err.strerror}); check its permissions") from None


def fsync_directory(directory):
    """Flush a directory's entries (a file created, renamed or removed in it) to the disk."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
