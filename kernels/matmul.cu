// matmul.cu: C = op(A) op(B) (+ bias), a tiled matrix product in shared memory, float and double.
//
// The three products of a dense layer y = x W + b are all of this form:
//     forward   y     = x W + b      op(A) = x (B, I),  op(B) = W (I, O),   bias b (O,)
//     backward  dL/dx = G W^T        op(A) = G (B, O),  op(B) = W^T: W is (I, O), transposed
//               dL/dW = x^T G        op(A) = x^T: x is (B, I), transposed,  op(B) = G (B, O)
// (dL/db, the column sums of G, is column_sum.cu.) Every matrix is row-major and C-contiguous;
// transpose_a / transpose_b say that memory holds A^T / B^T instead: no transposed copy is made.
//
// The mapping (docs/cuda.md, "Matrix products"): block b computes one TILE x TILE tile of C,
// TILE = 16 PER_THREAD (32 or 64). Its 256 threads form a 16 x 16 grid; thread (ty, tx) sums the
// PER_THREAD x PER_THREAD elements C[row0 + ty + 16 r][col0 + tx + 16 s] in registers. K is
// walked TILE_K = 16 at a time: the block copies a TILE x 16 slice of op(A) and a 16 x TILE slice
// of op(B) into shared memory, then every thread takes its 16 steps of the sum from there. So each
// number fetched from memory serves TILE products, and each read from shared memory PER_THREAD.
// Bounds are checked everywhere: any M, N, K, including 1 and sizes that are no multiple of TILE.
#include "matmul.cuh"

namespace minivae {

constexpr int SIDE = 16;                  // threads along each side of a block's 16 x 16 grid
constexpr int THREADS = SIDE * SIDE;      // blockDim.x of every launch (cuda_matmul.THREADS)

// Copy the slice X[row0 .. row0 + TILE)[k0 .. k0 + TILE_K) of a (rows, depth) matrix X into
// tile[kk][row], k-major: step kk of the sum then reads a whole row of the tile. All threads
// share the work, taking the elements in the order memory holds them (along kk when X is stored
// as it is, along row when stored transposed), so neighbouring threads read neighbouring
// addresses. tile has TILE + 1 columns: with TILE, the 16 threads writing one stored row of X
// (16 values of kk) would all hit one of shared memory's 32 banks; one column more spreads them.
template <int TILE, typename T>
__device__ inline void load_tile(T (*tile)[TILE + 1], const T* __restrict__ x, i64 rows,
                                 i64 depth, bool transposed, i64 row0, i64 k0) {
    static_assert(TILE * TILE_K % THREADS == 0, "every thread copies as many elements");
#pragma unroll
    for (int step = 0; step < TILE * TILE_K / THREADS; ++step) {  // 2 or 4 elements each
        const int e = step * THREADS + threadIdx.x;  // the tile's elements in memory order
        const int row = transposed ? e % TILE : e / TILE_K;
        const int kk = transposed ? e / TILE : e % TILE_K;
        tile[kk][row] = element_or_zero(x, rows, depth, transposed, row0 + row, k0 + kk);
    }
}

// C (m, n) = op(A) op(B) (+ bias), op(A) (m, k), op(B) (k, n), bias (n,) or nullptr.
// Grid: one block per tile of C, ceil(m / TILE) * ceil(n / TILE) blocks, tiles in row order.
template <typename T, int PER_THREAD>
__global__ void __launch_bounds__(THREADS)
matmul(const T* __restrict__ a, const T* __restrict__ b, const T* __restrict__ bias, i64 m,
       i64 n, i64 k, int transpose_a, int transpose_b, T* __restrict__ c) {
    constexpr int TILE = SIDE * PER_THREAD;
    __shared__ T a_tile[TILE_K][TILE + 1];  // a_tile[kk][i] = op(A)[row0 + i][k0 + kk]
    __shared__ T b_tile[TILE_K][TILE + 1];  // b_tile[kk][j] = op(B)[k0 + kk][col0 + j]

    const i64 tiles_per_row = (n + TILE - 1) / TILE;
    const i64 row0 = blockIdx.x / tiles_per_row * TILE;  // this block's tile starts at C[row0][col0]
    const i64 col0 = blockIdx.x % tiles_per_row * TILE;
    const int ty = threadIdx.x / SIDE, tx = threadIdx.x % SIDE;

    T acc[PER_THREAD][PER_THREAD] = {};  // acc[r][s]: the sum so far of C[row0+ty+16r][col0+tx+16s]
    // Every thread runs every step (the loop bound is the same for all), so all reach each barrier.
    for (i64 k0 = 0; k0 < k; k0 += TILE_K) {
        load_tile<TILE>(a_tile, a, m, k, transpose_a, row0, k0);  // op(A) is (m, k)
        // op(B)[kk][j] = op(B)^T[j][kk], and op(B)^T is (n, k): stored as it is when memory
        // holds B^T (transpose_b), transposed when memory holds B.
        load_tile<TILE>(b_tile, b, n, k, !transpose_b, col0, k0);
        __syncthreads();  // both tiles are complete before anyone reads them
#pragma unroll
        for (int kk = 0; kk < TILE_K; ++kk) {  // steps k0 .. k0 + 15 of the sum, in order
            T a_column[PER_THREAD], b_row[PER_THREAD];
#pragma unroll
            for (int r = 0; r < PER_THREAD; ++r) a_column[r] = a_tile[kk][ty + SIDE * r];
#pragma unroll
            for (int s = 0; s < PER_THREAD; ++s) b_row[s] = b_tile[kk][tx + SIDE * s];
            add_outer_product(acc, a_column, b_row);
        }
        __syncthreads();  // everyone has read the tiles before the next step overwrites them
    }

#pragma unroll
    for (int r = 0; r < PER_THREAD; ++r) {
        const i64 i = row0 + ty + SIDE * r;
#pragma unroll
        for (int s = 0; s < PER_THREAD; ++s) {
            const i64 j = col0 + tx + SIDE * s;
            if (i < m && j < n) c[i * n + j] = bias ? acc[r][s] + bias[j] : acc[r][s];  // sum, then + b
        }
    }
}

}  // namespace minivae
