"""minivae on CuPy: every op against NumPy, the gradient check, training, evaluation, figures,
checkpoints across devices and the CUDA-graph step. Each test runs on the GPU (skipped, with the
reason, without one) and on the CuPy stand-in (tests/conftest.py), which runs the same code on
NumPy and the kernels' CPU emulation and refuses launch, capture and stream-order mistakes: a
test aid for CI, not a GPU.

The fused op's kernels have their own tests (tests/accel/test_gpu_sample_kl.py)."""

import dataclasses
import types

import numpy as np
import pytest

from minivae import backend
from minivae.cli import main
from minivae.models.gradcheck_cases import MODEL_CASES
from minivae.ops.gradcheck_cases import (
    CASES,
    RandomPicker,
    forms,
    on_device,
    outputs_and_gradients,
)
from minivae.plots.figures import write_figures
from minivae.training import evaluate
from minivae.training.run_dir import SavedRun, load_run, read_metrics
from minivae.training.trainer import TrainConfig, Trainer

CUPY = types.SimpleNamespace(__name__="cupy")  # forms() reads only the module's name
CUPY_FORMS = [(c, f) for c in CASES for f in forms(c.function, CUPY)]
SMALL = dict(dataset="sprites", limit=512, epochs=2, batch_size=64, hidden=(32,), latent_dim=4,
             dtype="float64", warmup_epochs=1.0)


def quiet(config, **kwargs):
    return Trainer(config, progress=False, log=lambda _: None, **kwargs)


@pytest.mark.parametrize(
    "case, form", CUPY_FORMS, ids=[f"{c.name}-{f.label}" for c, f in CUPY_FORMS]
)
@pytest.mark.parametrize("seed", range(3))
def test_every_op_on_cupy_computes_what_numpy_computes(cupy, case, form, seed):
    inputs = case.draw(RandomPicker(seed))
    on_cpu = outputs_and_gradients(case, inputs, "plain", seed)
    on_gpu = outputs_and_gradients(case, on_device(inputs, cupy), form.label, seed)
    for cpu, gpu in zip(on_cpu, on_gpu, strict=True):
        np.testing.assert_allclose(gpu, cpu, rtol=1e-10, atol=1e-12)


def test_the_gradient_check_passes_on_the_gpu(cupy, capsys):
    assert main(["gradcheck", "--device", "gpu", "--draws", "2"]) == 0
    assert "passed on cupy" in capsys.readouterr().out


@pytest.mark.parametrize("case", MODEL_CASES, ids=lambda c: c.name)
def test_the_whole_loss_on_the_gpu_equals_the_cpu(cupy, case):
    cpu_call, cpu_params = case.build(0)
    gpu_call, gpu_params = case.build(0, cupy)
    np.testing.assert_allclose(backend.to_numpy(gpu_call(*gpu_params).data),
                               cpu_call(*cpu_params).data, rtol=1e-10)


def test_training_on_the_gpu_follows_the_cpu_run(cupy, tmp_path):
    cpu = quiet(TrainConfig(**SMALL, out=str(tmp_path / "cpu")))
    gpu = quiet(TrainConfig(**SMALL, device="gpu", out=str(tmp_path / "gpu")))
    for row_cpu, row_gpu in zip(cpu.fit(), gpu.fit(), strict=True):
        for key in ("train_loss", "test_neg_elbo", "test_recon", "test_kl"):
            assert row_gpu[key] == pytest.approx(row_cpu[key], rel=1e-7), key


def test_a_gpu_checkpoint_reads_back_on_the_cpu_and_resumes_on_either(cupy, tmp_path):
    config = TrainConfig(**{**SMALL, "epochs": 1}, device="gpu", out=str(tmp_path / "run"))
    trained = quiet(config)
    trained.fit()
    on_cpu = load_run(config.out, device="cpu")
    assert on_cpu.model.xp is np
    x = on_cpu.test_x[:5]
    on_gpu = backend.to_numpy(trained.model.reconstruct(x))
    np.testing.assert_allclose(on_cpu.model.reconstruct(x), on_gpu, rtol=1e-10)
    trained.close()  # the directory's lock, for the resumed runs
    quiet(dataclasses.replace(config, epochs=2, device="cpu"), resume=True).fit()
    quiet(dataclasses.replace(config, epochs=3), resume=True).fit()  # back on the GPU
    assert [row["epoch"] for row in read_metrics(tmp_path / "run" / "metrics.jsonl")] == [1, 2, 3]


def test_evaluation_and_figures_run_on_the_gpu(cupy, tmp_path):
    config = TrainConfig(**{**SMALL, "epochs": 1}, device="gpu", out=str(tmp_path / "run"))
    trainer = quiet(config)
    trainer.fit()
    model_cpu = load_run(config.out, device="cpu").model
    x = trainer.test_x[:50]
    gpu = evaluate.iwae_negative_log_likelihood(trainer.model, x, k=16)
    cpu = evaluate.iwae_negative_log_likelihood(model_cpu, x, k=16)
    assert gpu == pytest.approx(cpu, rel=1e-9)
    run = SavedRun(config, trainer.model, trainer.test_set, trainer.test_x)
    assert len(write_figures(run, config.out)) >= 6


def test_a_cuda_graph_step_trains_like_the_eager_step(cupy, tmp_path):
    eager = quiet(TrainConfig(**SMALL, device="gpu", out=str(tmp_path / "eager")))
    graph = quiet(TrainConfig(**SMALL, device="gpu", cuda_graph=True, out=str(tmp_path / "graph")))
    for row_eager, row_graph in zip(eager.fit(), graph.fit(), strict=True):
        for key in ("train_loss", "test_neg_elbo"):
            assert row_graph[key] == pytest.approx(row_eager[key], rel=1e-7), key
    assert graph.graph_step.replays > 0  # the step was captured and replayed


def test_a_step_that_waits_for_the_device_cannot_be_captured(cupy, tmp_path, monkeypatch):
    trainer = quiet(TrainConfig(**SMALL, device="gpu", cuda_graph=True, out=str(tmp_path / "g")))
    loss = trainer.model.loss

    def loss_reading_a_number(*args, **kwargs):
        terms = loss(*args, **kwargs)
        float(terms.recon.data.sum())  # makes the host wait: forbidden while capturing
        return terms

    monkeypatch.setattr(trainer.model, "loss", loss_reading_a_number)
    with pytest.raises(Exception, match="captur"):
        trainer.fit()
