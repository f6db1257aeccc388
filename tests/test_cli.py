"""The command line end to end: train, figures, eval, sample, gradcheck, and clear errors."""

import json
import os
import subprocess
import sys

import pytest

from minivae.cli import main
from minivae.models.gradcheck_cases import MODEL_CASES
from minivae.ops.gradcheck_cases import CASES, MODES, forms
from minivae.ops.vae import GaussianKL

TINY = ["--dataset", "sprites", "--limit", "400", "--epochs", "2", "--hidden", "32",
        "--latent-dim", "2", "--quiet"]


def test_train_writes_checkpoint_metrics_and_every_figure(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    out = tmp_path / "run"
    assert main(["train", *TINY, "--out", str(out)]) == 0
    files = set(os.listdir(out))
    expected = {
        "checkpoint.npz", "metrics.jsonl", "curves.png", "reconstructions.png", "samples.png",
        "interpolations.png", "traversals.png", "manifold.png", "latent.png",
    }
    assert expected <= files, expected - files
    assert any(name.startswith("latent-") for name in files)  # one scatter per sprite factor
    printed = capsys.readouterr().out
    assert "epoch   2" in printed and "figure:" in printed


def test_eval_and_sample_on_a_trained_run(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    out = tmp_path / "run"
    main(["train", *TINY, "--out", str(out), "--no-figures"])
    assert main(["eval", str(out), "--k", "20", "--n-test", "50"]) == 0
    result = json.loads((out / "eval.json").read_text())
    assert result["iwae_k"] == 20 and result["test_examples"] == 50
    assert result["iwae_neg_log_likelihood"] <= result["test_neg_elbo"] + 1.0
    assert len(result["kl_per_dim"]) == 2 and 0 <= result["active_units"] <= 2
    assert "protocol:" in capsys.readouterr().out
    assert main(["sample", str(out), "--n", "16"]) == 0
    assert (out / "samples-0.png").exists()


def test_resume_with_more_epochs_continues_the_run(tmp_path):
    out = tmp_path / "run"
    main(["train", *TINY, "--out", str(out), "--no-figures"])
    assert (
        main(["train", "--out", str(out), "--resume", "--epochs", "3", "--no-figures", "--quiet"])
        == 0
    )
    rows = (out / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(r)["epoch"] for r in rows] == [1, 2, 3]


def test_errors_are_one_clear_line_with_exit_status_2(tmp_path, capsys):
    assert main(["train", "--dataset", "cifar", "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert "cifar" in err and "sprites" in err and "Traceback" not in err
    assert main(["eval", str(tmp_path / "nowhere")]) == 2
    assert "no checkpoint at" in capsys.readouterr().err


def test_gradcheck_command_prints_every_op_in_every_form_passing():
    done = subprocess.run(
        [sys.executable, "-m", "minivae", "gradcheck", "--draws", "1"],
        capture_output=True, text=True, check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    expected = [(c.name, f.label) for c in CASES for f in forms(c.function)]
    expected += [(c.name, mode) for c in MODEL_CASES for mode in MODES]
    table = lines[1:-1]
    assert [(line[:22].strip(), line[23:29].strip()) for line in table] == expected
    assert all(line.rstrip().endswith("pass") for line in table)
    assert lines[-1].startswith(f"{len(expected)} of {len(expected)} passed on numpy")


def test_gradcheck_command_fails_on_a_wrong_backward(monkeypatch, capsys):
    correct = GaussianKL.backward
    monkeypatch.setattr(GaussianKL, "backward", staticmethod(lambda ctx, g: tuple(
        2 * grad for grad in correct(ctx, g))))
    assert main(["gradcheck", "--draws", "1"]) == 1
    table = capsys.readouterr().out.splitlines()
    failed = [line.split()[0] for line in table if line.rstrip().endswith("FAIL")]
    assert failed == ["gaussian_kl", "vae_loss", "vae_loss"]  # the op, and the plain losses


@pytest.mark.parametrize(
    "dataset, expected",
    [("moons", "points.png"), ("sprites", "reconstructions.png")],
)
def test_gaussian_likelihood_runs_draw_their_figures(tmp_path, dataset, expected):
    pytest.importorskip("matplotlib")
    out = tmp_path / dataset
    args = ["--dataset", dataset, "--likelihood", "gaussian", "--limit", "300", "--epochs", "1"]
    assert main(["train", *args, "--hidden", "16", "--quiet", "--out", str(out)]) == 0
    assert (out / expected).exists() and (out / "latent.png").exists()


def test_eval_of_an_autoencoder_reports_its_reconstruction(tmp_path, capsys):
    out = tmp_path / "ae"
    main(["train", *TINY, "--model", "autoencoder", "--out", str(out), "--no-figures"])
    assert main(["eval", str(out)]) == 0
    assert "autoencoder on 400 test examples" in capsys.readouterr().out


def test_asking_for_the_gpu_without_cupy_is_a_clear_error(tmp_path, capsys):
    from minivae import backend

    if backend.cupy is not None:
        pytest.skip("CuPy is installed here")
    assert main(["train", *TINY, "--device", "gpu", "--out", str(tmp_path / "g")]) == 2
    assert 'needs CuPy and a GPU: pip install "minivae[gpu-cuda13]"' in capsys.readouterr().err
