"""Every differentiable op of minivae, one family per module.

elementwise  add, sub, mul, div, neg, pow, exp, log, sqrt, maximum
activations  relu, tanh, sigmoid, softplus, log_sigmoid
reduce       sum, mean, logsumexp
shape        reshape, transpose, getitem, concatenate, split
linalg       matmul, linear
vae          reparameterize, gaussian_kl, free_bits_kl, sample_kl
likelihoods  bernoulli_nll, gaussian_nll
"""

from minivae.ops.activations import log_sigmoid, relu, sigmoid, softplus, tanh
from minivae.ops.elementwise import add, div, exp, log, maximum, mul, neg, pow, sqrt, sub
from minivae.ops.likelihoods import bernoulli_nll, gaussian_nll
from minivae.ops.linalg import linear, matmul
from minivae.ops.reduce import logsumexp, mean, sum
from minivae.ops.shape import concatenate, getitem, reshape, split, transpose
from minivae.ops.vae import free_bits_kl, gaussian_kl, reparameterize, sample_kl

__all__ = [
    "add", "sub", "mul", "div", "neg", "pow", "exp", "log", "sqrt", "maximum",
    "relu", "tanh", "sigmoid", "softplus", "log_sigmoid",
    "sum", "mean", "logsumexp",
    "reshape", "transpose", "getitem", "concatenate", "split",
    "matmul", "linear",
    "reparameterize", "gaussian_kl", "free_bits_kl", "sample_kl",
    "bernoulli_nll", "gaussian_nll",
]
