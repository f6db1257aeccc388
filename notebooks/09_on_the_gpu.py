# ---
# jupyter:
#   jupytext:
#     notebook_metadata_filter: -jupytext.text_representation.jupytext_version
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 9. On the GPU
#
# The same VAE runs on a GPU: the op code of notebooks 2 to 5 computes with CuPy instead of
# NumPy when it is given CuPy arrays, and the one op that draws noise, the fused sample-and-KL
# op, becomes two hand-written CUDA kernels (`kernels/sample_kl.cu`). This notebook reads
# those kernels against their math, shows why the CPU and the GPU draw the very same noise
# (a counter-based generator, Philox4x32-10), counts the memory traffic that makes one fused
# kernel worth writing, and ends with the CUDA graph that replays a whole training step.
#
# Most of it needs no GPU. The kernels' per-element math is plain C++ that nvcc also compiles
# for the CPU (`minivae.accel.host_builds.host_library()`), and the kernels themselves run on
# the CPU under an emulation, one host thread per CUDA thread
# (`minivae.accel.host_builds.emulated_kernels()`).
# Cells that need a real GPU check `GPU` first and say so when there is none.
#
# The symbols are those of `docs/math.md`: $\mu$ and $\mathrm{logvar}$ (B, L) from the
# encoder, $\sigma = e^{\mathrm{logvar}/2}$, $\epsilon \sim \mathcal{N}(0, I)$ the noise,
# $z = \mu + \sigma \epsilon$, and the KL to the prior per row. `docs/cuda.md` is the reference
# this notebook follows.

# %%
# %matplotlib inline
import importlib
import math
import pathlib
import sys
import tempfile
import types

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import FancyBboxPatch, Rectangle

import minivae
from minivae import Tensor, backend, ops
from minivae.accel import host_builds, kernel_sources, sample_kl
from minivae.data import load_dataset
from minivae.engine.function import Context
from minivae.errors import MinivaeError
from minivae.models.optim import Adam
from minivae.ops.vae import SampleKL, SampleKLCUDA
from minivae.rng import CounterRNG, box_muller, counter_normal, philox4x32
from minivae.training.config import TrainConfig
from minivae.training.trainer import Trainer

WHY_NO_GPU = backend.why_no_gpu()  # None where CuPy is installed and sees a GPU
GPU = WHY_NO_GPU is None
cupy = backend.cupy  # the module minivae uses (None without CuPy); backend is its only importer
if GPU:
    gpu_name = cupy.cuda.runtime.getDeviceProperties(0)["name"].decode()
    print(f"GPU: {gpu_name}, CuPy {cupy.__version__}. The GPU cells below run.")
else:
    print(f"NOTE: no GPU here: {WHY_NO_GPU}.\nThis run shows the CPU side only: the NumPy "
          "reference and, where nvcc and g++ are installed, the kernels' math built for the "
          "CPU and the kernels under CPU emulation. Cells that need a GPU say what they skip.")

# %% [markdown]
# ## 1. NumPy or CuPy: read off the arrays
#
# minivae has no global "device" switch. `backend.get_array_module(*arrays)` returns `cupy` if
# any of the arrays lives on the GPU, else `numpy` (Chainer's idea). `Function.apply` calls it
# on an op's inputs and hands the module to the op's `forward` and `backward` as `ctx.xp`, so
# one op body, `ctx.xp.exp(0.5 * logvar)` for instance, runs on either. Where a backend has a
# faster form of an op, the op lists it under the module's name in `fast_forms`, and
# `Function.form_for(xp)` picks it (unless inside `minivae.plain_forms()`). Every op that has
# one, found by walking the subclasses of `minivae.Function`:

# %%
def all_subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from all_subclasses(sub)


for op in all_subclasses(minivae.Function):
    if "fast_forms" in vars(op) and op.fast_forms:  # an op that lists fast forms of its own
        forms = {module: form.__name__ for module, form in op.fast_forms.items()}
        print(f"{op.__name__:13s} fast forms: {forms}")

on_cpu = np.zeros((2, 3), dtype=np.float32)
assert backend.get_array_module(on_cpu) is np
assert SampleKL.form_for(np) is SampleKL  # NumPy: the plain form, the reference
stand_in = types.ModuleType("cupy")  # form_for reads only the module's name
assert SampleKL.form_for(stand_in) is SampleKLCUDA  # CuPy: the two CUDA kernels
with minivae.plain_forms():
    assert SampleKL.form_for(stand_in) is SampleKL  # switched off: the textbook form everywhere
print("\nSampleKL on numpy ->", SampleKL.form_for(np).__name__, "| on cupy ->",
      SampleKL.form_for(stand_in).__name__)

# %% [markdown]
# To put a model on the GPU, build it there: `minivae.VAE(..., xp=cupy)` makes its parameters
# CuPy arrays (drawn on the CPU from the same seed, then copied, so both devices start from the
# same weights), and every op it runs then computes on the GPU. From the command line,
# `minivae train --device gpu` does the same through `backend.module_for_device("gpu")`, which
# refuses with one clear line where it cannot work:

# %%
try:
    print("module_for_device('gpu') ->", backend.module_for_device("gpu").__name__)
except MinivaeError as error:
    print("MinivaeError:", error)

train, _ = load_dataset("sprites")
x = train.x[:64]  # (B, D) = (64, 784)
vae_cpu = minivae.VAE(784, hidden=(64,), latent_dim=8, dtype=np.float64, seed=0)
loss_cpu = vae_cpu.loss(x).objective.data  # (B,): recon + KL per example
print(f"CPU: mean -ELBO of 64 sprites under an untrained VAE: {loss_cpu.mean():.6f} nats")
if GPU:
    vae_gpu = minivae.VAE(784, hidden=(64,), latent_dim=8, dtype=np.float64, seed=0, xp=cupy)
    loss_gpu = backend.to_numpy(vae_gpu.loss(x).objective.data)
    print(f"GPU: {loss_gpu.mean():.6f} nats; largest relative difference "
          f"{np.max(np.abs(loss_gpu - loss_cpu) / np.abs(loss_cpu)):.1e}")
    # same weights, same eps (the next section says why), products summed in another order
    assert np.allclose(loss_gpu, loss_cpu, rtol=1e-10)
else:
    print("no GPU here: the same VAE with xp=cupy, and its loss against the CPU's, are skipped")

# %% [markdown]
# The two losses can agree only if both devices draw the same $\epsilon$. That is the next
# section.
#
# ## 2. Philox4x32-10: noise as a pure function of a counter
#
# An ordinary generator has a hidden state that each draw advances, so which numbers a thread
# gets depends on what ran before it. Thousands of GPU threads would have to take turns.
# A counter-based generator is a function instead, bits = philox(counter, key), so any thread
# can compute the noise of any element by itself. `minivae.rng.philox4x32` implements
# Philox4x32-10 (Salmon et al., 2011): a 128-bit counter $(c_0, c_1, c_2, c_3)$ and a 64-bit
# key $(k_0, k_1)$ go through 10 rounds of
#
# $$
# (c_0, c_1, c_2, c_3) \leftarrow
# \big(\mathrm{hi}(M_1 c_2) \oplus c_1 \oplus k_0,\;
# \mathrm{lo}(M_1 c_2),\;
# \mathrm{hi}(M_0 c_0) \oplus c_3 \oplus k_1,\;
# \mathrm{lo}(M_0 c_0)\big)
# $$
#
# ($\mathrm{hi}$ and $\mathrm{lo}$: the high and low 32 bits of a 64-bit product; $\oplus$
# exclusive or), the key bumped by the constants $(W_0, W_1)$ before every round but the first.
# Its authors' library, Random123, publishes known answers; the implementation must give them
# exactly:

# %%
KNOWN_ANSWERS = [  # Random123's kat_vectors for philox4x32_10: counter, key -> the four words
    ((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
    ((2**32 - 1,) * 4, (2**32 - 1,) * 2, (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
    ((0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344), (0xA4093822, 0x299F31D0),
     (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1)),
]
for counter, key, expected in KNOWN_ANSWERS:
    words = philox4x32(tuple(np.array([c], dtype=np.uint64) for c in counter), key)
    got = tuple(int(w[0]) for w in words)
    assert got == expected, (counter, key)
    print(f"counter {[hex(c) for c in counter]} key {[hex(k) for k in key]}\n"
          f"   -> {[hex(w) for w in got]}  (Random123's answer)")

# %% [markdown]
# **The counter layout** (`docs/math.md`, "Where the noise comes from"). A draw of shape
# (B, L) from stream $s$ gives row $r$ the stream $s + r$; element $j$ of that row is lane
# $j \bmod 4$ of Philox block $b = \lfloor j / 4 \rfloor$, computed from
#
# $$
# \text{counter} = \big(b \bmod 2^{32},\; \lfloor b / 2^{32} \rfloor,\;
# (s + r) \bmod 2^{32},\; \lfloor (s + r) / 2^{32} \rfloor\big),
# \qquad
# \text{key} = (\text{seed's low 32 bits},\; \text{seed's high 32 bits})
# $$
#
# The four words $w_0, \dots, w_3$ become four normals by two Box-Muller pairs in float64
# (`rng.box_muller`): $(w_0, w_1)$ give lanes 0 and 1, $(w_2, w_3)$ lanes 2 and 3, with
#
# $$
# u_1 = \frac{w_{\mathrm{even}} + 1}{2^{32}}, \quad u_2 = \frac{w_{\mathrm{odd}}}{2^{32}},
# \qquad
# \epsilon_{\mathrm{even}} = \sqrt{-2 \log u_1}\, \cos(2\pi u_2), \quad
# \epsilon_{\mathrm{odd}} = \sqrt{-2 \log u_1}\, \sin(2\pi u_2)
# $$
#
# So each element's noise depends on $(\text{seed}, s + r, j)$ and nothing else. One block,
# followed
# through by hand below with `philox4x32` and `box_muller`, and checked against
# `rng.counter_normal`, the function every draw goes through:

# %%
SEED, FIRST_STREAM = 2024, 10  # a draw of shape (3, 16) from stream 10 under seed 2024
row, block = 2, 3  # row 2 is stream 12; block 3 holds its elements 12 .. 15
stream = FIRST_STREAM + row
counter = (block & 0xFFFFFFFF, block >> 32, stream & 0xFFFFFFFF, stream >> 32)
key = (SEED & 0xFFFFFFFF, SEED >> 32)
w0, w1, w2, w3 = (w[0] for w in philox4x32(tuple(np.array([c], np.uint64) for c in counter), key))
evens, odds = box_muller(np, np.array([w0, w2]), np.array([w1, w3]))  # pairs (w0, w1), (w2, w3)
by_hand = np.array([evens[0], odds[0], evens[1], odds[1]])  # lanes 0, 1, 2, 3
whole_draw = counter_normal(np, (3, 16), SEED, FIRST_STREAM, np.float64)  # (B, L) = (3, 16)
assert np.array_equal(by_hand, whole_draw[row, 4 * block : 4 * block + 4])
print("eps[2, 12:16] by hand:  ", by_hand)
print("eps[2, 12:16] in a draw:", whole_draw[row, 12:16])


# %%
def flow_box(axes, x, y, title, body, colour, width=2.3, height=1.9):
    """A rounded box centred at (x, y): a bold title and, below it, monospace lines."""
    corner = (x - width / 2, y - height / 2)
    axes.add_patch(FancyBboxPatch(corner, width, height, boxstyle="round,pad=0.05",
                                  facecolor=colour, edgecolor="black"))
    axes.text(x, y + height / 2 - 0.25, title, ha="center", va="center", fontsize=9.5,
              weight="bold")
    axes.text(x, y - 0.15, body, ha="center", va="center", fontsize=8, family="monospace")


hexes = [f"w{i} = {int(w):#010x}" for i, w in enumerate((w0, w1, w2, w3))]
steps = [
    ("element (r, j)", f"r = {row}, j = 12..15\nof a draw from\nstream s = {FIRST_STREAM}",
     "white"),
    ("stream and block", f"stream s + r = {stream}\nblock j // 4 = {block}\nlane j % 4 = 0..3",
     "#fde2c8"),
    ("counter and key", "counter =\n" + f"({counter[0]}, {counter[1]}, {counter[2]}, "
     f"{counter[3]})\nkey = ({key[0]}, {key[1]})", "#fde2c8"),
    ("Philox4x32-10", "10 rounds of\nmultiply, xor,\nbump the key\n" + "\n".join(hexes), "#dbe9f6"),
    ("Box-Muller (float64)", "(w0, w1) -> lanes 0, 1\n(w2, w3) -> lanes 2, 3\n"
     "u1 = (w_even + 1) / 2^32\nu2 = w_odd / 2^32\nrad = sqrt(-2 log u1)\n"
     "rad cos(2 pi u2)\nrad sin(2 pi u2)", "#dbe9f6"),
    ("eps[r, 12..15]", "\n".join(f"lane {i}: {v:+.6f}" for i, v in enumerate(by_hand)), "#e3f1dc"),
]
figure, axes = plt.subplots(figsize=(15, 3.4))
for i, (title, body, colour) in enumerate(steps):
    flow_box(axes, 2.7 * i, 0, title, body, colour)
    if i:
        axes.annotate("", xy=(2.7 * i - 1.2, 0), xytext=(2.7 * (i - 1) + 1.2, 0),
                      arrowprops=dict(arrowstyle="->", lw=1.4))
axes.set_xlim(-1.3, 2.7 * 5 + 1.3)
axes.set_ylim(-1.1, 1.1)
axes.axis("off")
axes.set_title(f"One Philox block, seed {SEED}: where four elements of a row get their noise "
               "(rng.philox4x32, rng.box_muller)")
plt.show()

# %% [markdown]
# **Any piece, the same numbers.** Because element $(r, j)$ is a function of
# $(\text{seed}, s + r, j)$, a batch can be drawn whole or in pieces: rows apart (a later row
# block starts at stream $s + r_0$), columns apart (`counter_normal`'s `offset` starts a piece
# at element $j_0$ of each stream), or one element alone. All give the same numbers, bit for
# bit. This is what lets every GPU thread compute its own $\epsilon$, and what makes example
# $n$ draw the same noise in a batch of 1 or 1000.

# %%
B, L, s = 8, 20, 100  # a (B, L) draw from stream s
whole = counter_normal(np, (B, L), SEED, s, np.float64)
pieces = [  # (first row, first column, rows, columns): each drawn on its own
    (0, 0, 3, L),  # rows 0-2, whole
    (3, 0, 5, 7),  # rows 3-7, columns 0-6
    (3, 7, 5, 13),  # rows 3-7, columns 7-19: offset 7 into each stream
    (6, 15, 1, 1),  # one element alone: (6, 15)
]
stitched = np.full((B, L), np.nan)
for r0, j0, rows, columns in pieces:
    piece = counter_normal(np, (rows, columns), SEED, s + r0, np.float64, offset=j0)
    assert np.array_equal(piece, whole[r0 : r0 + rows, j0 : j0 + columns])
    if rows * columns > 1:
        stitched[r0 : r0 + rows, j0 : j0 + columns] = piece
assert np.array_equal(stitched, whole)
one_row = counter_normal(np, (1, L), SEED, s + 5, np.float64)  # row 5 as a batch of one
assert np.array_equal(one_row[0], whole[5])
print("every piece equals its part of the whole draw, bit for bit")

figure, axes = plt.subplots(figsize=(11, 5.2), layout="constrained")
image = axes.imshow(whole, cmap="RdBu_r", vmin=-3, vmax=3)
for (r0, j0, rows, columns), colour in zip(pieces, ["C2", "C1", "C4", "black"], strict=True):
    where = (f"rows {r0}-{r0 + rows - 1}, columns {j0}-{j0 + columns - 1}" if rows * columns > 1
             else f"element ({r0}, {j0}) alone")
    # drawn a little inside the piece, so that neighbouring outlines stay apart
    axes.add_patch(Rectangle((j0 - 0.42, r0 - 0.42), columns - 0.16, rows - 0.16, fill=False,
                             edgecolor=colour, lw=3, label=f"{where}: counter_normal(({rows}, "
                             f"{columns}), stream {s + r0}, offset {j0})"))
axes.set_xticks(range(L))
axes.set_xlabel("j: element of the row's stream")
axes.set_ylabel(f"r: row (stream {s} + r)")
axes.set_title("One (8, 20) draw and four pieces drawn on their own: all equal, bit for bit")
axes.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14), fontsize=9, ncol=1)
figure.colorbar(image, ax=axes, label="eps", shrink=0.8)
plt.show()

# %% [markdown]
# And the numbers are standard normal: a million of them against the $\mathcal{N}(0, 1)$
# density, mean and variance within 3 standard errors of 0 and 1 (the variance of a sample
# variance of $n$ normals is $2 / (n - 1)$).

# %%
eps = counter_normal(np, (1000, 1000), SEED, 0, np.float64).ravel()
n = eps.size
assert abs(eps.mean()) < 3 / math.sqrt(n)
assert abs(eps.var(ddof=1) - 1) < 3 * math.sqrt(2 / (n - 1))
print(f"mean {eps.mean():+.5f} (3 standard errors: {3 / math.sqrt(n):.5f}), "
      f"variance {eps.var(ddof=1):.5f} (3 standard errors: {3 * math.sqrt(2 / (n - 1)):.5f})")

figure, axes = plt.subplots(figsize=(8, 3.8))
grid = np.linspace(-5, 5, 401)
axes.hist(eps, bins=200, range=(-5, 5), density=True, color="C0", alpha=0.6,
          label=f"{n:,} draws of counter_normal")
axes.plot(grid, np.exp(-grid**2 / 2) / math.sqrt(2 * math.pi), "k", lw=1.2, label="N(0, 1)")
axes.set_yscale("log")
axes.set_ylim(1e-6, 30)
axes.set_xlabel("eps")
axes.set_ylabel("density (log scale)")
axes.set_title("Philox words through Box-Muller: standard normal noise, tails included")
axes.legend(loc="upper left")
plt.show()

# %% [markdown]
# ## 3. The same noise on the CPU and the GPU
#
# The CUDA kernels draw $\epsilon$ with the same function, written in C++ in
# `kernels/sample_kl.cuh`:
# `philox_round`, `philox4x32_10`, `philox_block` (the counter layout), `box_muller` and
# `block_normals`. Every function there is `__host__ __device__` and uses only integer and
# floating-point arithmetic and the C functions `exp`, `log`, `sqrt`, `cos`, `sin`: no GPU
# intrinsics, no `#ifdef`. So nvcc compiles the same lines for the CPU too, into a shared
# library that Python loads with ctypes (`host_builds.host_library()`, built once and cached).
# It needs nvcc, not a GPU.

# %%
try:
    host = host_builds.host_library()
    print("host library:", host.path.name, "built from kernels/host/sample_kl_host.cu")
except MinivaeError as error:  # no nvcc on this machine
    host = None
    print(f"NOTE: no host library here ({error}).\nThe cells comparing the kernels' C++ math "
          "with NumPy are skipped; the emulated kernels further down need only g++.")

# %% [markdown]
# How close must the two be? `docs/cuda.md` states it once, in a table the tests read; here it
# is, read from the file. `equal` means bit for bit; `N ulp`, at most N representable numbers
# apart; `c = N`, |kernel - numpy| <= N * epsilon * scale elementwise, with epsilon 2^-23
# (float32) or 2^-52 (float64) and a scale given per output in the docs.

# %%
DOCS = pathlib.Path("..") / "docs" / "cuda.md"  # the notebooks run in notebooks/


def agreement_table():
    """{output: {"float32": bound, "float64": bound}} from docs/cuda.md's table."""
    text = DOCS.read_text(encoding="utf-8")
    section = text.split("\n## What is equal and what only close\n", 1)[1].split("\n## ", 1)[0]
    table = {}
    for line in section.splitlines():
        cells = [cell.strip().strip("`") for cell in line.strip("| ").split("|")]
        if line.startswith("| ") and cells[0] != "output":
            table[cells[0]] = {"float32": cells[1], "float64": cells[2]}
    return table


BOUNDS = agreement_table()
for output, bound in BOUNDS.items():
    print(f"{output:13s} float32: {bound['float32']:7s} float64: {bound['float64']}")
assert set(BOUNDS) == {"Philox words", "eps", "z", "kl", "dmu", "dlogvar"}


def ulp_apart(a, b):
    """How many steps from one float to the next lie between a and b (elementwise, one dtype,
    one sign): the distance of their bit patterns, which for floats of one sign run in the
    order of the numbers."""
    assert np.array_equal(np.signbit(a), np.signbit(b))
    bits = {4: np.int32, 8: np.int64}[a.dtype.itemsize]
    return np.abs(a.view(bits).astype(np.int64) - b.view(bits).astype(np.int64))


def check_bound(output, actual, expected, scale=None):
    """Assert docs/cuda.md's bound for `output`; return the measured figure (differing
    elements for `equal`, worst ulp for `N ulp`, worst c for `c = N`)."""
    bound = BOUNDS[output][actual.dtype.name]
    if bound == "equal":
        differing = int(np.sum(actual != expected))
        assert differing == 0, f"{output}: {differing} elements differ"
        return differing
    if bound.endswith("ulp"):
        worst = int(ulp_apart(actual, expected).max())
        assert worst <= int(bound.split()[0]), f"{output}: {worst} ulp, bound {bound}"
        return worst
    c = np.abs(actual.astype(np.float64) - expected) / (np.finfo(actual.dtype).eps * scale)
    assert c.max() <= float(bound.split("=")[1]), f"{output}: c = {c.max():.2f}, bound {bound}"
    return float(c.max())


# %% [markdown]
# **Philox words**, integer arithmetic, must be equal everywhere: the known answers, then
# 2^18 random counters under random keys, the C++ `philox4x32_10` against `rng.philox4x32`.

# %%
if host is not None:
    counters, keys, expected = (np.array(v, np.uint64) for v in zip(*KNOWN_ANSWERS, strict=True))
    assert np.array_equal(host.philox(counters, keys), expected)
    draw = np.random.default_rng(1)
    counters = draw.integers(0, 2**32, (16, 2**14, 4), dtype=np.uint64)  # 2^14 per key
    keys = draw.integers(0, 2**32, (16, 2), dtype=np.uint64)  # rng.philox4x32: one key a call
    by_numpy = np.stack([np.stack(philox4x32(tuple(c.T), tuple(int(k) for k in key)), axis=1)
                         for c, key in zip(counters, keys, strict=True)])  # (16, 2^14, 4)
    by_cuh = host.philox(counters.reshape(-1, 4), np.repeat(keys, 2**14, axis=0))  # (2^18, 4)
    differing = int(np.sum(by_cuh.reshape(by_numpy.shape) != by_numpy))
    assert differing == 0 and BOUNDS["Philox words"] == {"float32": "equal", "float64": "equal"}
    print(f"the known answers, and {by_numpy.size:,} words under 16 keys: {differing} differ")
else:
    print("no host library: the words of the C++ Philox are not compared here")

# %% [markdown]
# **Normals**, the whole path: counter layout, Philox, Box-Muller. The C++ and NumPy run the
# same operations in the same order in double, but `log`, `cos` and `sin` come from different
# maths libraries (NumPy's own and glibc's here; CUDA's on a GPU), each within a couple of ulp
# of the true value. So float64 normals may differ by a few ulp, which rounding to float32 then
# hides, except in the rare case where the double lands near a point halfway between two
# floats. Two (seed, stream) pairs, the second using the high 32 bits of both, a million
# normals each:

# %%
if host is not None:
    ulps = []
    for seed, stream in [(SEED, 0), (2**33 + 5, 2**40 + 7)]:
        for dtype in (np.float32, np.float64):
            from_numpy = counter_normal(np, (1000, 1003), seed, stream, dtype)  # rows not 4k long
            from_cuh = host.normals((1000, 1003), seed, stream, dtype)
            measured = check_bound("eps", from_cuh, from_numpy)
            apart = ulp_apart(from_cuh, from_numpy).ravel()
            print(f"seed {seed}, stream {stream}, {np.dtype(dtype).name}: "
                  f"{np.count_nonzero(apart):,} of {apart.size:,} differ, by at most "
                  f"{apart.max()} ulp (bound: {BOUNDS['eps'][np.dtype(dtype).name]})")
            if dtype is np.float64:
                ulps.append(apart)
            else:
                assert measured == 0
    ulps = np.concatenate(ulps)
    counts = np.bincount(ulps, minlength=3)
    figure, axes = plt.subplots(figsize=(7, 3.8))
    bars = axes.bar(np.arange(len(counts)), counts, color=["C2"] + ["C1"] * (len(counts) - 1))
    axes.bar_label(bars, labels=[f"{c:,}" for c in counts])
    axes.set_yscale("log")
    axes.set_ylim(0.5, 10 * ulps.size)
    axes.set_xticks(np.arange(len(counts)))
    axes.set_xlabel("ulp between the host build's eps and counter_normal's (float64)")
    axes.set_ylabel("normals (log scale)")
    axes.set_title(f"{ulps.size:,} float64 normals: the kernel's math against NumPy "
                   f"(bound: {BOUNDS['eps']['float64']})")
    plt.show()
else:
    print("no host library: the normals of the C++ path are not compared here")

# %% [markdown]
# On a GPU the kernel's `log`, `cos` and `sin` are CUDA's, and only a GPU can check those.
# The fused kernel shows its $\epsilon$ directly when $\mu = 0$ and $\mathrm{logvar} = 0$:
# then $\sigma = 1$ and $z = 0 + 1 \cdot \epsilon = \epsilon$ exactly, so its $z$ output *is*
# its noise.

# %%
if GPU:
    zeros = cupy.zeros((1000, 1003), dtype=cupy.float64)
    for dtype in (np.float32, np.float64):
        zeros_dtype = zeros.astype(dtype)
        kernel_eps, _ = sample_kl.sample_kl_forward(zeros_dtype, zeros_dtype, SEED, 0)
        from_numpy = counter_normal(np, (1000, 1003), SEED, 0, dtype)
        measured = check_bound("eps", kernel_eps.get(), from_numpy)
        on_cupy = counter_normal(cupy, (1000, 1003), SEED, 0, dtype).get()  # the plain form on CuPy
        print(f"GPU kernel's eps, {np.dtype(dtype).name}: measured {measured} against NumPy; "
              f"counter_normal on CuPy: {check_bound('eps', on_cupy, from_numpy)}")
else:
    print("no GPU here: the kernel's own eps (CUDA's log, cos, sin) is not compared with NumPy; "
          "tests/accel/test_gpu_sample_kl.py does that where there is a GPU")

# %% [markdown]
# ## 4. The fused kernel, next to its math
#
# `ops.sample_kl(mu, logvar, seed, stream)` is one op for two steps of the VAE's loss
# (`ops.vae.SampleKL`, its NumPy form, is the reference). Forward, $z$ (B, L) and the KL of
# each row $r$ (B,); backward, with $g_z$ (B, L) and $g_k$ (B,) the gradients arriving from
# above:
#
# $$
# z = \mu + \sigma \epsilon, \qquad
# \mathrm{kl}_r = \frac12 \sum_j \left(\mu_{rj}^2 + \sigma_{rj}^2 - 1 - \mathrm{logvar}_{rj}\right);
# \qquad
# \frac{\partial \mathcal{L}}{\partial \mu} = g_z + g_k\, \mu, \qquad
# \frac{\partial \mathcal{L}}{\partial\, \mathrm{logvar}}
# = g_z\, \frac{\epsilon \sigma}{2} + g_k\, \frac{\sigma^2 - 1}{2}
# $$
#
# with $\epsilon$ of row $r$ from stream `stream + r`. The backward pass does not read a stored
# $\epsilon$: it draws it again from the same counters. The source below is what CuPy
# compiles, `kernel_sources.kernel_source("sample_kl.cu")`, the header pasted in place of its
# `#include` with `#line` markers; `show` prints one function from it with the file and line
# number each line has in `kernels/`.

# %%
SOURCE = kernel_sources.kernel_source("sample_kl.cu")


def numbered_source(text):
    """[(file, line, text)] for the assembled source, following its #line markers."""
    numbered, where, number = [], "?", 0
    for line in text.splitlines():
        if line.startswith("#line "):
            _, number, where = line.split()
            number, where = int(number) - 1, where.strip('"')
            continue
        number += 1
        numbered.append((where, number, line))
    return numbered


LINES = numbered_source(SOURCE)


def show(signature):
    """Print the function whose definition line contains `signature`, with the comment and
    template lines above it, down to its closing brace."""
    start = next(i for i, (_, _, text) in enumerate(LINES) if signature in text)
    while start > 0 and LINES[start - 1][2].lstrip().startswith(("//", "template", "__global")):
        start -= 1
    depth, opened, end = 0, False, start
    for end in range(start, len(LINES)):
        text = LINES[end][2]
        depth += text.count("{") - text.count("}")
        opened = opened or "{" in text
        if opened and depth == 0:
            break
    for where, number, text in LINES[start : end + 1]:
        print(f"{where}:{number:<4d}| {text}")
    print()


# %% [markdown]
# **Philox in C++.** The round is the formula above, word for word: `(u64)PHILOX_M0 * c.w0`,
# a 32 x 32 -> 64-bit product, gives $\mathrm{hi}$ (`>> 32`) and $\mathrm{lo}$ (the cast to 32
# bits) at once, and unsigned 32-bit addition wraps modulo $2^{32}$ as `rng.py`'s `& MASK32`
# does. `philox_block` is the counter layout: counter (block_lo, block_hi, stream_lo,
# stream_hi), key (seed_lo, seed_hi).

# %%
show("inline Words4 philox_round")
show("inline Key2 philox_bump_key")
show("inline Words4 philox4x32_10")
show("inline Words4 philox_block")

# %% [markdown]
# **Box-Muller**, in double on both sides, its lines in the order `rng.box_muller` writes them
# (`2.0 * PI * u2` is Python's `2.0 * math.pi * u2`), and the four lanes of a block, each
# rounded once to T (float or double):

# %%
show("inline NormalPair box_muller")
show("inline Normals4<T> block_normals")

# %% [markdown]
# **The element formulas**, forward and backward, in the order `SampleKL` evaluates them:
# $\sigma = e^{0.5\, \mathrm{logvar}}$, $\mathrm{var} = \sigma \sigma$, then
# $z = \mu + \sigma \epsilon$ and the KL term $\mu \mu + \mathrm{var} - 1 - \mathrm{logvar}$
# (the row's KL is half their sum); $g_z + g_k \mu$ for $\mu$ and
# $g_z \epsilon \sigma / 2 + g_k (\mathrm{var} - 1) / 2$ for $\mathrm{logvar}$. The kernels
# are compiled with fused multiply-adds off (`--fmad=false`), so every operation but `exp`
# rounds as NumPy's does.

# %%
show("inline ForwardElement<T> forward_element")
show("inline BackwardElement<T> backward_element")

# %% [markdown]
# The host library runs these two functions over arrays, given the $\epsilon$ the op draws. The
# reference is `ops.sample_kl` on NumPy arrays, the plain `SampleKL`, run through the autograd
# engine: its $z$, and the gradients of $\sum g_z z + \sum g_k \mathrm{kl}$, which hand
# SampleKL's backward exactly $g_z$ and $g_k$. On 200,000 elements with $\sigma$ from $e^{-4}$
# to $e^2$, within `docs/cuda.md`'s bounds; the scales are the docs': $|z| + |\sigma \epsilon|$
# for $z$, and $|g_z \epsilon \sigma / 2| + |g_k (\sigma^2 + 1) / 2|$ for the gradient of
# $\mathrm{logvar}$.


# %%
def latent_batch(rows, length, dtype, seed=0):
    """A (B, L) batch for the op: mu, logvar with sigma from e^-4 to e^2, upstream gz and gk."""
    draw = np.random.default_rng(seed)
    mu = 3 * draw.standard_normal((rows, length))
    logvar = draw.uniform(-8, 4, (rows, length))
    gz, gk = draw.standard_normal((rows, length)), draw.standard_normal(rows)
    return [v.astype(dtype) for v in (mu, logvar, gz, gk)]


def reference(mu, logvar, gz, gk, seed, stream):
    """ops.sample_kl on NumPy (the plain SampleKL) through the autograd engine: z, kl, and
    the gradients of sum(gz z) + sum(gk kl), which reach SampleKL.backward as gz and gk."""
    mu, logvar = Tensor(mu, requires_grad=True), Tensor(logvar, requires_grad=True)
    z, kl = ops.sample_kl(mu, logvar, seed, stream)
    ((z * gz).sum() + (kl * gk).sum()).backward()
    return z.data, kl.data, mu.grad, logvar.grad


def scale(output, mu, logvar, eps, gz=None, gk=None):
    """docs/cuda.md's scale of `output`, in float64: the size of what went into it."""
    mu, logvar, eps = (np.asarray(v, np.float64) for v in (mu, logvar, eps))
    sigma = np.exp(logvar / 2)
    if output == "z":
        return np.abs(mu + sigma * eps) + np.abs(sigma * eps)
    if output == "kl":
        return 0.5 * np.sum(mu**2 + sigma**2 + 1 + np.abs(logvar), axis=1)
    gk = np.asarray(gk, np.float64)[:, None]
    return np.abs(gz * eps * sigma / 2) + np.abs(gk * (sigma**2 + 1) / 2)  # dlogvar


if host is not None:
    for dtype in (np.float32, np.float64):
        mu, logvar, gz, gk = latent_batch(1000, 200, dtype)
        z, _, dmu, dlogvar = reference(mu, logvar, gz, gk, SEED, 0)
        eps = counter_normal(np, mu.shape, SEED, 0, dtype)  # the op's eps: rows from stream 0
        host_z, _ = host.forward_elements(mu, logvar, eps)
        gk_each = np.ascontiguousarray(np.broadcast_to(gk[:, None], mu.shape))  # gk per element
        host_dmu, host_dlogvar = host.backward_elements(mu, logvar, eps, gz, gk_each)
        c_z = check_bound("z", host_z, z, scale("z", mu, logvar, eps))
        differing = check_bound("dmu", host_dmu, dmu)
        c_dlogvar = check_bound("dlogvar", host_dlogvar, dlogvar,
                                scale("dlogvar", mu, logvar, eps, gz, gk))
        print(f"{np.dtype(dtype).name}, {mu.size:,} elements: z c = {c_z:.2f} (bound 8), dmu "
              f"{differing} differ (equal), dlogvar c = {c_dlogvar:.2f} (bound 12)")
else:
    print("no host library: the element formulas are not compared here")

# %% [markdown]
# ### The kernels: who does what
#
# One Philox call gives four normals, lanes 0 to 3, and lanes are consecutive elements of a
# row. So **one thread takes one quad**, elements 4q .. 4q+3 of a row, with one Philox call;
# the last quad of a row may stick out past L, which the lane loop's `j < length` catches.
#
# **Forward.** The KL sums over a row, so a row's threads must meet. Each row gets a *team* of
# `threads_per_row` threads, the power of two at or above its number of quads, at most the
# block of 256 (`sample_kl.forward_launch`); a block then holds 256 / threads_per_row rows. Each
# thread adds up the KL terms of its quads, then the team adds its partial sums by a tree in
# shared memory, halving at each step, `__syncthreads()` between steps, and the team's first
# thread writes kl[r] = 0.5 * total. The launch shapes for the docs' sizes:

# %%
print("    L  quads  threads per row  rows per block")
for length, docs_row in [(20, (8, 32)), (256, (64, 4)), (1024, (256, 1)), (2000, (256, 1))]:
    grid, threads_per_row = sample_kl.forward_launch(4096, length)
    rows_per_block = sample_kl.BLOCK_THREADS // threads_per_row
    assert (threads_per_row, rows_per_block) == docs_row  # docs/cuda.md, "Thread mapping"
    print(f"{length:5d} {math.ceil(length / 4):6d} {threads_per_row:16d} {rows_per_block:15d}")

# %%
show("sample_kl_forward(const T*")

# %% [markdown]
# **Backward.** gk comes per row, so nothing needs summing: one thread per quad of the whole
# batch, thread g taking row g // quads and quad g % quads, with the same `block_normals` call
# as the forward pass: the same $\epsilon$, drawn again. Both kernels loop grid-stride, so a grid of
# at most 4096 blocks covers any batch.

# %%
show("sample_kl_backward(const T*")

# %% [markdown]
# The picture for B = 3 rows of L = 20 latents: five quads a row, so teams of 8 threads (three
# of them with no quad), 32 rows to a block, of which 3 are used. The tree then adds 8
# partial sums in three steps. The backward grid numbers the 15 quads of the batch in order.
# The thread numbers are computed from the kernels' index formulas, `threadIdx.x =
# team * threads_per_row + team_lane` and `g = row * quads + quad`, with the team size that
# `sample_kl.forward_launch` picks.

# %%
ROWS, LENGTH = 3, 20
grid, threads_per_row = sample_kl.forward_launch(ROWS, LENGTH)
quads = math.ceil(LENGTH / 4)
assert (grid, threads_per_row) == (1, 8) and sample_kl.backward_launch(ROWS, LENGTH) == 1
forward_thread = np.array([[r * threads_per_row + j // 4 for j in range(LENGTH)]
                           for r in range(ROWS)])
backward_thread = np.array([[r * quads + j // 4 for j in range(LENGTH)] for r in range(ROWS)])
assert len(np.unique(forward_thread)) == ROWS * quads  # each quad one thread, each thread one quad
assert np.array_equal(np.unique(backward_thread), np.arange(ROWS * quads))
idle = sorted(set(range(sample_kl.BLOCK_THREADS)) - set(forward_thread.ravel()))
assert idle == [5, 6, 7, 13, 14, 15, 21, 22, 23, *range(24, 256)]  # the forward title's list
assert threads_per_row == 2**3  # so the tree takes three steps

figure, panels = plt.subplots(3, 1, figsize=(12, 9.5), height_ratios=[1, 1.1, 1],
                              layout="constrained")
for panel, threads, title in [
    (panels[0], forward_thread, "forward: thread t = team * 8 + team_lane takes quad team_lane"
     " of row team (block 0; threads 5-7, 13-15, 21-23 and 24-255 have no quad)"),
    (panels[2], backward_thread, "backward: thread g = row * 5 + quad, one per quad of the "
     "batch (threads 15-255 of the block have none)"),
]:
    panel.imshow(threads, cmap="YlGnBu", vmin=-4, vmax=28, alpha=0.7, aspect="auto")
    for r in range(ROWS):
        for j in range(LENGTH):
            panel.text(j, r, f"t{threads[r, j]}\nlane {j % 4}", ha="center", va="center",
                       fontsize=7.5)
        for q in range(1, quads):
            panel.axvline(4 * q - 0.5, color="black", lw=1.5)
    panel.set_yticks(range(ROWS), [f"row {r}\n(stream s+{r})" for r in range(ROWS)])
    panel.set_xticks(range(LENGTH))
    panel.set_xlabel("j, element of the row")
    panel.set_title(title, fontsize=10)
# the middle panel: row 0's tree over its team's 8 partial sums
tree = panels[1]
levels = [8, 4, 2, 1]
for level, count in enumerate(levels):
    for slot in range(count):
        x = slot * 8 / count + 4 / count - 0.5
        label = (f"t{slot}\nquad {slot}" if slot < quads else f"t{slot}\n0") if level == 0 else (
            f"slot {slot}" if count > 1 else "kl[0] = 0.5 * slot 0")
        colour = "#dbe9f6" if level else "#fde2c8"
        tree.text(x, -level, label, ha="center", va="center", fontsize=8.5,
                  bbox=dict(boxstyle="round", facecolor=colour))
        if level:
            half = count
            for partner in (slot, slot + half):
                px = partner * 8 / (2 * count) + 4 / (2 * count) - 0.5
                tree.annotate("", xy=(x, -level + 0.2), xytext=(px, -level + 0.8),
                              arrowprops=dict(arrowstyle="->", lw=1))
    if level:
        tree.text(8.2, -level + 0.5, f"half = {levels[level]}: slot i += slot i + {levels[level]}"
                  ", then __syncthreads()", fontsize=8.5, va="center")
tree.set_xlim(-1, 13.5)
tree.set_ylim(-3.5, 0.5)
tree.axis("off")
tree.set_title("forward, row 0: the team's tree in shared memory, 8 partial sums -> 1", fontsize=10)
plt.show()

# %% [markdown]
# **The kernels themselves, run on the CPU.** `host_builds.emulated_kernels()` compiles
# `sample_kl.cu` itself with g++ under `kernels/host/emulate.hpp`, which turns each CUDA
# thread of a block into a host thread and `__syncthreads()` into a barrier, with the launch
# shapes `sample_kl.forward_launch` and `sample_kl.backward_launch` choose and the grid capped at 4
# blocks, so the grid-stride loops go round. This checks the indexing, the bounds, the tree
# and that every thread reaches every barrier; not warps, the GPU's memory model or speed.
# Against `SampleKL` on NumPy, at sizes with short rows, rows whose last quad sticks out past
# L (L = 5 and 1027), rows of more quads than a block has threads (1027 latents: 257 quads),
# and more rows than the capped grid holds at once (500 and 64 rows):

# %%
try:
    emulated = host_builds.emulated_kernels()
except MinivaeError as error:  # no g++ (C++20) on this machine
    emulated = None
    print(f"NOTE: the emulated kernels cannot be built here ({error}); skipped.")

SIZES = [(3, 20), (37, 5), (500, 20), (6, 1027), (64, 256)]
if emulated is not None:
    print(f"{'B x L':>10} {'dtype':>8} {'z c':>6} {'kl c':>6} {'dmu differ':>11} {'dlogvar c':>10}")
    for rows, length in SIZES:
        for dtype in (np.float32, np.float64):
            mu, logvar, gz, gk = latent_batch(rows, length, dtype, seed=rows + length)
            z, kl, dmu, dlogvar = reference(mu, logvar, gz, gk, SEED, 77)
            eps = counter_normal(np, mu.shape, SEED, 77, dtype)
            kernel_z, kernel_kl = emulated.forward(mu, logvar, SEED, 77)
            kernel_dmu, kernel_dlogvar = emulated.backward(mu, logvar, gz, gk, SEED, 77)
            measured = [
                check_bound("z", kernel_z, z, scale("z", mu, logvar, eps)),
                check_bound("kl", kernel_kl, kl, scale("kl", mu, logvar, eps)),
                check_bound("dmu", kernel_dmu, dmu),
                check_bound("dlogvar", kernel_dlogvar, dlogvar,
                            scale("dlogvar", mu, logvar, eps, gz, gk)),
            ]
            print(f"{rows:>4} x {length:<4} {np.dtype(dtype).name:>8} {measured[0]:6.2f} "
                  f"{measured[1]:6.2f} {measured[2]:11d} {measured[3]:10.2f}")
    print("all within docs/cuda.md's bounds (float32 / float64):", "; ".join(
        f"{out} {BOUNDS[out]['float32']} / {BOUNDS[out]['float64']}" for out in BOUNDS))

# %% [markdown]
# On a GPU the same comparison runs the real kernels, launched through `sample_kl.sample_kl_forward`
# and `sample_kl.sample_kl_backward` (which check every operand's dtype, shape, contiguity and
# device first: a raw kernel would misread a wrong one silently):

# %%
if GPU:
    for rows, length in SIZES + [(4096, 256)]:
        for dtype in (np.float32, np.float64):
            mu, logvar, gz, gk = latent_batch(rows, length, dtype, seed=rows + length)
            z, kl, dmu, dlogvar = reference(mu, logvar, gz, gk, SEED, 77)
            eps = counter_normal(np, mu.shape, SEED, 77, dtype)
            on_gpu = [cupy.asarray(v) for v in (mu, logvar, gz, gk)]
            kernel_z, kernel_kl = sample_kl.sample_kl_forward(*on_gpu[:2], SEED, 77)
            kernel_dmu, kernel_dlogvar = sample_kl.sample_kl_backward(*on_gpu, SEED, 77)
            measured = [
                check_bound("z", kernel_z.get(), z, scale("z", mu, logvar, eps)),
                check_bound("kl", kernel_kl.get(), kl, scale("kl", mu, logvar, eps)),
                check_bound("dmu", kernel_dmu.get(), dmu),
                check_bound("dlogvar", kernel_dlogvar.get(), dlogvar,
                            scale("dlogvar", mu, logvar, eps, gz, gk)),
            ]
            print(f"GPU {rows} x {length} {np.dtype(dtype).name}: z c {measured[0]:.2f}, "
                  f"kl c {measured[1]:.2f}, dmu {measured[2]} differ, dlogvar c {measured[3]:.2f}")
else:
    print("no GPU here: the real kernels are not launched; the emulation above ran their code")

# %% [markdown]
# ## 5. Why one fused kernel: the bytes it moves
#
# An elementwise op like this one does little arithmetic for each byte it moves, so on a GPU
# its time is mostly memory traffic, as long as the arithmetic keeps up (whether the
# double-precision Box-Muller keeps up in float32 is the first question `docs/cuda.md` puts to
# the benchmark). The fused op moves the least there is: the forward pass
# reads $\mu$ and $\mathrm{logvar}$ and writes $z$ and the KL, $(3BL + B)\, s$ bytes for
# floats of $s$ bytes; the backward pass reads $\mu$, $\mathrm{logvar}$, $g_z$ and $g_k$ and
# writes the two gradients, $(5BL + B)\, s$.
#
# The plain form, `SampleKL` on CuPy arrays, is a composition of separate elementwise
# kernels, one per operation, and each reads its operands from memory and writes its result
# back. How many bytes exactly? Rather than count by hand, run `SampleKL.forward` and
# `SampleKL.backward` on arrays that keep a tally: `Tally`, a NumPy array subclass, adds up the
# bytes of the arrays each NumPy operation reads and the bytes of the array it writes.
# Two things it does not count, so the unfused figure is a lower bound: `counter_normal`'s
# own work (its uint64 counters and words and float64 intermediates, plain arrays the tally
# never sees; below, only writing $\epsilon$ is counted), and the memory the backward pass needs
# kept from the forward pass, $\epsilon$, $\sigma$ and $\sigma^2$, three (B, L) arrays, where
# the fused kernels keep nothing of shape (B, L) but the inputs, $\mu$ and $\mathrm{logvar}$.

# %%
MOVED = {"read": 0, "written": 0}  # bytes, reset before each pass


class Tally(np.ndarray):
    """A NumPy array that, for each operation on it, adds to MOVED the bytes of the distinct
    input arrays (read) and of the result (written)."""

    def __array_ufunc__(self, ufunc, method, *operands, **kwargs):
        arrays = {id(a): a for a in operands if isinstance(a, np.ndarray)}
        MOVED["read"] += sum(a.nbytes for a in arrays.values())
        plain = [a.view(np.ndarray) if isinstance(a, Tally) else a for a in operands]
        result = getattr(ufunc, method)(*plain, **kwargs)
        MOVED["written"] += result.nbytes
        return result.view(Tally)


B, L, itemsize = 256, 32, 4  # float32
mu, logvar, gz, gk = (v.view(Tally) for v in latent_batch(B, L, np.float32))
per_element = B * L * itemsize
ctx = Context(np, (True, True))
MOVED.update(read=0, written=0)
SampleKL.forward(ctx, mu, logvar, SEED, 0)
unfused_forward = dict(MOVED, written=MOVED["written"] + per_element)  # + eps written
MOVED.update(read=0, written=0)
SampleKL.backward(ctx, gz, gk)
unfused_backward = dict(MOVED)
fused = {  # the kernels: each array read or written once
    "forward": {"read": 2 * B * L * itemsize, "written": (B * L + B) * itemsize},
    "backward": {"read": (3 * B * L + B) * itemsize, "written": 2 * B * L * itemsize},
}
unfused = {"forward": unfused_forward, "backward": unfused_backward}
for direction in ("forward", "backward"):
    total_fused, total_unfused = sum(fused[direction].values()), sum(unfused[direction].values())
    print(f"{direction:8s} fused {total_fused / per_element:5.2f} s per element, unfused at "
          f"least {total_unfused / per_element:5.2f}: {total_unfused / total_fused:.1f}x")
    assert total_unfused > 3 * total_fused

figure, axes = plt.subplots(figsize=(8, 4.2))
labels = ["forward\nfused", "forward\nunfused", "backward\nfused", "backward\nunfused"]
bars = [fused["forward"], unfused["forward"], fused["backward"], unfused["backward"]]
reads = np.array([b["read"] for b in bars]) / per_element
writes = np.array([b["written"] for b in bars]) / per_element
axes.bar(labels, reads, color="C0", label="read")
axes.bar(labels, writes, bottom=reads, color="C1", label="written")
for i, total in enumerate(reads + writes):
    axes.text(i, total + 0.3, f"{total:.2f}", ha="center")
axes.set_ylabel("bytes moved / (B L s)")
axes.set_title(f"Memory traffic of SampleKL's passes, B x L = {B} x {L}: one kernel each, or "
               "one kernel per NumPy operation (a lower bound)", fontsize=10)
axes.legend()
plt.show()

# %% [markdown]
# **The benchmark tables.** `benchmarks/sample_kl.py` times both launches at B x L = 128 x 20,
# 4096 x 256, 65536 x 1024 and 2^22 x 20, against a device-to-device copy of the same number of
# bytes (the speed limit), the unfused CuPy form and PyTorch; `bash benchmarks/gpu_check.sh`
# runs it with the GPU tests in one log. `docs/cuda.md` states the targets (at least 90% of
# copy bandwidth at the largest sizes, at most 10 us at 128 x 20). With a GPU, the cell below
# runs a short version of the benchmark's measurement (float32, three sizes, no PyTorch).

# %%
if GPU:
    sys.path.insert(0, str(pathlib.Path("..").resolve() / "benchmarks"))
    benchmark = importlib.import_module("sample_kl")  # benchmarks/sample_kl.py
    results = []
    for rows, length in [(128, 20), (4096, 256), (65536, 1024)]:
        results += benchmark.measure(cupy, None, rows, length, np.float32, repeats=5)
    benchmark.print_table(results)
else:
    print("no GPU here: no timings. None have been measured in this environment and none are "
          "quoted here; the numbers come from the prepared GPU check, `bash "
          "benchmarks/gpu_check.sh`, on a machine with a GPU (docs/cuda.md, Performance).")

# %% [markdown]
# ## 6. A training step as a CUDA graph
#
# A step of this small model is a few hundred short kernels; launched one by one from Python,
# each costs microseconds of host time, more than many of them take to run.
# `minivae train --device gpu --cuda-graph` (`minivae.accel.graph_step.GraphStep`) records the whole
# step (forward, backward, Adam, the epoch's loss sums) once into a CUDA graph, then replays
# it with one call per batch. Capturing also proves that nothing in the step makes the host
# wait for the device: such a call is an error while a stream captures.
#
# **What a graph freezes.** A replay repeats each recorded launch with the arguments it had at
# capture: the kernel, the grid, the pointers and every scalar argument's value. What it reads
# afresh is memory. So whatever changes from step to step must live in device memory and be
# changed in place: the batch's indices (`GraphStep.index`, copied in before each replay),
# beta (`GraphStep.beta`), the noise stream and Adam's step count t, which the graph itself
# advances. Those two are made by `backend.step_scalar(xp, value, dtype)`: on the GPU a 0-d
# device array, on the CPU a plain Python number. That is also why the fused kernels read
# (seed, stream) from a device array (`seed_stream`) rather than taking two integers.
#
# On the CPU there is no graph, but the difference can still be shown: a value copied when
# something is recorded stays what it was, while an array updated in place is still at the
# address that was recorded and holds the new value. Here a NumPy 0-d array stands in for the
# device memory that `step_scalar` gives on the GPU:

# %%
noise = CounterRNG(seed=3)  # on the CPU: noise.stream is a step_scalar, a Python int
assert type(noise.stream) is int and type(backend.step_scalar(np, 0, np.int64)) is int
print("streams handed out:", [noise.next_streams(128) for _ in range(3)], "| now", noise.stream)
print("Adam's step count on the CPU:", repr(Adam(vae_cpu.parameters()).t))

in_memory = np.full((), 384, dtype=np.uint64)  # what step_scalar(cupy, ...) makes on the GPU
address = in_memory.ctypes.data
recorded_value, recorded_array = int(in_memory), in_memory  # a scalar argument; a pointer
in_memory += 128  # the step advances the stream in place: what a captured step does
assert in_memory.ctypes.data == address and recorded_array is in_memory
print(f"recorded as a value: {recorded_value}; read through the recorded address: "
      f"{int(recorded_array)}")
as_number = 384
before = id(as_number)
as_number += 128  # a Python int cannot change: += makes a new object
assert id(as_number) != before
print("a Python number, +=: a new object; a graph would have kept the old value")

# %% [markdown]
# **Why minivae has its own matrix product.** CuPy captures its own kernels, but refuses the
# CUDA libraries while a stream is capturing: `cupy.matmul` (cuBLAS) raises
# `NotImplementedError`. A dense layer needs three products (x W + b, G W^T, x^T G) and a
# column sum, so during a capture `ops.linalg.LinearCUDA` runs minivae's own kernels
# (`kernels/matmul.cu`, `kernels/column_sum.cu`, through `minivae.accel.matmul`), and cuBLAS
# everywhere else. `docs/cuda.md`, "Matrix products", reads them line by line.
#
# With a GPU, the cell below captures one fused forward launch that reads its stream from
# `seed_stream`, replays it after writing new streams into that array, and checks each replay
# against NumPy's draw for that stream; then it shows cuBLAS refused during a capture, and a
# short sprites run trained with `cuda_graph=True`.

# %%
if GPU:
    mu_np, logvar_np, gz_np, gk_np = latent_batch(64, 20, np.float64)
    mu_gpu, logvar_gpu = cupy.asarray(mu_np), cupy.asarray(logvar_np)
    seed_stream = sample_kl.seed_stream_array(SEED, 0)  # (seed, stream) in device memory
    z_out, kl_out = cupy.empty((64, 20)), cupy.empty(64)  # the addresses the graph will write
    sample_kl.sample_kl_forward(mu_gpu, logvar_gpu, seed_stream=seed_stream, out=(z_out, kl_out))
    capture_stream = cupy.cuda.Stream(non_blocking=True)  # compiled and loaded above
    cupy.cuda.Device().synchronize()
    with capture_stream:
        capture_stream.begin_capture()
        sample_kl.sample_kl_forward(mu_gpu, logvar_gpu, seed_stream=seed_stream,
                                    out=(z_out, kl_out))
        graph = capture_stream.end_capture()
        for new_stream in (64, 128, 5000):
            seed_stream[1] = new_stream  # on the capture stream, so ordered before the replay
            graph.launch(stream=capture_stream)
            capture_stream.synchronize()
            z_ref = reference(mu_np, logvar_np, gz_np, gk_np, SEED, new_stream)[0]
            eps_ref = counter_normal(np, (64, 20), SEED, new_stream, np.float64)
            measured = check_bound("z", z_out.get(), z_ref, scale("z", mu_np, logvar_np, eps_ref))
            print(f"replay with stream {new_stream}: z matches NumPy's draw (c = {measured:.2f})")
    refusing = cupy.cuda.Stream(non_blocking=True)
    with refusing:
        refusing.begin_capture()
        try:
            cupy.matmul(mu_gpu, mu_gpu.T)
            print("cupy.matmul was captured: this CuPy lets cuBLAS into a graph")
        except NotImplementedError as error:
            print("cupy.matmul while capturing -> NotImplementedError:", error)
        finally:
            refusing.end_capture()
    settings = dict(dataset="sprites", limit=512, epochs=2, batch_size=64, hidden=(32,),
                    latent_dim=4, dtype="float64")
    with tempfile.TemporaryDirectory() as out:
        graph_run = Trainer(TrainConfig(**settings, device="gpu", cuda_graph=True, out=out + "/g"),
                            progress=False, log=lambda _: None)
        cpu_run = Trainer(TrainConfig(**settings, out=out + "/c"), progress=False,
                          log=lambda _: None)
        on_gpu, on_cpu = graph_run.fit()[-1]["test_neg_elbo"], cpu_run.fit()[-1]["test_neg_elbo"]
    print(f"sprites, 2 epochs: test -ELBO {on_gpu:.6f} (GPU, a captured step replayed "
          f"{graph_run.graph_step.replays} times), {on_cpu:.6f} (CPU)")
    assert graph_run.graph_step.replays > 0 and abs(on_gpu - on_cpu) <= 1e-6 * abs(on_cpu)
else:
    print("no GPU here: no graph is captured. With a GPU this cell captures the fused forward "
          "launch, replays it with new streams written into seed_stream, shows cupy.matmul "
          "refused during a capture and trains 2 epochs of sprites with cuda_graph=True.")

# %% [markdown]
# ## What this notebook showed, and where to read on
#
# - One op body for both devices: the array module comes from the arrays (`ctx.xp`), and an
#   op's fast form for a backend is looked up by the module's name (`Function.form_for`).
# - Philox4x32-10 makes $\epsilon$ a pure function of $(\text{seed}, \text{stream} + r, j)$:
#   Random123's answers reproduced, and any piece of a draw equal to its part of the whole.
# - The kernels' C++ draws the same noise: Philox words equal, float32 normals equal, float64
#   normals within 2 ulp (a different maths library's log, cos and sin).
# - The fused kernels, read next to their math, agree with `SampleKL` within `docs/cuda.md`'s
#   bounds, run under CPU emulation: one thread per quad, a team per row, a tree per team.
# - One fused kernel moves a fraction of the bytes of the unfused composition.
# - A CUDA graph freezes arguments, not memory: hence step scalars in device memory, and
#   minivae's own matrix product where cuBLAS cannot be captured.
#
# Further: `docs/cuda.md` (every line of the kernels, the agreement table and why each bound
# is what it is, what only a GPU can show), `kernels/README.md`, and `bash
# benchmarks/gpu_check.sh` on a machine with a GPU.
