"""The prepared GPU check runs here as far as it goes: without a GPU it skips what needs one,
saying why, and runs the rest (notebook 9 as a script, the benchmarks' choice of data).

Where `unshare` may make namespaces (a Linux machine that allows user namespaces), it runs with
no network and an empty folder mounted over /usr/share/datasets, as on the GPU machine, which
has neither; elsewhere it runs as it is, with an empty cache and no MINIVAE_DATA."""

import os
import re
import shutil
import subprocess
import sys

import pytest
from support import ROOT

from minivae import backend

SCRIPT = ROOT / "benchmarks" / "gpu_check.sh"
FIRST_PART_LIMIT = 300  # seconds: a call on the GPU machine may run 600, and its start counts


def isolated(tmp_path):
    """The command prefix that hides the network and Debian's datasets, or [] where not allowed."""
    command = ["unshare", "--mount", "--net", "--map-root-user"]
    if shutil.which("unshare") is None or subprocess.run([*command, "true"]).returncode != 0:
        return []
    empty = tmp_path / "empty"
    empty.mkdir()
    return [*command, "bash", "-c", f'mount --bind {empty} /usr/share/datasets; exec "$@"', "--"]


def run_check(tmp_path, part):
    """Run one part of the check the way the GPU machine does, OUT unset; (log text, isolated)."""
    prefix = isolated(tmp_path)
    env = {k: v for k, v in os.environ.items() if k not in ("OUT", "MINIVAE_DATA")}
    env.update(PYTHON=sys.executable, TMPDIR=str(tmp_path), XDG_CACHE_HOME=str(tmp_path / "cache"))
    done = subprocess.run([*prefix, "bash", str(SCRIPT), part], capture_output=True, text=True,
                          env=env, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    logs = list(tmp_path.glob(f"gpu_check_{part}.*"))
    assert len(logs) == 1, "the log goes to $TMPDIR when OUT is unset"
    text = logs[0].read_text()
    assert text == done.stdout, "the log is whole when the script has ended (tee waited for)"
    return text, bool(prefix)


def limits(text):
    return int(re.search(r"the time limits of its steps \(versions included\) add up to (\d+) s",
                         text)[1])


@pytest.mark.skipif(backend.why_no_gpu() is None, reason="a GPU is here: the check would run")
def test_the_first_part_runs_up_to_its_gpu_steps_within_its_time_limits(tmp_path):
    text, isolated_run = run_check(tmp_path, "first")
    assert "=== versions" in text and "numpy" in text
    assert f"no GPU here: {backend.why_no_gpu()}" in text
    assert text.count("--- skipped: no GPU here") == 2  # compiling, gradcheck
    assert "--- GPU tests (pytest -m gpu): passed" in text
    assert "--- notebook 9 as a script (notebooks/09_on_the_gpu.py): passed" in text
    assert "data: the sprites minivae generates (nothing to download)" in text
    assert "FAILED" not in text and "TIMED OUT" not in text
    assert limits(text) < FIRST_PART_LIMIT
    assert text.rstrip().splitlines()[-1].startswith("=== done: every step passed")
    assert not (ROOT / "gpu_check.log").exists()


@pytest.mark.skipif(backend.why_no_gpu() is None, reason="a GPU is here: the check would run")
def test_the_second_part_says_which_data_it_would_train_on(tmp_path):
    text, isolated_run = run_check(tmp_path, "second")
    assert "FAILED" not in text and "TIMED OUT" not in text
    assert limits(text) < 600  # one call on the GPU machine
    if isolated_run:  # no Fashion-MNIST anywhere: the sprites, and why
        assert "data: the sprites minivae generates: Fashion-MNIST is not on this machine" in text
    else:
        assert "data: " in text


@pytest.mark.skipif(backend.why_no_gpu() is None, reason="a GPU is here: they would run")
@pytest.mark.parametrize("script", ["sample_kl.py", "vae_gpu.py", "matmul.py"])
def test_the_gpu_benchmarks_say_why_they_cannot_run(script):
    done = subprocess.run([sys.executable, os.path.join(ROOT, "benchmarks", script)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert f"needs a GPU: {backend.why_no_gpu()}" in done.stdout
