// sample_kl.cu: the fused op's two kernels, forward and backward, for float and double.
//
// Forward:  z = mu + sigma eps  and  kl[r] = 1/2 sum_j (mu^2 + sigma^2 - 1 - logvar),
// backward: dmu = gz + gk mu,  dlogvar = gz eps sigma / 2 + gk (sigma^2 - 1) / 2,
// with sigma = exp(logvar / 2) and eps drawn in the kernel from Philox (sample_kl.cuh): row r of
// the batch is stream `stream + r`, and its elements 4q .. 4q+3 are the four lanes of block q.
// So one thread takes one quad (four consecutive elements of a row) and makes one Philox call.
// The backward pass draws the same eps again from the same counters: nothing is stored between.
//
// Shapes: mu, logvar, z, gz, dmu, dlogvar are (rows, length), row-major and contiguous; kl and gk
// are (rows,). seed_stream is a device array of two u64, (seed, stream), read by every thread, so
// a captured CUDA graph can replay the kernels with new noise. minivae/cuda.py checks every
// argument before it launches, and docs/cuda.md explains each line against the math.
#include "sample_kl.cuh"

namespace minivae {

typedef long long i64;  // every index is 64-bit: rows * length may pass 2^31

constexpr int BLOCK_THREADS = 256;  // blockDim.x of every launch (minivae/cuda.py: BLOCK_THREADS)

// The forward launch gives each row a team of `threads_per_row` threads, a power of two that
// divides BLOCK_THREADS (about one thread per quad, at most the whole block), so a block holds
// BLOCK_THREADS / threads_per_row rows at once: 32 rows of 20 latents, or one row of 1024.
template <typename T>
__global__ void __launch_bounds__(BLOCK_THREADS)
sample_kl_forward(const T* __restrict__ mu, const T* __restrict__ logvar,
                  const u64* __restrict__ seed_stream, i64 rows, i64 length, int threads_per_row,
                  T* __restrict__ z, T* __restrict__ kl) {
    __shared__ T partial[BLOCK_THREADS];  // one partial KL sum per thread
    const u64 seed = seed_stream[0], stream = seed_stream[1];
    const int team_lane = threadIdx.x % threads_per_row;  // this thread's place in its row's team
    const int team = threadIdx.x / threads_per_row;       // which of the block's rows is ours
    const int rows_per_block = BLOCK_THREADS / threads_per_row;
    const i64 quads = (length + 3) / 4;  // Philox blocks per row; the last may stick out

    // Grid-stride over groups of rows: every thread runs every iteration, even past the last
    // row, because every thread of the block must reach each __syncthreads below.
    for (i64 first = (i64)blockIdx.x * rows_per_block; first < rows;
         first += (i64)gridDim.x * rows_per_block) {
        const i64 row = first + team;
        T sum = 0;  // this thread's share of the row's sum of KL terms
        if (row < rows) {
            for (i64 quad = team_lane; quad < quads; quad += threads_per_row) {
                const Normals4<T> eps = block_normals<T>(seed, stream + row, quad);
                for (int lane = 0; lane < 4; ++lane) {
                    const i64 j = 4 * quad + lane;  // element j of the row is lane j % 4
                    if (j < length) {
                        const i64 at = row * length + j;
                        const ForwardElement<T> e = forward_element(mu[at], logvar[at], eps.lane[lane]);
                        z[at] = e.z;
                        sum += e.kl_term;
                    }
                }
            }
        }
        // Tree reduction inside each team: halve the number of partial sums until the team's
        // first thread holds the row's total. Teams are aligned runs of threads, so the partner
        // threadIdx.x + half always belongs to the same team.
        partial[threadIdx.x] = sum;
        __syncthreads();
        for (int half = threads_per_row / 2; half > 0; half /= 2) {
            if (team_lane < half) partial[threadIdx.x] += partial[threadIdx.x + half];
            __syncthreads();
        }
        // Each slot is read after the barrier that follows the write of it, and a thread's next
        // write to its own slot comes after the last barrier above: no barrier is needed here.
        if (team_lane == 0 && row < rows) kl[row] = T(0.5) * partial[threadIdx.x];
    }
}

// Backward needs no reduction (gk is given per row), so one thread per quad of the whole batch.
template <typename T>
__global__ void __launch_bounds__(BLOCK_THREADS)
sample_kl_backward(const T* __restrict__ mu, const T* __restrict__ logvar,
                   const T* __restrict__ gz, const T* __restrict__ gk,
                   const u64* __restrict__ seed_stream, i64 rows, i64 length,
                   T* __restrict__ dmu, T* __restrict__ dlogvar) {
    const u64 seed = seed_stream[0], stream = seed_stream[1];
    const i64 quads = (length + 3) / 4;
    for (i64 g = (i64)blockIdx.x * BLOCK_THREADS + threadIdx.x; g < rows * quads;
         g += (i64)gridDim.x * BLOCK_THREADS) {
        const i64 row = g / quads, quad = g % quads;
        const Normals4<T> eps = block_normals<T>(seed, stream + row, quad);  // forward's eps
        for (int lane = 0; lane < 4; ++lane) {
            const i64 j = 4 * quad + lane;
            if (j < length) {
                const i64 at = row * length + j;
                const BackwardElement<T> d =
                    backward_element(mu[at], logvar[at], eps.lane[lane], gz[at], gk[row]);
                dmu[at] = d.dmu;
                dlogvar[at] = d.dlogvar;
            }
        }
    }
}

}  // namespace minivae
