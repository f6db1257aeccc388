"""Objects built where a learner's function runs, and read back as plain values.

- A VAE, its Adam and a tensor built from a spec are the objects the spec describes: the
  parameters, gradients and optimizer state it gives, and a read-back holds exactly what the
  objects hold after a call.
- invoke builds the arguments just before the call and reads them back after it, runs the
  result's backward pass when asked, says what failed, and finds leaves of the graph that are
  no built object's.
- Built crosses the wire as plain values; a worker's read-back that is not what read_back makes
  is refused before a check sees it.
"""

import io

import numpy as np
import pytest

from minivae.course import wire
from minivae.course.built import Built, build, read_back, well_formed
from minivae.course.invoke import invoke
from minivae.course.remote import WorkerFailed, outcome_of
from minivae.engine.tensor import Tensor
from minivae.models.optim import Adam
from minivae.models.vae import VAE

ARCH = {"input_dim": 5, "hidden": [4], "latent_dim": 2, "activation": "tanh", "seed": 3}


def trained_state():
    """A model's parameters, its gradients of one loss, and an Adam two steps on: as arrays."""
    model = VAE(5, (4,), 2, activation="tanh", dtype=np.float64, seed=3)
    adam = Adam(model.parameters(), lr=0.1)
    x = np.random.default_rng(0).uniform(size=(3, 5))
    for _ in range(2):
        adam.zero_grad()
        model.loss(x).objective.mean().backward()
        adam.step()
    model.zero_grad()
    model.loss(x).objective.mean().backward()
    grads = {n: p.grad.copy() for n, p in model.named_parameters()}
    return model.state_dict(), grads, adam.state_dict()


def test_a_spec_builds_the_objects_it_describes_and_they_read_back_as_they_are():
    parameters, grads, state = trained_state()
    spec = {**ARCH, "parameters": parameters, "grads": grads}
    model, adam, tensor = build([Built("vae", spec), Built("adam", {"of": 0, "lr": 0.1,
                                                                    "state": state}),
                                 Built("tensor", {"data": np.ones(3), "requires_grad": True})])
    assert model.dtype == np.float64 and adam.t == 2 and tensor.requires_grad
    read = read_back([Built("vae", spec), Built("adam", {}), Built("tensor", {})],
                     [model, adam, tensor])
    assert sorted(read[0]["parameters"]) == sorted(parameters)
    for name in parameters:
        assert np.array_equal(read[0]["parameters"][name], parameters[name])
        assert np.array_equal(read[0]["grads"][name], grads[name])
    assert read[1] == {"t": 2} and read[2] == {"grad": None}
    assert well_formed(read)
    model.decoder.net.layers[0].weight.grad[...] = 7.0  # the copy in the spec stays as it was
    assert not np.any(spec["grads"]["decoder.net.layers.0.weight"] == 7.0)


def test_a_built_adam_takes_the_step_the_original_would_have_taken():
    parameters, grads, state = trained_state()
    model, adam = build([Built("vae", {**ARCH, "parameters": parameters, "grads": grads}),
                         Built("adam", {"of": 0, "lr": 0.1, "state": state})])
    original = VAE(5, (4,), 2, activation="tanh", dtype=np.float64, seed=3)
    original.load_state_dict(parameters)
    for name, p in original.named_parameters():
        p.grad = grads[name]
    again = Adam(original.parameters(), lr=0.1)
    again.load_state_dict(state)
    adam.step()
    again.step()
    for (name, a), (_, b) in zip(model.state_dict().items(), original.state_dict().items(),
                                 strict=True):
        assert np.array_equal(a, b), name


def loss_of(model, x, eps):
    mu, logvar = model.encode(x)
    return (mu * mu).sum() + (logvar * eps).sum()


def test_invoke_builds_calls_runs_backward_and_reads_back():
    x, eps = np.ones((2, 5)), np.full((2, 2), 0.5)
    outcome = invoke(loss_of, [Built("vae", ARCH), x, eps], backward=True)
    assert outcome.error == () and outcome.backward == () and outcome.strays == ()
    assert np.ndim(outcome.result) == 0
    grads = outcome.built[0]["grads"]
    assert grads["encoder.layers.0.weight"] is not None
    assert all(grads[n] is None for n in grads if n.startswith("decoder."))  # not in this loss
    without = invoke(loss_of, [Built("vae", ARCH), x, eps])
    assert all(g is None for g in without.built[0]["grads"].values())  # no backward asked


def with_noise_in_the_graph(model, x, eps):
    return loss_of(model, x, Tensor(eps, requires_grad=True))


@pytest.mark.parametrize("function, failure, strays", [
    (with_noise_in_the_graph, (), ((2, 2),)),
    (lambda model, x, eps: model.encode(x)[0], ("GraphError", "backward() on a tensor of shape "
                                                "(2, 2) needs an upstream gradient"), ()),
    (lambda model, x, eps: 3.0, ("TypeError", "it returned a float, not a minivae Tensor"), ()),
])
def test_a_failed_backward_and_stray_leaves_are_reported(function, failure, strays):
    outcome = invoke(function, [Built("vae", ARCH), np.ones((2, 5)), np.zeros((2, 2))],
                     backward=True)
    assert outcome.backward[:1] == failure[:1]
    assert all(part in said for part, said in zip(failure, outcome.backward, strict=True))
    assert outcome.strays == strays


def test_an_upstream_gradient_is_used_as_given():
    def codes(model, x, eps):
        return model.encode(x)[0]

    upstream = np.array([[1.0, 0.0], [0.0, 0.0]])
    outcome = invoke(codes, [Built("vae", ARCH), np.ones((2, 5)), None], backward=upstream)
    model = build([Built("vae", ARCH)])[0]
    model.encode(np.ones((2, 5)))[0].backward(upstream)
    assert np.array_equal(outcome.built[0]["grads"]["encoder.layers.1.bias"],
                          model.encoder.layers[1].bias.grad)


def test_built_crosses_the_wire_and_a_malformed_one_is_refused():
    spec = {**ARCH, "parameters": {"a": np.arange(3.0)}}
    stream = io.BytesIO()
    wire.send(stream, {"args": (Built("vae", spec), np.ones(2))})
    stream.seek(0)
    back = wire.receive(stream)["args"][0]
    assert isinstance(back, Built) and back.kind == "vae" and back.spec["hidden"] == [4]
    assert np.array_equal(back.spec["parameters"]["a"], np.arange(3.0))
    for bad in ('{"a": {"$built": ["vae"]}}', '{"a": {"$built": [1, {"$dict": {}}]}}',
                '{"a": {"$built": ["vae", [1, 2]]}}'):
        body = len(bad).to_bytes(4, "big") + bad.encode()
        with pytest.raises(wire.ProtocolError):
            wire.receive(io.BytesIO(len(body).to_bytes(8, "big") + body))


REPLY = {"result": 1.0, "error": (), "mutated": (), "ran": (), "profiler_replaced": False,
         "built": ({"parameters": {"w": np.ones(2)}, "grads": {"w": None}},), "backward": (),
         "strays": ()}


@pytest.mark.parametrize("change", [
    {"built": ()},  # one Built argument, no read-back
    {"built": ({"parameters": {"w": "forged"}},)},
    {"built": ({"parameters": {3: np.ones(2)}},)},
    {"built": ({"t": True},)},
    {"backward": ("GraphError",)},
    {"strays": ((2, "2"),)},
])
def test_a_worker_reply_with_a_malformed_read_back_is_refused(change):
    args = (Built("vae", ARCH), np.ones(2))
    assert outcome_of(REPLY, args).built == REPLY["built"]
    with pytest.raises(WorkerFailed, match="not an outcome"):
        outcome_of({**REPLY, **change}, args)


def test_a_built_tensor_brings_back_its_gradient():
    """What an exercise on a Function of the learner's own needs: its inputs as Tensors that
    require a gradient, the upstream gradient given, each input's gradient read back."""
    def cubed(t):
        return t * t * t  # d/dt = 3 t^2

    data, upstream = np.array([1.0, -2.0, 0.5]), np.array([1.0, 0.5, 2.0])
    outcome = invoke(cubed, [Built("tensor", {"data": data, "requires_grad": True})],
                     backward=upstream)
    assert np.array_equal(outcome.result, data**3) and outcome.strays == ()
    assert np.allclose(outcome.built[0]["grad"], upstream * 3 * data**2, rtol=1e-15)
