"""Other processes, for the tests of what happens between processes: a run held open in a child
process, a command run under a file-size limit (a full disk, for the files it writes)."""

import contextlib
import dataclasses
import json
import os
import resource
import signal
import subprocess
import sys

SECONDS = 120  # the most a child may take, however loaded the machine
ENV = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "MPLBACKEND": "Agg",
       "OPENBLAS_NUM_THREADS": "1"}
# A child that builds the Trainer of a config (so holds its run directory until it ends), says
# so, waits for a line on stdin, then trains; a MinivaeError is one line on stderr and exit
# status 2, as from the command line. argv: the config as JSON, "resume" or "new", and "stop"
# to stop the first epoch after its first batch (as Ctrl-C does), writing that checkpoint.
TRAINER = """
import json, sys
from minivae.errors import MinivaeError
from minivae.training.trainer import Interrupted, TrainConfig, Trainer

config = TrainConfig(**json.loads(sys.argv[1]))
try:
    trainer = Trainer(config, resume=sys.argv[2] == "resume", log=lambda _: None)
    print("holding", flush=True)
    sys.stdin.readline()
    if sys.argv[3:] == ["stop"]:
        trainer.run_epoch(stop=type("Stop", (), {"requested": True})())
    else:
        trainer.fit()
except Interrupted:
    pass
except MinivaeError as err:
    print(err, file=sys.stderr)
    sys.exit(2)
"""


def trainer_child(config, resume=False, stop=False, preexec_fn=None):
    """A Popen of the TRAINER child for `config` (text pipes on stdin, stdout and stderr)."""
    argv = [json.dumps(dataclasses.asdict(config)), "resume" if resume else "new"]
    return subprocess.Popen([sys.executable, "-c", TRAINER, *argv, *(["stop"] if stop else [])],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=ENV, preexec_fn=preexec_fn)


@contextlib.contextmanager
def held_run(config, resume=False):
    """A child process holding `config`'s run directory while the block runs; yields its Popen.
    After the block it trains and ends (unless the block ended it), and must end well."""
    child = trainer_child(config, resume)
    try:
        line = child.stdout.readline()
        assert line == "holding\n", (line, child.stderr.read())
        yield child
        if child.poll() is None:
            out, err = child.communicate("go\n", timeout=SECONDS)
            assert child.returncode == 0, err
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()


def file_size_limit(max_bytes):
    """A preexec_fn: no file of the child may grow past `max_bytes` (RLIMIT_FSIZE), and a write
    that would is refused with EFBIG (SIGXFSZ, which would kill the process, is ignored)."""

    def limit():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (max_bytes, max_bytes))

    return limit


def limited_command(argv, max_bytes):
    """`python -m minivae <argv>` with files limited to `max_bytes`; the CompletedProcess."""
    return subprocess.run([sys.executable, "-m", "minivae", *argv], capture_output=True,
                          text=True, env=ENV, timeout=SECONDS,
                          preexec_fn=file_size_limit(max_bytes))


def limited_trainer(config, max_bytes, resume=False, stop=False):
    """The TRAINER child for `config` with files limited to `max_bytes`, run to its end:
    (exit status, stderr)."""
    child = trainer_child(config, resume, stop, preexec_fn=file_size_limit(max_bytes))
    _, err = child.communicate("go\n", timeout=SECONDS)
    return child.returncode, err
