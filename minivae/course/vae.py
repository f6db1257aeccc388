"""Exercise `vae` (notebook 5): the learner builds the VAE: its loss, a training step, sampling.

The learner writes three functions of a minivae VAE `model` (its encoder, decoder and
likelihood, with minivae's ops) and an optimizer:

    vae_loss(model, x, eps, beta)         the mean over the B examples of -log p(x|z) + beta KL,
                                          z = mu + sigma eps: a Tensor of one number, whose
                                          backward() gives every parameter's gradient
    train_step(model, optimizer, x, eps)  zero the gradients, the loss, backward, the
                                          optimizer's step; returns the loss
    sample_prior(model, eps)              E[x|z] at z = eps, draws of the prior N(0, I): (n, D)

The functions take objects, so the check passes them as `built.Built` specs: small float64
VAEs (`vae_reference`) and their Adam, built where the functions run (in the notebook's
process, or in the grader's worker) and read back as arrays after the call (parameters,
gradients, Adam's step count). Everything is compared here, with minivae's own answers on the
same models and noise: vae_loss with VAE.loss given the same eps (`vae_loss`, the module);
train_step, once vae_loss is right, with minivae's step from the same state, and sample_prior
with VAE.sample given the same z (`vae_training`). The verdict names the first function that
is wrong and says how the others stand.

They may use minivae's ops and the model's parts (encode, decode, decoder.nll, decoder.mean),
not what computes the answers whole (VAE.loss, VAE.sample, the Trainer, this package).
"""

from minivae.course import vae_reference as reference
from minivae.course.vae_loss import check_loss, loss_batches
from minivae.course.vae_training import check_sampler, check_step
from minivae.course.verdict import NOT_DONE, Finding, Template, checked, combined

TEMPLATES = (Template("vae_loss", ("model", "x", "eps", "beta")),
             Template("train_step", ("model", "optimizer", "x", "eps")),
             Template("sample_prior", ("model", "eps")))
FORBIDDEN = tuple(f"minivae.{name}" for name in (
    "models.vae.VAE.loss", "models.vae.VAE.sample_and_kl", "models.vae.VAE.sample",
    "models.vae.VAE.log_likelihood", "models.encoder_decoder.EncoderDecoder.reconstruct",
    "training", "course"))


@checked("vae", TEMPLATES, forbidden=FORBIDDEN)
def check_vae(vae_loss, train_step, sample_prior):
    """Check vae_loss(model, x, eps, beta), train_step(model, optimizer, x, eps) and
    sample_prior(model, eps) against minivae's VAE.loss, Trainer's step and VAE.sample."""
    findings, asides = {}, {}
    try:
        worst = check_loss(vae_loss, reference.vae_spec(3))
    except Finding as finding:
        findings[vae_loss.name] = finding
    if vae_loss.name not in findings or findings[vae_loss.name].status == NOT_DONE:
        try:
            check_step(train_step)  # it calls vae_loss: if that is blank, it raises there too
        except Finding as finding:
            findings[train_step.name] = finding
    else:
        asides[train_step.name] = f"not checked until {vae_loss.name} is right"
    try:
        check_sampler(sample_prior)
    except Finding as finding:
        findings[sample_prior.name] = finding
    names = [f.name for f in (vae_loss, train_step, sample_prior)]
    if findings:
        raise combined(findings, names, asides)
    return (f"{names[0]} agrees with VAE.loss given the same eps, value and every gradient, on "
            f"{len(loss_batches())} batches; {names[1]} with minivae's training step; {names[2]} "
            "with VAE.sample", f"gradcheck along a random direction in each parameter array "
            f"finds the gradient of your loss equal to central differences (largest error "
            f"{worst:.1e}).")
