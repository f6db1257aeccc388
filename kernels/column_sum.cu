// column_sum.cu: out[j] = sum_i g[i][j], the bias gradient dL/db = sum over the batch of G.
//
// g is (rows, cols), row-major and C-contiguous; out is (cols,). One thread per column adds the
// rows in order i = 0, 1, ..., rows-1, starting from 0: the order in which NumPy's g.sum(axis=0)
// adds the rows of a C-contiguous array of two or more columns, so the two agree bit for bit
// (with fused multiply-adds off there is nothing else to round differently). Neighbouring
// threads read neighbouring columns of a row: each row is read once, in whole cache lines.
// A batch of B rows is a chain of B dependent additions per thread; for the model's B = 128 that
// is short, and it keeps the result independent of the launch shape (docs/cuda.md).
namespace minivae {

typedef long long i64;

constexpr int COLUMN_SUM_THREADS = 256;  // blockDim.x of every launch (cuda_matmul)

template <typename T>
__global__ void __launch_bounds__(COLUMN_SUM_THREADS)
column_sum(const T* __restrict__ g, i64 rows, i64 cols, T* __restrict__ out) {
    // Grid-stride over columns: any number of columns, whatever the grid.
    for (i64 j = (i64)blockIdx.x * COLUMN_SUM_THREADS + threadIdx.x; j < cols;
         j += (i64)gridDim.x * COLUMN_SUM_THREADS) {
        T sum = 0;
#pragma unroll 8
        for (i64 i = 0; i < rows; ++i) sum += g[i * cols + j];  // the loads may run ahead; the adds stay in order
        out[j] = sum;
    }
}

}  // namespace minivae
