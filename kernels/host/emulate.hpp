// emulate.hpp: run the __global__ kernels of kernels/*.cu on the CPU, for the tests.
//
// Each CUDA thread of a block becomes a host thread (std::thread); the blocks of the grid run one
// after another. threadIdx and blockIdx are per host thread, blockDim and gridDim per launch,
// __shared__ arrays are static (one copy, which is enough while a single block runs at a time),
// and __syncthreads() is a std::barrier over the threads of the block.
//
// What this proves: the kernels' indexing, bounds checks, grid-stride loops, reductions and
// shared-memory tiles give the right numbers for any launch shape, and every thread reaches
// every barrier (a thread that skipped one would leave the others waiting forever). What it does
// not prove: anything about warps, the GPU's memory model, its maths library, or speed.
// Build (g++ -std=c++20): minivae.cuda_host.emulated_kernels() and emulated_matmul().
#pragma once

#include <barrier>
#include <math.h>
#include <thread>
#include <vector>

#define __global__
#define __host__
#define __device__
#define __shared__ static
#define __launch_bounds__(threads)

struct dim3 {
    unsigned x = 1, y = 1, z = 1;
};
inline thread_local dim3 threadIdx, blockIdx;
inline dim3 blockDim, gridDim;
inline std::barrier<>* emulated_block_barrier = nullptr;

inline void __syncthreads() { emulated_block_barrier->arrive_and_wait(); }

namespace emulate {

// kernel<<<grid, block>>>(...) as launch(grid, block, [&] { kernel(...); }).
// Host thread t plays thread t of block 0, then of block 1, ...: one set of threads per launch
// (starting threads, not barriers, is what costs), and a barrier after each block so that the
// next block starts only when every thread is done with this one's shared memory.
template <typename Body>
void launch(unsigned grid, unsigned block, Body body) {
    gridDim = dim3{grid};
    blockDim = dim3{block};
    std::barrier<> barrier(block);
    emulated_block_barrier = &barrier;
    std::vector<std::thread> threads;
    for (unsigned t = 0; t < block; ++t)
        threads.emplace_back([&body, &barrier, grid, t] {
            threadIdx = dim3{t};
            for (unsigned b = 0; b < grid; ++b) {
                blockIdx = dim3{b};
                body();
                barrier.arrive_and_wait();  // block b ends
            }
        });
    for (std::thread& thread : threads) thread.join();
}

}  // namespace emulate
