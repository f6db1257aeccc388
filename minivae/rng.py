"""A counter-based random number generator (Philox4x32-10), the same on the CPU and the GPU.

An ordinary generator carries a hidden state that each draw advances, so the numbers depend on
the order things ran in. A counter-based generator is a pure function instead:

    bits = philox(counter, key)

Noise element i of stream s under `seed` is a function of (seed, s, i) alone, so any thread on
any device can compute it without talking to the others, and a run resumed from a checkpoint, or
moved to the GPU, draws exactly the same noise. The CUDA kernels (`kernels/`) compute the same
function; this module is their reference.

The counter layout. A draw of shape (R, N) gives each row its own stream: row r is stream
`stream + r`, and its element j is element `offset + j` of that stream. Element i of a stream is
lane i % 4 of block i // 4, and the block's 128-bit counter and 64-bit key are

    counter = (block_lo, block_hi, stream_lo, stream_hi),   key = (seed_lo, seed_hi)

(lo and hi: the low and high 32 bits). So example n of an evaluation draws the same noise in a
batch of 1 or of 1000, and sample k of an importance-weighted estimate the same in any chunk.

Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC 2011): the
counter (c0, c1, c2, c3) and key (k0, k1) go through 10 rounds of

    (c0, c1, c2, c3) <- (hi(M1 c2) ^ c1 ^ k0,  lo(M1 c2),  hi(M0 c0) ^ c3 ^ k1,  lo(M0 c0))

with the key bumped by the Weyl constants (W0, W1) between rounds. The four output words make
two Box-Muller pairs, (w0, w1) for lanes 0 and 1 and (w2, w3) for lanes 2 and 3, in float64:

    u1 = (w_even + 1) / 2^32        in (0, 1], so log u1 is finite
    u2 = w_odd / 2^32               in [0, 1)
    radius = sqrt(-2 log u1)
    angle = 2 pi u2
    n_even = radius cos(angle),  n_odd = radius sin(angle)

and the normals are cast to the dtype asked for at the end.
"""

import math

from minivae import backend

M0, M1 = 0xD2511F53, 0xCD9E8D57  # round multipliers
W0, W1 = 0x9E3779B9, 0xBB67AE85  # key schedule (golden ratio, sqrt(3) - 1)
MASK32 = 0xFFFFFFFF
TWO_POW_32 = 2.0**32


def philox4x32(counter, key, rounds=10):
    """Apply Philox4x32 to arrays of counters.

    counter: 4 words (c0..c3), each an unsigned integer array or a Python int below 2^32, all
    broadcastable together; key: 2 Python ints (k0, k1) below 2^32. Returns 4 uint64 arrays
    holding 32-bit random words. Products are formed in uint64 (32 x 32 -> 64 bits).
    """
    arrays = [c for c in counter if not isinstance(c, int)]
    xp = backend.get_array_module(*arrays)
    c0, c1, c2, c3 = (c if isinstance(c, int) else xp.asarray(c, dtype=xp.uint64) for c in counter)
    k0, k1 = key
    for round_index in range(rounds):
        if round_index:
            k0, k1 = (k0 + W0) & MASK32, (k1 + W1) & MASK32
        p0, p1 = xp.multiply(c0, M0, dtype=xp.uint64), xp.multiply(c2, M1, dtype=xp.uint64)
        c0, c1, c2, c3 = (
            (p1 >> 32) ^ c1 ^ k0,  # hi(M1 c2) ^ c1 ^ k0
            p1 & MASK32,  # lo(M1 c2)
            (p0 >> 32) ^ c3 ^ k1,  # hi(M0 c0) ^ c3 ^ k1
            p0 & MASK32,  # lo(M0 c0)
        )
    return c0, c1, c2, c3  # from round 2 on, every word mixes in the arrays: all full-size


def box_muller(xp, w_even, w_odd):
    """Two arrays of 32-bit words -> two arrays of independent N(0, 1) draws, in float64."""
    u1 = (w_even + 1.0) / TWO_POW_32
    u2 = w_odd / TWO_POW_32
    radius = xp.sqrt(-2.0 * xp.log(u1))
    angle = 2.0 * math.pi * u2
    return radius * xp.cos(angle), radius * xp.sin(angle)


def counter_normal(xp, shape, seed, stream, dtype, offset=0):
    """Normal draws of `shape`: element (r, j) is a function of (seed, stream + r, offset + j).

    The last axis runs along a stream; every leading index (flattened, row-major) is a row with
    a stream of its own, so a 1-D shape is one stream. See the module docstring for the layout.
    """
    *leading, length = shape
    rows = math.prod(leading)
    first_block, end_block = offset // 4, (offset + length + 3) // 4
    blocks = xp.arange(first_block, end_block, dtype=xp.uint64)  # (K,)
    streams = xp.arange(stream, stream + rows, dtype=xp.uint64)[:, None]  # (R, 1)
    counter = (blocks & MASK32, blocks >> 32, streams & MASK32, streams >> 32)
    w0, w1, w2, w3 = philox4x32(counter, (seed & MASK32, (seed >> 32) & MASK32))  # (R, K) each
    lanes_02, lanes_13 = box_muller(xp, xp.stack([w0, w2]), xp.stack([w1, w3]))  # (2, R, K)
    normals = xp.stack([lanes_02[0], lanes_13[0], lanes_02[1], lanes_13[1]], axis=-1)  # (R, K, 4)
    start = offset - 4 * first_block
    wanted = normals.reshape(rows, -1)[:, start : start + length]  # (R, 4K) -> (R, N)
    return wanted.reshape(shape).astype(dtype)


class CounterRNG:
    """A seeded source of normal noise whose whole state is two integers: (seed, stream).

    Every row drawn takes the next stream (see `counter_normal`), so saving (seed, stream) in a
    checkpoint and restoring it reproduces every later draw exactly.
    """

    def __init__(self, seed, stream=0):
        self.seed, self.stream = int(seed), int(stream)

    def __repr__(self):
        return f"CounterRNG(seed={self.seed}, stream={self.stream})"

    def next_streams(self, count):
        """The first of `count` consecutive streams to use now; the next call gets those after."""
        first = self.stream
        self.stream += count
        return first

    def normal(self, xp, shape, dtype):
        """N(0, 1) draws of `shape`, one new stream per row (per leading index)."""
        rows = math.prod(shape[:-1])
        return counter_normal(xp, shape, self.seed, self.next_streams(rows), dtype)

    def state_dict(self):
        return {"seed": self.seed, "stream": self.stream}

    def load_state_dict(self, state):
        self.seed, self.stream = int(state["seed"]), int(state["stream"])
