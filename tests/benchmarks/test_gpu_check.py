"""The prepared GPU check runs here as far as it goes: without a GPU it says why and skips."""

import os
import subprocess
import sys

import pytest
from support import ROOT

from minivae import backend


@pytest.mark.skipif(backend.why_no_gpu() is None, reason="a GPU is here: the check would run")
def test_the_gpu_check_script_skips_every_gpu_part_and_says_why(tmp_path):
    log = tmp_path / "gpu_check.log"
    env = dict(os.environ, PYTHON=sys.executable)
    done = subprocess.run(["bash", os.path.join(ROOT, "benchmarks", "gpu_check.sh"), str(log)],
                          capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    text = log.read_text()
    assert "=== versions" in text and "numpy" in text
    assert f"no GPU here: {backend.why_no_gpu()}" in text
    assert "skipped" in text and "FAILED" not in text


@pytest.mark.skipif(backend.why_no_gpu() is None, reason="a GPU is here: they would run")
@pytest.mark.parametrize("script", ["sample_kl.py", "vae_gpu.py"])
def test_the_gpu_benchmarks_say_why_they_cannot_run(script):
    done = subprocess.run([sys.executable, os.path.join(ROOT, "benchmarks", script)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert f"needs a GPU: {backend.why_no_gpu()}" in done.stdout
