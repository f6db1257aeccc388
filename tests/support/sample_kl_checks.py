"""What the fused sample-and-KL tests share (host build, emulated kernels, GPU, planted
mistakes in copies of the sources): inputs, the NumPy reference, and the checks themselves."""

import numpy as np

from minivae.engine.function import Context, Function
from minivae.engine.gradcheck import gradcheck
from minivae.ops.vae import SampleKL
from minivae.rng import counter_normal
from support.agreement import assert_agrees, scales

KNOWN_ANSWERS = [  # Random123's kat_vectors for philox4x32_10: counter, key -> words
    ((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
    ((0xFFFFFFFF,) * 4, (0xFFFFFFFF,) * 2, (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
    (
        (0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344),
        (0xA4093822, 0x299F31D0),
        (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1),
    ),
]


def inputs(dtype, shape=(400, 333), seed=5):
    """mu, logvar, gz, gk over wide ranges (sigma from e^-6 to e^3), and SampleKL's eps."""
    draw = np.random.default_rng(seed)
    mu = (3 * draw.standard_normal(shape)).astype(dtype)
    logvar = draw.uniform(-12, 6, shape).astype(dtype)
    gz = draw.standard_normal(shape).astype(dtype)
    gk = draw.standard_normal(shape[0]).astype(dtype)
    return mu, logvar, gz, gk


def reference(mu, logvar, gz, gk, seed, stream):
    """SampleKL's forward and backward on NumPy: z, kl, dmu, dlogvar."""
    ctx = Context(np, (True, True))
    z, kl = SampleKL.forward(ctx, mu, logvar, seed, stream)
    return (z, kl, *SampleKL.backward(ctx, gz, gk))


def check_element_formulas(host_lib, dtype):
    """host_lib's forward_element and backward_element against SampleKL, to the docs' bounds."""
    mu, logvar, gz, gk = inputs(dtype)
    z, kl, dmu, dlogvar = reference(mu, logvar, gz, gk, seed=3, stream=9)
    eps = counter_normal(np, mu.shape, 3, 9, dtype)  # the noise SampleKL drew
    size = scales(mu, logvar, eps, gz, gk)
    host_z, terms = host_lib.forward_elements(mu, logvar, eps)
    assert_agrees("z", host_z, z, size["z"])
    assert_agrees("kl", 0.5 * terms.sum(axis=1), kl, size["kl"])  # NumPy's sum of the terms
    gk_each = np.ascontiguousarray(np.broadcast_to(gk[:, None], mu.shape))
    host_dmu, host_dlogvar = host_lib.backward_elements(mu, logvar, eps, gz, gk_each)
    assert_agrees("dmu", host_dmu, dmu)
    assert_agrees("dlogvar", host_dlogvar, dlogvar, size["dlogvar"])


SIZES = [(1, 1), (1, 1024), (3, 5), (7, 20), (300, 3), (70, 20), (5, 1030), (2, 2051)]


def check_kernels(emulated, dtype, rows, length):
    """emulated's forward and backward kernels against SampleKL, to the docs' bounds."""
    mu, logvar, gz, gk = inputs(dtype, (rows, length), seed=rows * length)
    seed, stream = 2**40 + 3, 2**33 - 2  # the streams of the batch cross a 2^32 boundary
    z, kl, dmu, dlogvar = reference(mu, logvar, gz, gk, seed, stream)
    size = scales(mu, logvar, counter_normal(np, mu.shape, seed, stream, dtype), gz, gk)
    kernel_z, kernel_kl = emulated.forward(mu, logvar, seed, stream, max_blocks=3)
    assert_agrees("z", kernel_z, z, size["z"])
    assert_agrees("kl", kernel_kl, kl, size["kl"])
    kernel_dmu, kernel_dlogvar = emulated.backward(mu, logvar, gz, gk, seed, stream, max_blocks=3)
    assert_agrees("dmu", kernel_dmu, dmu)
    assert_agrees("dlogvar", kernel_dlogvar, dlogvar, size["dlogvar"])


def kernel_op(forward, backward):
    """SampleKL's interface over two launchers, forward(mu, logvar, seed, stream) and
    backward(mu, logvar, gz, gk, seed, stream): a Function that gradcheck can check."""

    class KernelSampleKL(Function):
        @staticmethod
        def forward(ctx, mu, logvar, seed, stream):
            ctx.save_for_backward(mu, logvar)
            ctx.noise = (seed, stream)
            return forward(mu, logvar, seed, stream)

        @staticmethod
        def backward(ctx, gz, gk):
            mu, logvar = ctx.saved
            return backward(mu, logvar, gz, gk, *ctx.noise)

    return KernelSampleKL


def check_gradient(op, move=lambda array: array):
    """gradcheck of `op` (from kernel_op) in float64, inputs moved to its device by `move`."""
    mu, logvar, _, _ = inputs(np.float64, (3, 7))
    report = gradcheck(lambda m, v: op.apply(m, v, seed=4, stream=5), [move(mu), move(logvar / 4)])
    assert report.passed, report
