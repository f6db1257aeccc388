"""minivae: a Variational Autoencoder built from scratch, every gradient written by hand."""
