"""A counter-based random number generator (Philox4x32-10), the same on the CPU and the GPU.

An ordinary generator carries a hidden state that each draw advances, so the numbers depend on
the order things ran in. A counter-based generator is a pure function instead:

    bits = philox(counter, key)

Noise element i of draw number `stream` under `seed` is a function of (seed, stream, i) alone,
so any thread on any device can compute it without talking to the others, and a run resumed from
a checkpoint, or moved to the GPU, draws exactly the same noise. The CUDA kernels compute the
same function; this module is their reference.

Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC 2011): a 4-word
counter and a 2-word key go through 10 rounds of

    (c0, c1, c2, c3) <- (hi(M1 c2) ^ c1 ^ k0,  lo(M1 c2),  hi(M0 c0) ^ c3 ^ k1,  lo(M0 c0))

with the key bumped by the Weyl constants (W0, W1) between rounds. Normal draws come from two
uniform words by the Box-Muller transform.
"""

import math

from minivae import backend

M0, M1 = 0xD2511F53, 0xCD9E8D57  # round multipliers
W0, W1 = 0x9E3779B9, 0xBB67AE85  # key schedule (golden ratio, sqrt(3) - 1)
MASK32 = 0xFFFFFFFF


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


def counter_normal(xp, shape, seed, stream, dtype, offset=0):
    """Standard normal draws for the elements of `shape`, a function of (seed, stream, index).

    Element i (flat, row-major, counted from `offset`) is lane i % 4 of block i // 4; the
    block's counter is (block_lo, block_hi, stream_lo, stream_hi) and the key is
    (seed_lo, seed_hi). Drawing a big array in pieces with matching offsets gives the same
    numbers as drawing it whole. Lanes (0, 1) and (2, 3) form Box-Muller pairs, computed in
    float64 and then cast to `dtype`:
        u1 = (w0 + 1) / 2^32 in (0, 1],  u2 = w1 / 2^32 in [0, 1)
        n0 = sqrt(-2 log u1) cos(2 pi u2),  n1 = sqrt(-2 log u1) sin(2 pi u2)
    """
    size = math.prod(shape)
    first_block, last_block = offset // 4, (offset + size + 3) // 4
    blocks = xp.arange(first_block, last_block, dtype=xp.uint64)
    counter = (blocks & MASK32, blocks >> 32, stream & MASK32, (stream >> 32) & MASK32)
    w0, w1, w2, w3 = philox4x32(counter, (seed & MASK32, (seed >> 32) & MASK32))
    u1 = (xp.stack([w0, w2]) + 1.0) / 2.0**32  # (2, blocks): lanes 0 and 2, in (0, 1]
    angle = (2.0 * math.pi / 2.0**32) * xp.stack([w1, w3])  # lanes 1 and 3
    radius = xp.sqrt(-2.0 * xp.log(u1))
    normals = xp.empty((len(blocks), 4), dtype=xp.float64)  # block-major, lanes in order
    normals[:, 0::2] = (radius * xp.cos(angle)).T
    normals[:, 1::2] = (radius * xp.sin(angle)).T
    start = offset - 4 * first_block
    return normals.reshape(-1)[start : start + size].reshape(shape).astype(dtype)


class CounterRNG:
    """A seeded source of normal noise whose whole state is two integers: (seed, stream).

    Each call to `normal` uses the next stream, so saving (seed, stream) in a checkpoint and
    restoring it reproduces every later draw exactly.
    """

    def __init__(self, seed, stream=0):
        self.seed, self.stream = int(seed), int(stream)

    def next_stream(self):
        """The stream number to use now; the next call gets the one after."""
        self.stream += 1
        return self.stream - 1

    def normal(self, xp, shape, dtype):
        return counter_normal(xp, shape, self.seed, self.next_stream(), dtype)

    def state_dict(self):
        return {"seed": self.seed, "stream": self.stream}

    def load_state_dict(self, state):
        self.seed, self.stream = int(state["seed"]), int(state["stream"])
