"""The checks of `train_step(model, optimizer, x, eps)` and `sample_prior(model, eps)`.

train_step takes one step of training on the batch x with the noise eps: zero the gradients,
compute vae_loss, backward(), optimizer.step(); it returns the loss. The check hands it a model
as a training loop does, two Adam steps into a run and with the gradients of a later batch
still in .grad (a step leaves them there), and compares, against minivae's step from the same
state (`vae_reference.minivae_step`): the change of every parameter (flattened, in
`Module.named_parameters` order), then the loss it returns, then Adam's step count. The known
mistakes are other steps from the same state: with the old gradients added to the new (no
zero_grad), with the old ones alone (the step before backward), with a new Adam, two steps,
gradient descent by hand, no step.

sample_prior returns E[x|z] for z = eps, draws of the prior N(0, I), against VAE.sample given
the same z (`vae_reference.minivae_sample`), for six samples and for one. Samples of q(z|x)
(from the encoder's codes of some data) change when only the encoder's weights do, and those of
the prior do not: a second model that differs from the first in its encoder alone tells them
apart.
"""

import types

import numpy as np

from minivae.course import vae_reference as reference
from minivae.course.built import Built, build
from minivae.course.compare import Batch, Mistake, Quantity, close, compare
from minivae.course.vae_loss import check_repeats, check_uses_eps, explained, read_model
from minivae.course.verdict import SHAPES_HINT, WRONG, Finding, called, unpack
from minivae.engine.function import no_grad
from minivae.models.optim import Adam

LR = 0.01  # the check's Adam: every step moves the parameters far beyond rounding
STEP = "the change of the parameters"
ORDER = "The order is zero_grad(), the loss, backward(), step()."


def step_mistake(key, what, why, when=None):
    return Mistake(STEP, lambda e: getattr(e, key), why, what, when)


ANOTHER_OPTIMIZER = ("Use the optimizer you are given: it keeps Adam's moments and step count "
                     "from step to step, and a new one starts them again at every step.")
NOT_ZEROED = ("backward() adds to .grad, so a step starts with optimizer.zero_grad() (or "
              "model.zero_grad()): this model came with the gradients of an earlier backward() "
              "in .grad, as a model does after an evaluation with backward(), or after a step "
              "that leaves them. " + ORDER)
STEP_MISTAKES = [
    step_mistake("accumulated", "is a step with this batch's gradients added to those already "
                 "in .grad: they were zeroed after the step, not before it", NOT_ZEROED,
                 lambda e: e.emptied),
    step_mistake("accumulated", "is a step with this batch's gradients added to those already "
                 "in .grad: the gradients were not zeroed first", NOT_ZEROED),
    step_mistake("stale", "is a step with the gradients that were in .grad before the call: "
                 "optimizer.step() ran before loss.backward()", "The step reads .grad, so "
                 "backward() must have filled it for this batch first. " + ORDER),
    step_mistake("fresh", "is the first step of a new Adam: the optimizer was made anew inside "
                 "the step", ANOTHER_OPTIMIZER),
    step_mistake("twice", "is two of Adam's steps with this batch's gradients: optimizer.step() "
                 "ran twice", ORDER),
    step_mistake("by_hand", "is -lr times the gradient: the parameters were moved by hand, by "
                 "gradient descent, not by optimizer.step()", "optimizer.step() moves every "
                 "parameter by Adam's rule, with its moments: call it, rather than writing "
                 "another optimizer's update."),
    step_mistake("unchanged", "is 0, and .grad holds this batch's gradients after the call: "
                 "optimizer.step() ran before loss.backward(), or not at all", "The step reads "
                 ".grad, so backward() must have filled it for this batch first. " + ORDER,
                 lambda e: e.filled),
    step_mistake("unchanged", "is 0: the parameters did not move", "Call optimizer.step() "
                 "after loss.backward(), with no zero_grad() between them (a step skips a "
                 "parameter whose .grad is None). " + ORDER),
]


def draw(rng, b):
    """A batch x (b, 784) of grey pixels and its noise eps (b, L)."""
    return rng.uniform(0, 1, (b, 784)), rng.normal(size=(b, reference.LATENT))


def step_setting():
    """(model spec, Adam spec, x, eps): a model two of Adam's steps into a run, the gradients of
    a third batch still in its .grad, and the batch of the step to take."""
    rng = np.random.default_rng(12)
    spec = reference.vae_spec(4)
    model = reference.made(spec)
    adam = Adam(model.parameters(), lr=LR)
    for _ in range(2):
        reference.minivae_step(model, adam, *draw(rng, 4))
    left = reference.gradients(model, reference.minivae_loss(model, *draw(rng, 4)))
    spec = {**spec, "parameters": model.state_dict(), "grads": left}
    return spec, {"of": 0, "lr": LR, "state": adam.state_dict()}, *draw(rng, 5)


def flat(parameters, names):
    """The parameters' values in one vector, in the order of `names`."""
    return np.concatenate([np.asarray(parameters[n], dtype=np.float64).ravel() for n in names])


def steps_from(spec, adam_spec, gradients, times=1):
    """The change of the parameters after `times` of Adam's steps with these gradients."""
    model, adam = build([Built("vae", spec), Built("adam", adam_spec)])
    for _ in range(times):
        for name, p in model.named_parameters():
            p.grad = gradients[name]
        adam.step()
    names = sorted(spec["parameters"])
    return flat(model.state_dict(), names) - flat(spec["parameters"], names)


def check_step(train_step):
    """train_step against minivae's step: the parameters' change, the loss, Adam's count."""
    name = train_step.name
    spec, adam_spec, x, eps = step_setting()
    outcome = called(train_step, Built("vae", spec), Built("adam", adam_spec), x, eps)
    (returned,) = unpack(name, outcome.result, ["the loss"])
    model, adam = build([Built("vae", spec), Built("adam", adam_spec)])
    loss_before = reference.minivae_step(model, adam, x, eps)
    names = sorted(spec["parameters"])
    start = flat(spec["parameters"], names)
    parameters, grads = read_model(train_step, outcome)
    if set(parameters) != set(names):
        raise Finding(WRONG, f"{name}: the model came back with other parameters")
    at_start = reference.made(spec)
    fresh = reference.gradients(at_start, reference.minivae_loss(at_start, x, eps))
    e = types.SimpleNamespace(
        accumulated=steps_from(spec, adam_spec, {n: spec["grads"][n] + fresh[n] for n in names}),
        stale=steps_from(spec, adam_spec, spec["grads"]),
        fresh=steps_from(spec, {"of": 0, "lr": LR}, fresh),
        twice=steps_from(spec, adam_spec, fresh, times=2),
        by_hand=-LR * flat(fresh, names), unchanged=np.zeros_like(start),
        emptied=all(g is None for g in grads.values()),
        filled=all(grads.get(n) is not None and close(grads[n], fresh[n]) for n in names))
    moved, t = flat(parameters, names) - start, outcome.built[1].get("t")
    if t == adam.t - 1 and not close(moved, e.unchanged) and not explained(moved, STEP_MISTAKES,
                                                                           e):
        raise Finding(WRONG, f"{name}: the optimizer it was given took no step (its step count "
                      f"is still {t}), yet the parameters moved: another optimizer moved them",
                      ANOTHER_OPTIMIZER)
    compare(f"{name}: {STEP}", [Quantity(STEP, ("parameters",))], [moved],
            [flat(model.state_dict(), names) - start], STEP_MISTAKES, e)
    after = reference.minivae_loss(model, x, eps).item()
    compare(f"{name}: the loss it returns", [Quantity("the loss it returns")], [returned],
            [np.asarray(loss_before)], [Mistake("the loss it returns", lambda e: np.asarray(
                after), "Return the loss the step was taken on, as the training loop reports "
                "it.", "is the loss after the step, not the one the step was taken on")])
    if t != adam.t:
        raise Finding(WRONG, f"{name}: Adam's step count went from {adam.t - 1} to {t}, not to "
                      f"{adam.t}", "Call optimizer.step() once per batch. " + ORDER)


NO_DATA = (SHAPES_HINT + " A sample of the prior needs no data: eps is already a draw of "
           "z ~ p(z) = N(0, I); decode it.")
SAMPLE_MISTAKES = [
    Mistake("the samples", lambda e: e.logits, "model.decode(z) gives the logits l; the images "
            "are the pixels' probabilities E[x|z] = sigmoid(l), model.decoder.mean(logits).",
            "is the decoder's logits l, not E[x|z] = sigmoid(l)"),
]


def with_other_encoder(spec):
    """The spec with the encoder's weights of another seed, the decoder's the same."""
    other = reference.drawn_parameters(spec["seed"] + 1)
    return {**spec, "parameters": {n: other[n] if n.startswith("encoder.") else value
                                   for n, value in spec["parameters"].items()}}


def check_sampler(sample_prior):
    """sample_prior against VAE.sample with the same z, for six samples and for one."""
    name, spec = sample_prior.name, reference.vae_spec(5)
    rng = np.random.default_rng(13)
    for n, label in ((6, ""), (1, "for one sample")):
        eps = rng.normal(size=(n, reference.LATENT))
        batch, args = Batch({"eps": eps}, label), [Built("vae", spec), eps]
        outcome = called(sample_prior, *args, why_error=NO_DATA)
        (got,) = unpack(name, outcome.result, ["the samples"])
        model = reference.made(spec)
        expected = reference.minivae_sample(model, eps)
        with no_grad():
            e = types.SimpleNamespace(logits=model.decode(eps).data)
        if not close(got, expected) and not close(got, e.logits):
            check_origin(sample_prior, args, got, batch)
        compare(name, [Quantity("the samples", ("samples", "pixels"))], [got], [expected],
                SAMPLE_MISTAKES, e, batch)


def check_origin(sample_prior, args, got, batch):
    """Raise a Finding for samples that are draws of p(x|z), that come from q(z|x) (they change
    with the encoder), or that use noise of their own."""
    name, aside = sample_prior.name, [batch.label] * bool(batch.label)
    if got.size and np.isin(got, (0.0, 1.0)).all():
        raise Finding(WRONG, f"{name} returns only 0s and 1s: draws x ~ p(x|z), not E[x|z]",
                      "Return the decoder's mean, the pixels' probabilities sigmoid(l) that the "
                      "figures show; a draw of x ~ p(x|z) is a random binary image around it.",
                      aside)
    check_repeats(sample_prior, args, got, batch)
    other = called(sample_prior, Built("vae", with_other_encoder(args[0].spec)), *args[1:],
                   why_error=NO_DATA).result
    if not close(unpack(name, other, ["the samples"])[0], got):
        raise Finding(WRONG, f"{name} gives other samples from a model that differs only in its "
                      "encoder: they are samples of q(z|x), not of the prior", "New images come "
                      "from the prior: z ~ p(z) = N(0, I) (eps itself), decoded. The encoder's "
                      "q(z|x) needs an x, and decoding its codes rebuilds that x.", aside)
    check_uses_eps(sample_prior, args, 1, got, batch)
