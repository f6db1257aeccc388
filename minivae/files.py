"""Writing a file all at once or not at all, so that nothing a user had is ever half-overwritten.

    with atomic_write("runs/fashion/eval.json", "w") as f:
        json.dump(result, f)

Checkpoints, downloads, figures, eval.json and the rewritten metrics all go through here.
"""

import contextlib
import os
import secrets


@contextlib.contextmanager
def atomic_write(path, mode="wb"):
    """Create or replace `path` with what the block writes to the file it is given.

    The content goes to a temporary file beside `path`, which is flushed to disk and only then
    renamed over `path`; the directory is flushed after the rename, so the rename itself survives
    a power cut. A crash at any moment leaves the old file or the new one, never half of one. If
    the block raises, the temporary file is removed and `path` is untouched. The temporary file
    is opened with "x" (it must not exist yet), so the user's umask gives it the permissions of
    any new file.
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
    _fsync_directory(directory)


def _fsync_directory(directory):
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
