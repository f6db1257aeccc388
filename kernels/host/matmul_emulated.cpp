// matmul_emulated.cpp: the real kernels of matmul.cu and column_sum.cu, run on the CPU by
// emulate.hpp (a host thread per CUDA thread, __syncthreads a barrier).
//
// The launch shape comes from the caller, minivae/cuda_matmul.py's matmul_grid and
// column_sum_grid, so the tests check the very grids the GPU gets. `is_double` picks the float
// or double kernel, `per_thread` the tile (2: 32 x 32, 4: 64 x 64); bias may be null.
// Build: minivae.cuda_host.emulated_matmul().
#include "emulate.hpp"

#include "../column_sum.cu"
#include "../matmul.cu"

using namespace minivae;

template <typename T, int PER_THREAD>
void run_matmul(const void* a, const void* b, const void* bias, i64 m, i64 n, i64 k,
                int transpose_a, int transpose_b, unsigned grid, void* c) {
    emulate::launch(grid, THREADS, [=] {
        matmul<T, PER_THREAD>((const T*)a, (const T*)b, (const T*)bias, m, n, k, transpose_a,
                              transpose_b, (T*)c);
    });
}

template <typename T>
void run_matmul(int per_thread, const void* a, const void* b, const void* bias, i64 m, i64 n,
                i64 k, int transpose_a, int transpose_b, unsigned grid, void* c) {
    (per_thread == 4 ? run_matmul<T, 4> : run_matmul<T, 2>)(a, b, bias, m, n, k, transpose_a,
                                                            transpose_b, grid, c);
}

extern "C" void minivae_emulated_matmul(int is_double, int per_thread, const void* a,
                                        const void* b, const void* bias, i64 m, i64 n, i64 k,
                                        int transpose_a, int transpose_b, unsigned grid, void* c) {
    (is_double ? run_matmul<double> : run_matmul<float>)(per_thread, a, b, bias, m, n, k,
                                                         transpose_a, transpose_b, grid, c);
}

template <typename T>
void run_column_sum(const void* g, i64 rows, i64 cols, unsigned grid, void* out) {
    emulate::launch(grid, COLUMN_SUM_THREADS,
                    [=] { column_sum<T>((const T*)g, rows, cols, (T*)out); });
}

extern "C" void minivae_emulated_column_sum(int is_double, const void* g, i64 rows, i64 cols,
                                            unsigned grid, void* out) {
    (is_double ? run_column_sum<double> : run_column_sum<float>)(g, rows, cols, grid, out);
}
