"""The VAE and the autoencoder: shapes, the whole loss against finite differences, the IWAE bound,
the optimizers, and state saving."""

import numpy as np
import pytest

from minivae import gradcheck
from minivae.engine.tensor import Tensor
from minivae.errors import CheckpointError, ShapeError
from minivae.models.autoencoder import Autoencoder
from minivae.models.gradcheck_cases import MODEL_CASES
from minivae.models.optim import FLUSH_EVERY, SGD, Adam, clip_grad_norm
from minivae.models.vae import VAE
from minivae.ops.vae import kl_terms
from minivae.rng import CounterRNG
from minivae.training.checkpoint_schema import parameter_shapes

rng = np.random.default_rng(0)


@pytest.mark.parametrize("case", MODEL_CASES, ids=lambda c: c.name)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_whole_loss_gradient_against_every_parameter(case, seed):
    call, params = case.build(seed)
    report = gradcheck(call, params, name=case.name)
    assert report.passed, str(report)
    assert report.elements == sum(p.size for p in params)


def test_vae_shapes_and_terms():
    model = VAE(12, hidden=(8, 6), latent_dim=3, seed=1)
    x = rng.uniform(size=(5, 12)).astype(np.float32)
    mu, logvar = model.encode(x)
    assert mu.shape == logvar.shape == (5, 3)
    terms = model.loss(x, beta=0.5)
    np.testing.assert_allclose(
        terms.objective.data, terms.recon.data + 0.5 * terms.kl.data, rtol=1e-6
    )
    np.testing.assert_allclose(terms.neg_elbo.data, terms.recon.data + terms.kl.data)
    assert model.sample(4).shape == (4, 12) and model.reconstruct(x).shape == (5, 12)
    path = model.interpolate(x[0], x[1], 7)
    assert path.shape == (7, 12)
    np.testing.assert_allclose(path[0], model.reconstruct(x[:1])[0], rtol=1e-5)
    assert ((model.sample(4) >= 0) & (model.sample(4) <= 1)).all()


def test_iwae_bound_is_above_the_elbo_and_grows_with_k():
    model = VAE(10, hidden=(8,), latent_dim=2, seed=3, dtype=np.float64)
    # the bound grows with k in expectation: 20 examples 100 times over keep the noise below
    # the gaps (about 0.1 from k = 1 to 10, 0.001 from 100 to 1000)
    x = np.tile((rng.uniform(size=(20, 10)) > 0.5).astype(np.float64), (100, 1))
    elbo = -model.loss(x).neg_elbo.data.mean()
    estimates = [model.log_likelihood(x, k).mean() for k in (1, 10, 100, 1000)]
    assert estimates[0] == pytest.approx(elbo, abs=1.0)  # k = 1 is a one-sample ELBO
    assert estimates[-1] > elbo
    assert all(a < b for a, b in zip(estimates, estimates[1:], strict=False))


def test_iwae_does_not_depend_on_the_chunk_size():
    model = VAE(10, hidden=(8,), latent_dim=2, seed=3, dtype=np.float64)
    x = rng.uniform(size=(6, 10))
    whole = model.log_likelihood(x, 64, chunk=64)
    model.noise.stream -= len(x)  # the same streams again
    pieces = model.log_likelihood(x, 64, chunk=5)
    np.testing.assert_allclose(whole, pieces)


def test_autoencoder_has_no_kl_and_one_code_per_input():
    model = Autoencoder(12, hidden=(8,), latent_dim=3)
    x = rng.uniform(size=(5, 12)).astype(np.float32)
    assert model.encode(x).shape == (5, 3)
    terms = model.loss(x)
    assert terms.kl is None and terms.neg_elbo is None and terms.recon.shape == (5,)
    np.testing.assert_array_equal(model.loss(x).recon.data, terms.recon.data)  # deterministic


@pytest.mark.parametrize(
    "make", [lambda p: Adam(p, lr=0.05), lambda p: SGD(p, lr=0.01, momentum=0.9)]
)
def test_optimizers_reduce_the_loss(make):
    model = VAE(16, hidden=(16,), latent_dim=2, seed=0)
    x = (rng.uniform(size=(64, 16)) > 0.7).astype(np.float32)
    optimizer = make(model.parameters())
    first = model.loss(x).objective.mean().item()
    for _ in range(100):
        loss = model.loss(x).objective.mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert loss.item() < first - 1.0


def test_adam_matches_the_paper_update():
    model = VAE(4, hidden=(3,), latent_dim=1, dtype=np.float64)
    p = model.parameters()[0]
    start = p.data.copy()
    g = rng.normal(size=p.shape)
    opt = Adam([p], lr=0.1)
    m = v = 0
    expected = start.copy()
    for t in range(1, 4):
        p.grad = g * t
        opt.step()
        m = 0.9 * m + 0.1 * g * t
        v = 0.999 * v + 0.001 * (g * t) ** 2
        expected -= 0.1 * (m / (1 - 0.9**t)) / (np.sqrt(v / (1 - 0.999**t)) + 1e-8)
    np.testing.assert_allclose(p.data, expected, rtol=1e-10)


def test_clip_grad_norm_scales_to_the_bound():
    model = VAE(4, hidden=(3,), latent_dim=1, dtype=np.float64)
    for p in model.parameters():
        p.grad = np.full(p.shape, 10.0)
    before = clip_grad_norm(model.parameters(), 1.0)
    after = np.sqrt(sum((p.grad**2).sum() for p in model.parameters()))
    assert before > 1.0 and after == pytest.approx(1.0)


def test_state_dict_round_trip_and_wrong_architecture():
    a, b = VAE(12, hidden=(8,), latent_dim=3, seed=1), VAE(12, hidden=(8,), latent_dim=3, seed=2)
    b.load_state_dict(a.state_dict())
    x = rng.uniform(size=(2, 12))
    np.testing.assert_array_equal(a.reconstruct(x), b.reconstruct(x))
    with pytest.raises(
        CheckpointError, match=r"has shape \(3, 8\) in the saved state but \(4, 8\)"
    ):
        VAE(12, hidden=(8,), latent_dim=4).load_state_dict(a.state_dict())
    with pytest.raises(CheckpointError, match="missing"):
        VAE(12, hidden=(8, 8), latent_dim=3).load_state_dict(a.state_dict())


def test_inputs_of_the_wrong_shape_are_refused_with_the_expected_shape():
    with pytest.raises(
        ShapeError, match=r"VAE: x has shape \(3, 10\) but the model takes \(B, 12\)"
    ):
        VAE(12, hidden=(8,), latent_dim=2).loss(np.zeros((3, 10)))
    with pytest.raises(ShapeError, match=r"Autoencoder: x has shape \(12,\)"):
        Autoencoder(12, hidden=(8,), latent_dim=2).reconstruct(np.zeros(12))


def test_adam_flushes_moments_that_decayed_into_subnormals():
    """A gradient that stops leaves m decaying by b1 into the subnormals, where 0.9 times the
    smallest one rounds back to itself; the flush every FLUSH_EVERY steps makes them 0."""
    p = Tensor(np.zeros(4, np.float32), requires_grad=True)
    opt = Adam([p])
    p.grad = np.full(4, 1e-3, np.float32)
    opt.step()
    p.grad = np.zeros(4, np.float32)  # the unit died: its gradient is 0 from now on
    tiny = np.finfo(np.float32).tiny
    while opt.t < 8 * FLUSH_EVERY - 1:  # 0.9^790 takes m = 1e-4 below the smallest normal
        opt.step()
    assert 0 < abs(opt.m[0][0]) < tiny  # stuck among the subnormals
    opt.step()  # a step whose number FLUSH_EVERY divides
    assert (opt.m[0] == 0).all() and (opt.v[0] >= tiny).all()  # v is still normal: kept


@pytest.mark.parametrize(
    "cls, settings",
    [(VAE, dict(input_dim=5, hidden=(3, 4), latent_dim=2)),
     (VAE, dict(input_dim=2, hidden=(), latent_dim=1, likelihood="gaussian")),
     (VAE, dict(input_dim=3, hidden=tuple(range(1, 13)), latent_dim=2)),  # layer 10 after 9
     (Autoencoder, dict(input_dim=7, hidden=(3,), latent_dim=2, likelihood="gaussian"))],
)
def test_parameter_shapes_without_building_are_those_of_the_built_model(cls, settings):
    model = cls(**settings)
    built = [(name, p.shape) for name, p in model.named_parameters()]
    assert parameter_shapes(model.config) == built


def test_optimizers_save_their_named_buffers():
    params = VAE(4, hidden=(3,), latent_dim=1).parameters()
    for optimizer, buffers in ((Adam(params), ("m", "v")), (SGD(params), ("velocity",))):
        keys = set(optimizer.state_dict())
        assert keys == {"t"} | {f"{b}.{i}" for b in buffers for i in range(len(params))}


def test_free_bits_change_the_objective_and_leave_the_kl_the_true_one():
    model = VAE(6, hidden=(5,), latent_dim=3, dtype=np.float64, seed=2)
    x = np.random.default_rng(0).uniform(size=(4, 6))
    plain = model.loss(x, noise=CounterRNG(1))
    floored = model.loss(x, beta=0.5, noise=CounterRNG(1), free_bits=2.0)
    np.testing.assert_array_equal(floored.kl.data, plain.kl.data)  # the same z, the true KL
    np.testing.assert_array_equal(floored.recon.data, plain.recon.data)
    mu, logvar = (t.data for t in model.encode(x))
    per_unit = kl_terms(mu, np.exp(logvar), logvar).mean(axis=0)
    expected = plain.recon.data.mean() + 0.5 * np.maximum(2.0, per_unit).sum()
    assert floored.objective.data.mean() == pytest.approx(expected)
