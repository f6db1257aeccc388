"""One way to pass noise: every method that draws it takes `noise=`, evaluation does not depend on
the batch size, and evaluating, sampling or drawing figures never shifts a training run's draws."""

import json
import os

import numpy as np
import pytest

from minivae.cli import main
from minivae.models.vae import VAE
from minivae.plots.figures import write_figures
from minivae.rng import CounterRNG
from minivae.training import evaluate
from minivae.training.run_dir import SavedRun, load_run
from minivae.training.trainer import TrainConfig, Trainer

SMALL = dict(dataset="sprites", limit=300, epochs=2, batch_size=50, hidden=(16,), latent_dim=2,
             binarize="dynamic")
x = np.random.default_rng(0).uniform(size=(40, 12)).astype(np.float64)


def quiet_trainer(tmp_path, name):
    return Trainer(TrainConfig(**SMALL, out=str(tmp_path / name)), progress=False,
                   log=lambda _: None)


@pytest.mark.parametrize("method", ["loss", "sample", "log_likelihood"])
def test_every_method_that_draws_noise_takes_noise_and_defaults_to_the_models_own(method):
    model = VAE(12, hidden=(8,), latent_dim=3, dtype=np.float64, seed=5)
    draw = {
        "loss": lambda noise=None: model.loss(x, noise=noise).recon.data,
        "sample": lambda noise=None: model.sample(7, noise=noise),
        "log_likelihood": lambda noise=None: model.log_likelihood(x, 4, noise=noise),
    }[method]
    np.testing.assert_array_equal(draw(CounterRNG(1)), draw(CounterRNG(1)))
    assert not np.array_equal(draw(CounterRNG(1)), draw(CounterRNG(2)))
    default = draw()  # from model.noise, which it advances
    assert model.noise.stream > 0
    np.testing.assert_array_equal(default, draw(CounterRNG(5)))  # model.noise = CounterRNG(seed)


def test_evaluation_does_not_depend_on_the_batch_size():
    model = VAE(12, hidden=(8,), latent_dim=3, dtype=np.float64, seed=5)
    whole = evaluate.mean_elbo_terms(model, x, batch_size=1000)
    pieces = evaluate.mean_elbo_terms(model, x, batch_size=7)
    for key in whole:
        assert pieces[key] == pytest.approx(whole[key], rel=1e-12)
    iwae_whole = evaluate.iwae_negative_log_likelihood(model, x, k=30, batch_size=40)
    iwae_pieces = evaluate.iwae_negative_log_likelihood(model, x, k=30, batch_size=3)
    assert iwae_pieces == pytest.approx(iwae_whole, rel=1e-12)


def test_evaluating_sampling_and_figures_mid_training_leave_the_run_bit_identical(tmp_path):
    undisturbed = quiet_trainer(tmp_path, "a")
    undisturbed.fit()
    disturbed = quiet_trainer(tmp_path, "b")
    disturbed.run_epoch()
    model = disturbed.model
    model.sample(5)
    model.log_likelihood(disturbed.test_x[:10], 8)
    evaluate.iwae_negative_log_likelihood(model, disturbed.test_x[:20], k=5)
    run = SavedRun(disturbed.config, model, disturbed.test_set, disturbed.test_x)
    write_figures(run, str(tmp_path / "b"))
    disturbed.fit()  # the second epoch
    for (name, a), (_, b) in zip(undisturbed.model.named_parameters(),
                                 disturbed.model.named_parameters(), strict=True):
        np.testing.assert_array_equal(a.data, b.data, err_msg=name)


def test_the_command_line_evaluates_exactly_what_the_training_process_would(tmp_path, capsys):
    trainer = quiet_trainer(tmp_path, "run")
    trainer.fit()
    in_process = evaluate.mean_elbo_terms(trainer.model, trainer.test_x)
    iwae = evaluate.iwae_negative_log_likelihood(trainer.model, trainer.test_x, k=20)
    assert main(["eval", str(tmp_path / "run"), "--k", "20"]) == 0
    with open(os.path.join(tmp_path, "run", "eval.json")) as f:
        saved = json.load(f)
    assert saved["test_neg_elbo"] == in_process["neg_elbo"]
    assert saved["iwae_neg_log_likelihood"] == iwae
    reloaded = load_run(str(tmp_path / "run"))
    assert evaluate.mean_elbo_terms(reloaded.model, reloaded.test_x) == in_process
