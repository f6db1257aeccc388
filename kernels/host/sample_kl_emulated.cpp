// sample_kl_emulated.cpp: the real kernels of sample_kl.cu, run on the CPU by emulate.hpp.
//
// The launch shape (grid, threads_per_row) comes from the caller, minivae/cuda.py's
// forward_launch and backward_launch, so the tests check the very shapes the GPU gets.
// `is_double` picks the float or double kernel. Build: minivae.cuda_host.emulated_kernels().
#include "emulate.hpp"

#include "../sample_kl.cu"

using namespace minivae;

template <typename T>
void forward(const void* mu, const void* logvar, const u64* seed_stream, i64 rows, i64 length,
             unsigned grid, int threads_per_row, void* z, void* kl) {
    emulate::launch(grid, BLOCK_THREADS, [=] {
        sample_kl_forward<T>((const T*)mu, (const T*)logvar, seed_stream, rows, length,
                             threads_per_row, (T*)z, (T*)kl);
    });
}

extern "C" void minivae_emulated_forward(int is_double, const void* mu, const void* logvar,
                                         const u64* seed_stream, i64 rows, i64 length,
                                         unsigned grid, int threads_per_row, void* z, void* kl) {
    (is_double ? forward<double> : forward<float>)(mu, logvar, seed_stream, rows, length, grid,
                                                   threads_per_row, z, kl);
}

template <typename T>
void backward(const void* mu, const void* logvar, const void* gz, const void* gk,
              const u64* seed_stream, i64 rows, i64 length, unsigned grid, void* dmu,
              void* dlogvar) {
    emulate::launch(grid, BLOCK_THREADS, [=] {
        sample_kl_backward<T>((const T*)mu, (const T*)logvar, (const T*)gz, (const T*)gk,
                              seed_stream, rows, length, (T*)dmu, (T*)dlogvar);
    });
}

extern "C" void minivae_emulated_backward(int is_double, const void* mu, const void* logvar,
                                          const void* gz, const void* gk, const u64* seed_stream,
                                          i64 rows, i64 length, unsigned grid, void* dmu,
                                          void* dlogvar) {
    (is_double ? backward<double> : backward<float>)(mu, logvar, gz, gk, seed_stream, rows,
                                                     length, grid, dmu, dlogvar);
}
