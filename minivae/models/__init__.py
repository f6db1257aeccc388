"""The models, read second: layers made of ops, the VAE as the paper writes it, the optimizers.

nn               Parameter, Module, Linear, MLP
decoder          Decoder: z -> the parameters of p(x|z), and -log p(x|z)
encoder_decoder  what the VAE and the autoencoder share: the encoder, LossTerms, architecture
vae              VAE: encode, reparameterize, decode, the negative ELBO, sampling, the IWAE bound
autoencoder      the deterministic autoencoder, to compare with
exact_posterior  p(x) and p(z|x) of a model with one latent dimension, on a grid (notebook 2)
optim            SGD and Adam (OPTIMIZERS), gradient clipping
gradcheck_cases  the whole models' losses, for the gradient checks
"""
