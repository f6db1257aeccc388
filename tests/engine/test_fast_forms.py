"""Fast forms compute what their plain forms compute: op by op, for the whole loss, for a run.

An op's plain form is its own forward/backward; a fast form is listed in its `fast_forms` and
runs unless inside `minivae.plain_forms()`. The gradient checks and planted bugs run on both
(tests/ops/test_gradients.py, tests/ops/test_planted_bugs.py); here their values are held equal.
"""

import numpy as np
import pytest

import minivae
from minivae import Tensor, ops
from minivae.engine.function import fast_forms_enabled
from minivae.models.vae import VAE
from minivae.ops.gradcheck_cases import CASES, RandomPicker, forms, outputs_and_gradients, running
from minivae.rng import CounterRNG, counter_normal
from minivae.training.run_dir import read_metrics
from minivae.training.trainer import TrainConfig, train

FAST_CASES = [case for case in CASES if len(forms(case.function)) > 1]
TOLERANCE = {np.float32: 2e-6, np.float64: 1e-13}


def test_there_are_fast_forms_to_compare():
    assert [case.name for case in FAST_CASES] == ["bernoulli_nll"]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", FAST_CASES, ids=lambda c: c.name)
@pytest.mark.parametrize("seed", range(10))
def test_each_fast_form_equals_its_plain_form(case, seed, dtype):
    inputs = [v.astype(dtype) for v in case.draw(RandomPicker(seed))]
    inputs[0] = inputs[0] * 4  # logits well beyond +-1, where the stable forms matter
    plain = outputs_and_gradients(case, inputs, "plain", seed)
    fast = outputs_and_gradients(case, inputs, "fast", seed)
    width = inputs[0].shape[1]  # the row sums add up this many roundings
    for p, f in zip(plain, fast, strict=True):
        assert p.dtype == f.dtype == dtype
        scale = np.abs(p).max() + 1
        np.testing.assert_allclose(f, p, rtol=0, atol=TOLERANCE[dtype] * scale * width)


def test_the_fast_likelihood_equals_the_plain_one_on_a_full_image_batch():
    rng = np.random.default_rng(0)
    logits, x = rng.normal(size=(128, 784)) * 4, rng.uniform(size=(128, 784))
    with minivae.plain_forms():
        exact = ops.bernoulli_nll(Tensor(logits), Tensor(x)).data  # float64, plain
    single = ops.bernoulli_nll(Tensor(logits.astype(np.float32)), Tensor(x.astype(np.float32)))
    np.testing.assert_allclose(single.data, exact, rtol=1e-5)


def test_sample_kl_forward_and_backward_equal_reparameterize_plus_gaussian_kl():
    rng = np.random.default_rng(1)
    mu, logvar = rng.normal(size=(6, 5)), rng.uniform(-2, 1.5, (6, 5))
    gz, gk = rng.normal(size=(6, 5)), rng.normal(size=6)
    fused_in = [Tensor(mu, requires_grad=True), Tensor(logvar, requires_grad=True)]
    z, kl = ops.sample_kl(*fused_in, seed=4, stream=9)
    z.backward(gz)
    kl.backward(gk)
    plain_in = [Tensor(mu, requires_grad=True), Tensor(logvar, requires_grad=True)]
    eps = counter_normal(np, (6, 5), 4, 9, np.float64)  # the noise the fused op drew
    z_plain = ops.reparameterize(*plain_in, eps)
    kl_plain = ops.gaussian_kl(*plain_in)
    z_plain.backward(gz)
    kl_plain.backward(gk)
    np.testing.assert_allclose(z.data, z_plain.data, rtol=1e-15)
    np.testing.assert_allclose(kl.data, kl_plain.data, rtol=1e-14)
    for fused, plain in zip(fused_in, plain_in, strict=True):
        np.testing.assert_allclose(fused.grad, plain.grad, rtol=1e-14, atol=1e-15)


@pytest.mark.parametrize("dtype, rtol", [(np.float64, 1e-12), (np.float32, 1e-5)])
def test_the_vae_loss_is_the_same_in_plain_and_fast_forms(dtype, rtol):
    x = np.random.default_rng(2).uniform(size=(16, 30)).astype(dtype)
    results = {}
    for mode in ("plain", "fast"):
        model = VAE(30, hidden=(12,), latent_dim=4, dtype=dtype, seed=3)
        with running(mode):
            terms = model.loss(x, beta=0.5, noise=CounterRNG(7))
            terms.objective.mean().backward()
        grads = [p.grad for p in model.parameters()]
        results[mode] = [terms.objective.data, terms.recon.data, terms.kl.data, *grads]
    for plain, fast in zip(results["plain"], results["fast"], strict=True):
        np.testing.assert_allclose(fast, plain, rtol=rtol, atol=rtol * 1e-2)


def test_a_training_run_with_the_fast_forms_off_gives_the_same_numbers(tmp_path):
    settings = dict(dataset="sprites", limit=400, epochs=2, batch_size=50, hidden=(24,),
                    latent_dim=3, dtype="float64", warmup_epochs=1.0)
    train(TrainConfig(**settings, out=str(tmp_path / "fast")), log=lambda _: None)
    with minivae.plain_forms():
        train(TrainConfig(**settings, out=str(tmp_path / "plain")), log=lambda _: None)
    fast, plain = (read_metrics(tmp_path / name / "metrics.jsonl") for name in ("fast", "plain"))
    for row_fast, row_plain in zip(fast, plain, strict=True):
        for key in ("train_loss", "test_neg_elbo", "test_recon", "test_kl"):
            assert row_fast[key] == pytest.approx(row_plain[key], rel=1e-10), key


def test_plain_forms_switches_off_for_its_block_only_even_on_an_error():
    assert fast_forms_enabled()
    with pytest.raises(ZeroDivisionError):
        with minivae.plain_forms():
            assert not fast_forms_enabled()
            with minivae.plain_forms():
                pass
            assert not fast_forms_enabled()  # the inner block restored the outer state
            1 / 0  # noqa: B018
    assert fast_forms_enabled()


def test_the_graph_records_the_form_that_ran():
    logits, x = Tensor(np.zeros((2, 3)), requires_grad=True), Tensor(np.zeros((2, 3)))
    assert ops.bernoulli_nll(logits, x)._node.function is ops.likelihoods.BernoulliNLLNumPy
    with minivae.plain_forms():
        assert ops.bernoulli_nll(logits, x)._node.function is ops.likelihoods.BernoulliNLL
