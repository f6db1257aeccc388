// sample_kl.cuh: the per-element math of the fused sampling-and-KL op, for the host and the GPU.
//
// Everything here is a __host__ __device__ function built from +, -, *, /, shifts and the C math
// functions exp, expf, log, sqrt, cos and sin: no intrinsics, no __CUDA_ARCH__ branches, no
// #include (NVRTC finds no standard headers). nvcc compiles these same lines into the kernels of
// sample_kl.cu and into a host library (host/sample_kl_host.cu) that the tests call through
// ctypes, so a machine without a GPU checks them against minivae/rng.py (the counter layout and
// Philox) and minivae/ops/vae.py (SampleKL). docs/cuda.md reads this file line by line.
#pragma once

namespace minivae {

typedef unsigned int u32;        // a Philox word
typedef unsigned long long u64;  // a seed, a stream, a block number
static_assert(sizeof(u32) == 4 && sizeof(u64) == 8, "Philox needs 32- and 64-bit words");

// ---- Philox4x32-10 (rng.py: philox4x32) ----

constexpr u32 PHILOX_M0 = 0xD2511F53u, PHILOX_M1 = 0xCD9E8D57u;  // round multipliers
constexpr u32 PHILOX_W0 = 0x9E3779B9u, PHILOX_W1 = 0xBB67AE85u;  // key schedule (Weyl constants)

struct Words4 {  // a 128-bit counter going in, four random words coming out
    u32 w0, w1, w2, w3;
};
struct Key2 {  // the 64-bit key
    u32 k0, k1;
};

// One round: (c0, c1, c2, c3) <- (hi(M1 c2) ^ c1 ^ k0,  lo(M1 c2),  hi(M0 c0) ^ c3 ^ k1,  lo(M0 c0)).
__host__ __device__ inline Words4 philox_round(Words4 c, Key2 k) {
    const u64 p0 = (u64)PHILOX_M0 * c.w0;  // 32 x 32 -> 64-bit products
    const u64 p1 = (u64)PHILOX_M1 * c.w2;
    return Words4{(u32)(p1 >> 32) ^ c.w1 ^ k.k0, (u32)p1, (u32)(p0 >> 32) ^ c.w3 ^ k.k1, (u32)p0};
}

// Between rounds the key steps by the Weyl constants; u32 addition wraps mod 2^32, as in rng.py.
__host__ __device__ inline Key2 philox_bump_key(Key2 k) {
    return Key2{k.k0 + PHILOX_W0, k.k1 + PHILOX_W1};
}

__host__ __device__ inline Words4 philox4x32_10(Words4 counter, Key2 key) {
    for (int round = 0; round < 10; ++round) {
        if (round > 0) key = philox_bump_key(key);
        counter = philox_round(counter, key);
    }
    return counter;
}

// The counter layout (rng.py's module docstring): element i of stream s under seed is lane i % 4
// of block i / 4, and that block is Philox of
//     counter = (block_lo, block_hi, stream_lo, stream_hi),   key = (seed_lo, seed_hi).
__host__ __device__ inline Words4 philox_block(u64 seed, u64 stream, u64 block) {
    const Words4 counter{(u32)block, (u32)(block >> 32), (u32)stream, (u32)(stream >> 32)};
    return philox4x32_10(counter, Key2{(u32)seed, (u32)(seed >> 32)});
}

// ---- words -> uniforms -> normals (rng.py: box_muller), always in double ----

constexpr double TWO_POW_32 = 4294967296.0;
constexpr double PI = 3.141592653589793;  // math.pi, so 2.0 * PI is Python's 2.0 * math.pi

struct NormalPair {
    double even, odd;
};

__host__ __device__ inline NormalPair box_muller(u32 w_even, u32 w_odd) {
    const double u1 = (w_even + 1.0) / TWO_POW_32;  // in (0, 1], so log u1 is finite
    const double u2 = w_odd / TWO_POW_32;           // in [0, 1)
    const double radius = sqrt(-2.0 * log(u1));
    const double angle = 2.0 * PI * u2;
    return NormalPair{radius * cos(angle), radius * sin(angle)};
}

template <typename T>
struct Normals4 {  // the four normals of one Philox block: lanes 0..3
    T lane[4];
};

// (w0, w1) -> lanes 0 and 1, (w2, w3) -> lanes 2 and 3, then one rounding to T (a no-op for double).
template <typename T>
__host__ __device__ inline Normals4<T> block_normals(u64 seed, u64 stream, u64 block) {
    const Words4 w = philox_block(seed, stream, block);
    const NormalPair a = box_muller(w.w0, w.w1), b = box_muller(w.w2, w.w3);
    return Normals4<T>{{(T)a.even, (T)a.odd, (T)b.even, (T)b.odd}};
}

// ---- the op, one element at a time (ops/vae.py: SampleKL), in T ----

__host__ __device__ inline float exp_of(float x) { return expf(x); }  // exp in the input's dtype
__host__ __device__ inline double exp_of(double x) { return exp(x); }

template <typename T>
struct ForwardElement {
    T z;        // mu + sigma eps
    T kl_term;  // mu^2 + sigma^2 - 1 - logvar: the row's KL is half the sum of these
};

// The operations and their order are SampleKL.forward's, so only exp can round differently.
template <typename T>
__host__ __device__ inline ForwardElement<T> forward_element(T mu, T logvar, T eps) {
    const T sigma = exp_of(T(0.5) * logvar);  // sigma = exp(logvar / 2)
    const T var = sigma * sigma;              // sigma^2
    return ForwardElement<T>{mu + sigma * eps, mu * mu + var - T(1) - logvar};
}

template <typename T>
struct BackwardElement {
    T dmu, dlogvar;
};

// With upstream gz (this element's) and gk (its row's), as SampleKL.backward computes them:
//     dmu = gz + gk mu,   dlogvar = gz eps sigma / 2 + gk (sigma^2 - 1) / 2.
template <typename T>
__host__ __device__ inline BackwardElement<T> backward_element(T mu, T logvar, T eps, T gz, T gk) {
    const T sigma = exp_of(T(0.5) * logvar);
    const T var = sigma * sigma;
    return BackwardElement<T>{gz + gk * mu, gz * eps * sigma / T(2) + gk * (var - T(1)) / T(2)};
}

}  // namespace minivae
