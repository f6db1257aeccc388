// matmul.cuh: the arithmetic of one matrix product, for the host and the GPU.
//
//     C[i][j] = sum_k op(A)[i][k] op(B)[k][j]        op(X) = X or X^T,
//
// where op(A) is (M, K), op(B) is (K, N) and C is (M, N). Each element of C is summed in the
// order k = 0, 1, ..., K-1, every product rounded and then every addition (--fmad=false keeps
// the two apart): the textbook sum, the one a loop over k in NumPy computes. matmul.cu decides
// which thread computes which elements; this header holds what they compute. No intrinsics, no
// __CUDA_ARCH__ branches, no #include: the CPU emulation (host/matmul_emulated.cpp) builds the
// same lines. docs/cuda.md ("Matrix products") reads this file against the math.
#pragma once

namespace minivae {

typedef long long i64;  // element offsets: M * K may pass 2^31

// A tile of the K dimension: the products are summed TILE_K at a time from shared memory.
constexpr int TILE_K = 16;

// Element (row, kk) of a matrix X of shape (rows, depth), or 0 past its edges.
// Memory holds X either as it is, row-major (rows, depth): X[row][kk] at x[row * depth + kk];
// or transposed, row-major (depth, rows): X[row][kk] at x[kk * rows + row].
// The zeros pad the last tiles: a product 0 * 0 added to a sum leaves it as it was.
template <typename T>
__host__ __device__ inline T element_or_zero(const T* x, i64 rows, i64 depth, bool transposed,
                                             i64 row, i64 kk) {
    if (row >= rows || kk >= depth) return T(0);
    return transposed ? x[kk * rows + row] : x[row * depth + kk];
}

// One step k of the sum for a thread's R x R block of C: acc[r][s] += a[r] * b[s], where a holds
// op(A)[i_r][k] for the block's rows i_r and b holds op(B)[k][j_s] for its columns j_s.
// An outer product: 2 R numbers read, R^2 products added.
template <typename T, int R>
__host__ __device__ inline void add_outer_product(T (&acc)[R][R], const T (&a)[R], const T (&b)[R]) {
#pragma unroll
    for (int r = 0; r < R; ++r)
#pragma unroll
        for (int s = 0; s < R; ++s) acc[r][s] += a[r] * b[s];  // round a*b, then round the sum
}

}  // namespace minivae
