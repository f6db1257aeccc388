"""The check of `vae_loss(model, x, eps, beta)`, the first function of exercise `vae`.

    vae_loss = the mean over the B examples of -log p(x|z) + beta KL(q(z|x) || p(z)),
               z = mu + sigma * eps,  sigma = exp(logvar / 2),  (mu, logvar) the encoder's for x,
               -log p(x|z) summed over the D pixels, the KL in closed form,

a minivae Tensor of one number. On three batches (grey pixels; binary pixels with beta = 0.3;
one example), each with its eps, the check compares, against VAE.loss given the same eps
(`vae_reference.minivae_loss`):

1. the value. A wrong one is matched against the known mistakes (`MISTAKES`: the terms reduced
   over the batch in different ways, the pixels averaged, the signs, mu decoded, ...), then
   against an answer that draws noise of its own (`check_repeats`, `check_uses_eps`), then
   described (a term left out, a factor, ...);
2. the gradient of every parameter after backward(), read back from the model: the known ways
   to cut the graph (`GRADIENT_MISTAKES`), then which parameters differ, where central
   differences of the learner's own loss say whether its gradient or its formula is at fault;
3. the leaves of the loss's graph: none may require a gradient but the model's parameters.

On the first batch it then checks the learner's gradient against central differences of the
learner's own loss, along a random unit direction in each parameter array (`gradcheck`): the
learner's loss computed by the learner's code at parameters moved by +-h, in the process where it
runs, the differences taken here. A full gradcheck element by element would take two calls per
parameter (thousands); the comparison with VAE.loss's gradient above is the element-by-element
one, and minivae's own gradcheck proves VAE.loss's.
"""

import types

import numpy as np

from minivae import ops
from minivae.course import vae_reference as reference
from minivae.course.built import Built
from minivae.course.cases import Case, teacher_cases
from minivae.course.compare import Batch, Mistake, Quantity, Term, close, compare
from minivae.course.vae_reference import ARCHITECTURE
from minivae.course.verdict import WRONG, Finding, called, unpack

GRADCHECK_STEP, GRADCHECK_TOL = 1e-5, 1e-6  # h: the loss is about 1000 nats, rounding 1e-13
SAME_FOR_ANY_EPS = ("Use the eps passed in (z = mu + sigma eps in the loss, z = eps in the "
                    "sampler): the check gives every answer the same eps, so that its value can "
                    "be compared exactly, and a training loop draws it for every batch.")


def loss_mistake(value, why, what, when=None):
    return Mistake("the loss", value, why, what, when)


def spread(e):
    return e.size > 1


MISTAKES = [
    loss_mistake(lambda e: e.r.sum() + e.beta * e.k.mean(), "Reduce both terms alike, the mean "
                 "over the batch of -log p(x|z) + beta KL: a summed reconstruction beside an "
                 "averaged KL weighs the KL by beta / B, a beta of 1/B in disguise.", "sums -log "
                 "p(x|z) over the examples but averages the KL over them", spread),
    loss_mistake(lambda e: e.r.mean() + e.beta * e.k.sum(), "Reduce both terms alike, the mean "
                 "over the batch of -log p(x|z) + beta KL: an averaged reconstruction beside a "
                 "summed KL weighs the KL by beta B, a beta of B in disguise.", "averages -log "
                 "p(x|z) over the examples but sums the KL over them", spread),
    loss_mistake(lambda e: (e.r + e.beta * e.k).sum(), "The training loss is the mean over the "
                 "batch: a sum grows with the batch size, and with it every step of plain "
                 "gradient descent.", "is the sum over the examples, not their mean", spread),
    loss_mistake(lambda e: (e.r / e.pixels + e.beta * e.k).mean(), "-log p(x|z) is the sum of "
                 "the pixels' -log p(x_j|z) (the pixels are independent given z); their mean is "
                 "(-log p(x|z) + 784 beta KL) / 784, a beta of 784 in disguise, which drowns the "
                 "reconstruction: the KL pulls every q(z|x) onto the prior.",
                 "averages -log p(x|z) over the 784 pixels where it sums them"),
    loss_mistake(lambda e: -(e.r + e.beta * e.k).mean(), "Training minimizes the loss, and the "
                 "ELBO is to be maximized: the loss is the negative ELBO, -log p(x|z) + beta KL.",
                 "is the ELBO, not the negative ELBO"),
    loss_mistake(lambda e: (e.r - e.beta * e.k).mean(), "-ELBO = -log p(x|z) + KL: the ELBO "
                 "subtracts the KL, so its negative adds it; subtracted, it rewards q(z|x) for "
                 "straying from the prior.", "subtracts the KL where the negative ELBO adds it"),
    loss_mistake(lambda e: (-e.r + e.beta * e.k).mean(), "decoder.nll and ops.bernoulli_nll give "
                 "-log p(x|z) already: add it as it is.", "has log p(x|z) where -log p(x|z) "
                 "belongs"),
    loss_mistake(lambda e: e.r.mean(), "-ELBO = -log p(x|z) + KL: without the KL nothing pulls "
                 "q(z|x) towards the prior, and the model is an autoencoder with noise.",
                 "leaves out the KL"),
    loss_mistake(lambda e: e.beta * e.k.mean(), "-ELBO = -log p(x|z) + KL: without the "
                 "reconstruction term nothing asks the code to say anything about x.",
                 "leaves out -log p(x|z)"),
    loss_mistake(lambda e: (e.beta * e.r + e.k).mean(), "beta weighs the KL: -log p(x|z) + beta "
                 "KL.", "puts beta on -log p(x|z), not on the KL", lambda e: e.beta != 1),
    loss_mistake(lambda e: (e.r + e.k).mean(), "beta weighs the KL: -log p(x|z) + beta KL.",
                 "leaves beta out", lambda e: e.beta != 1),
    loss_mistake(lambda e: (e.r_mu + e.beta * e.k).mean(), "The reconstruction term is an "
                 "expectation over z ~ q(z|x): decode the sample z = mu + sigma eps. Decoding mu "
                 "leaves sigma out of it, so the decoder never learns to cope with the spread of "
                 "q(z|x), and only the KL moves sigma.", "decodes mu, not the sample z"),
    loss_mistake(lambda e: (e.r_var + e.beta * e.k).mean(), "sigma = exp(logvar / 2) is the "
                 "standard deviation; exp(logvar) is the variance.", "decodes mu + sigma^2 eps "
                 "where z = mu + sigma eps"),
    loss_mistake(lambda e: (e.r + e.beta * e.k / e.latent).mean(), "The KL of a diagonal "
                 "Gaussian is the sum of the latent dimensions' KLs (they are independent), as "
                 "ops.gaussian_kl computes it.", "averages the KL over the latent dimensions "
                 "where it sums them"),
    loss_mistake(lambda e: (e.r + e.beta * e.k_sampled).mean(), "log q(z|x) - log p(z) at the "
                 "sample is an unbiased estimate of the KL, but a noisy one; VAE.loss uses the "
                 "closed form, ops.gaussian_kl(mu, logvar), which has no noise.", "estimates the "
                 "KL from the sample, log q(z|x) - log p(z), not in closed form"),
    loss_mistake(lambda e: (e.r_squashed + e.beta * e.k).mean(), "model.decode(z) gives logits "
                 "l; decoder.nll(l, x) and ops.bernoulli_nll(l, x) apply the sigmoid "
                 "themselves.", "gives the likelihood sigmoid(l) where it takes the logits l"),
]


def loss_batches():
    """The check's batches: grey pixels, binary ones with beta = 0.3, one example, then the
    teacher's cases (`minivae.course.cases`); each with its eps and beta among its inputs."""
    rng = np.random.default_rng(11)
    drawn = []
    for b, binary, beta, label in [(5, False, 1.0, ""), (4, True, 0.3, "with beta = 0.3"),
                                   (1, False, 1.0, "for a batch of one example")]:
        x = rng.integers(0, 2, (b, 784)).astype(np.float64) if binary else rng.uniform(
            0, 1, (b, 784))
        eps = rng.normal(size=(b, reference.LATENT))
        drawn.append(batch({"x": x, "eps": eps, "beta": beta}, label))
    return drawn + [batch(inputs, label, why) for label, why, inputs in teacher_cases("vae", CASE)]


def batch(inputs, label, why=""):
    constants = (("B", float(len(inputs["x"]))), ("D", 784.0), ("beta", inputs["beta"]))
    return Batch(inputs, label, why_wrong=why, constants=constants)


def case_problem(inputs):
    """What is wrong with a teacher's case for the check's models (784 pixels in [0, 1], 3
    latent dimensions), or ""."""
    x, eps = inputs["x"], inputs["eps"]
    if x.shape[1] != ARCHITECTURE["input_dim"] or eps.shape[1] != reference.LATENT:
        return (f"x has {x.shape[1]} pixels and eps {eps.shape[1]} latent dimensions: the "
                f"check's models take {ARCHITECTURE['input_dim']} and {reference.LATENT}")
    if not np.all((x >= 0) & (x <= 1)):
        return "x holds values outside [0, 1]: pixels are probabilities of a pixel being on"
    return ""


CASE = Case({"x": "B D", "eps": "B L"}, ("beta",), check=case_problem)


def loss_quantity(b):
    return Quantity(
        "the loss", (), why_sign="The loss is the negative ELBO: -log p(x|z) + beta KL.",
        misplaced=[((b,), "That is the loss of each example; the training loss is their mean, "
                    "one number (backward() starts from one number).")],
        terms=(Term("-log p(x|z)", lambda e: e.r.mean()),
               Term("beta KL", lambda e: e.beta * e.k.mean())),
        formula_text="loss = the mean over the batch of -log p(x|z) + beta KL")


def check_loss(vae_loss, spec):
    """vae_loss on each batch against VAE.loss; the largest error of the gradcheck."""
    name, worst = vae_loss.name, None
    for batch in loss_batches():
        x, eps, beta = (batch.inputs[k] for k in ("x", "eps", "beta"))
        args = [Built("vae", spec), x, eps, beta]
        outcome = called(vae_loss, *args, backward=True)
        (got,) = unpack(name, outcome.result, ["the loss"])
        model = reference.made(spec)
        loss = reference.minivae_loss(model, x, eps, beta)
        e = types.SimpleNamespace(**reference.loss_pieces(model, x, eps), beta=beta,
                                  size=len(x), pixels=x.shape[1], latent=eps.shape[1])
        if not close(got, loss.data) and not explained(got, MISTAKES, e):
            check_repeats(vae_loss, args, got, batch)
            check_uses_eps(vae_loss, args, 2, got, batch)
        compare(name, [loss_quantity(len(x))], [got], [loss.data], MISTAKES, e, batch)
        check_gradients(vae_loss, args, outcome, reference.gradients(model, loss), batch)
        if worst is None:
            worst = gradcheck(vae_loss, args, read_model(vae_loss, outcome)[1], batch)
    return worst


def explained(got, mistakes, e):
    """Whether one of the known mistakes gives the value `got` on these inputs."""
    return any((m.when is None or m.when(e)) and close(got, np.asarray(m.compute(e), dtype=float))
               for m in mistakes)


def check_repeats(learner, args, got, batch):
    """Raise a Finding if the learner's function, called again on the same arguments, gives
    another value: it draws noise of its own."""
    again = unpack(learner.name, called(learner, *args).result, ["it"])[0]
    if not close(again, got):
        raise Finding(WRONG, f"{learner.name} gives another value when called again with the "
                      "same eps: it draws noise of its own", SAME_FOR_ANY_EPS,
                      [batch.label] * bool(batch.label))


def check_uses_eps(learner, args, at, got, batch):
    """Raise a Finding if the learner's function gives the same value for another eps than
    args[at]: it does not use the eps it is given."""
    other = [*args[:at], args[at][::-1] * 0.5 + 0.25, *args[at + 1:]]  # another eps, same shape
    if close(unpack(learner.name, called(learner, *other).result, ["it"])[0], got):
        raise Finding(WRONG, f"{learner.name} gives the same value for another eps: it does not "
                      "use the eps it is given", SAME_FOR_ANY_EPS, [batch.label] * bool(
                          batch.label))


def read_model(learner, outcome):
    """(parameters, gradients) of the model its first argument built, read back after the call:
    {name: array} and {name: array or None}."""
    read = outcome.built[0] if outcome.built else {}
    parameters, grads = read.get("parameters"), read.get("grads")
    if not isinstance(parameters, dict) or not isinstance(grads, dict):
        raise Finding(WRONG, f"{learner.name}: the model did not come back from the call")
    return parameters, grads


CUT = ("backward() follows the graph of Tensors only: compute the loss from the model's Tensors "
       "(model.encode, model.decode) with minivae's ops, never from their arrays (.data, "
       "np.asarray, a new Tensor), which cuts what came before from the graph.")


def cut_gradients(where, spec, batch):
    """The gradients of VAE.loss's formula with z ("z"), or the KL's mu and logvar ("kl"), taken
    out of the graph, as an answer that computes them from arrays does."""
    x, eps, beta = (batch.inputs[k] for k in ("x", "eps", "beta"))
    model = reference.made(spec)
    mu, logvar = model.encode(x)
    z = ops.reparameterize(mu, logvar, eps)
    z = z.detach() if where == "z" else z
    gaussian = (mu.detach(), logvar.detach()) if where == "kl" else (mu, logvar)
    recon = model.decoder.nll(model.decode(z), x)  # -log p(x|z), (B,)
    return reference.gradients(model, (recon + beta * ops.gaussian_kl(*gaussian)).mean())


GRADIENT_MISTAKES = [
    ("z", "backward() gives the encoder the KL's gradient only: z was computed outside the "
     "graph", "z = mu + sigma eps must be a Tensor of the graph (ops.reparameterize(mu, logvar, "
     "eps)): the reconstruction's gradient reaches mu and logvar, and the encoder, through it. "
     + CUT),
    ("kl", "backward() gives the encoder the reconstruction's gradient only: the KL was computed "
     "outside the graph", "Compute the KL from the Tensors mu and logvar "
     "(ops.gaussian_kl(mu, logvar)): its gradient pulls q(z|x) towards the prior. " + CUT),
]


def check_gradients(vae_loss, args, outcome, expected, batch):
    """Every parameter's gradient after backward() of the learner's loss, against VAE.loss's;
    then the leaves of its graph."""
    name, aside = vae_loss.name, [batch.label] * bool(batch.label)
    if outcome.backward:
        raise Finding(WRONG, f"{name}: backward() on the loss it returns fails: "
                      f"{outcome.backward[0]}: {outcome.backward[1]}", "Return the loss as a "
                      "minivae Tensor of one number, computed from the model's Tensors "
                      "(model.encode, model.decode) with minivae's ops and reduced with "
                      ".mean(): backward() starts from it.", aside)
    grads = read_model(vae_loss, outcome)[1]
    got = {n: grads.get(n) for n in expected}
    if all(g is None for g in got.values()):
        raise Finding(WRONG, f"{name}: backward() of its loss reaches none of the model's "
                      "parameters (every .grad is None)", CUT, aside)
    for where, what, why in GRADIENT_MISTAKES:
        cut = cut_gradients(where, args[0].spec, batch)
        if all(g is not None and cut[n] is not None and close(g, cut[n])
               for n, g in got.items()):
            raise Finding(WRONG, f"{name}: {what}", why, aside)
    wrong = [n for n, g in got.items() if g is None or not close(g, expected[n])]
    if wrong:
        first = wrong[0]
        share = f"{len(wrong)} of {len(got)} parameters' gradients differ from VAE.loss's"
        if got[first] is None:
            raise Finding(WRONG, f"{name}: backward() leaves the gradient of {first} empty "
                          "(None)", CUT, [*aside, share])
        numeric = directional(vae_loss, args, first, expected[first])
        why = ("Central differences of your own loss agree with VAE.loss's gradient, not with "
               "what backward() gives: your formula is right and its gradient is not. Is part "
               "of the loss computed from arrays (.data, np.asarray, a new Tensor), outside the "
               "graph, or does an op of your own have a wrong backward?"
               if abs(numeric[0] - numeric[1]) <= GRADCHECK_TOL * max(1, *map(abs, numeric))
               else "")
        try:
            compare(f"{name}: the gradient of {first}", [Quantity(f"the gradient of {first}")],
                    [got[first]], [expected[first]], batch=batch)
        except Finding as finding:
            raise Finding(WRONG, finding.what, why or finding.why, [*finding.asides, share]) \
                from None
    if outcome.strays:
        shapes = " and ".join(str(s) for s in outcome.strays)
        raise Finding(WRONG, f"{name}: the graph of its loss has a leaf of shape {shapes} that "
                      "requires a gradient and is not a parameter of the model", "eps is an "
                      "input, drawn outside the graph: the reparameterization takes the "
                      "randomness out of it, so that the gradient flows to mu and logvar only. "
                      "Pass the array eps to ops.reparameterize as it is, not as a Tensor with "
                      "requires_grad=True.", aside)


def directional(learner, args, parameter, gradient, seed=0):
    """(numeric, analytic): central differences of the learner's loss along a random unit
    direction d in one parameter array, and <gradient, d>."""
    spec = args[0].spec
    d = np.random.default_rng(seed).normal(size=gradient.shape)
    d /= np.linalg.norm(d)
    values = []
    for sign in (1, -1):
        moved = dict(spec["parameters"])
        moved[parameter] = moved[parameter] + sign * GRADCHECK_STEP * d
        result = called(learner, Built("vae", {**spec, "parameters": moved}), *args[1:]).result
        values.append(unpack(learner.name, result, ["the loss"])[0])
    return float((values[0] - values[1]) / (2 * GRADCHECK_STEP)), float(np.sum(gradient * d))


def gradcheck(vae_loss, args, grads, batch):
    """The learner's gradient against central differences of its own loss, along a random
    direction in each parameter array; the largest error, as minivae.gradcheck measures it."""
    worst = 0.0
    for k, (parameter, gradient) in enumerate(sorted(grads.items())):
        numeric, analytic = directional(vae_loss, args, parameter, gradient, seed=k)
        error = abs(numeric - analytic) / max(1.0, abs(numeric), abs(analytic))
        if error > GRADCHECK_TOL:
            raise Finding(WRONG, f"{vae_loss.name}: gradcheck fails along {parameter}: central "
                          f"differences give {numeric:.8g}, backward() {analytic:.8g}")
        worst = max(worst, error)
    return worst
