// sample_kl_host.cu: sample_kl.cuh's math as a host shared library, for tests through ctypes.
//
// nvcc compiles the header's __host__ __device__ functions for the CPU here, the very lines the
// kernels run, so a machine without a GPU can check them against minivae/rng.py and SampleKL.
// Each function loops over plain arrays (row-major, contiguous, checked by minivae/cuda_host.py);
// `is_double` picks the float or double instantiation. Build: minivae.cuda_host.host_library().
#include "../sample_kl.cuh"

using namespace minivae;
typedef long long i64;

// Philox4x32-10 of n counters (n, 4) under n keys (n, 2) -> n blocks of four words (n, 4).
extern "C" void minivae_philox(const u32* counters, const u32* keys, i64 n, u32* words) {
    for (i64 i = 0; i < n; ++i) {
        const u32* c = counters + 4 * i;
        const Words4 w = philox4x32_10(Words4{c[0], c[1], c[2], c[3]}, Key2{keys[2 * i], keys[2 * i + 1]});
        u32* out = words + 4 * i;
        out[0] = w.w0, out[1] = w.w1, out[2] = w.w2, out[3] = w.w3;
    }
}

// counter_normal(xp, (rows, length), seed, stream, dtype): row r is stream + r, offset 0.
template <typename T>
void normals(u64 seed, u64 stream, i64 rows, i64 length, T* out) {
    for (i64 r = 0; r < rows; ++r)
        for (i64 j = 0; j < length; ++j)
            out[r * length + j] = block_normals<T>(seed, stream + r, j / 4).lane[j % 4];
}

extern "C" void minivae_normals(int is_double, u64 seed, u64 stream, i64 rows, i64 length, void* out) {
    if (is_double) normals(seed, stream, rows, length, (double*)out);
    else normals(seed, stream, rows, length, (float*)out);
}

// forward_element on n elements with the noise given: z and the KL terms (before the row sum).
template <typename T>
void forward_elements(const T* mu, const T* logvar, const T* eps, i64 n, T* z, T* kl_term) {
    for (i64 i = 0; i < n; ++i) {
        const ForwardElement<T> e = forward_element(mu[i], logvar[i], eps[i]);
        z[i] = e.z, kl_term[i] = e.kl_term;
    }
}

extern "C" void minivae_forward_elements(int is_double, const void* mu, const void* logvar,
                                         const void* eps, i64 n, void* z, void* kl_term) {
    if (is_double)
        forward_elements((const double*)mu, (const double*)logvar, (const double*)eps, n, (double*)z, (double*)kl_term);
    else
        forward_elements((const float*)mu, (const float*)logvar, (const float*)eps, n, (float*)z, (float*)kl_term);
}

// backward_element on n elements; gk is given per element here (the kernel reads it per row).
template <typename T>
void backward_elements(const T* mu, const T* logvar, const T* eps, const T* gz, const T* gk, i64 n,
                       T* dmu, T* dlogvar) {
    for (i64 i = 0; i < n; ++i) {
        const BackwardElement<T> d = backward_element(mu[i], logvar[i], eps[i], gz[i], gk[i]);
        dmu[i] = d.dmu, dlogvar[i] = d.dlogvar;
    }
}

extern "C" void minivae_backward_elements(int is_double, const void* mu, const void* logvar,
                                          const void* eps, const void* gz, const void* gk, i64 n,
                                          void* dmu, void* dlogvar) {
    if (is_double)
        backward_elements((const double*)mu, (const double*)logvar, (const double*)eps, (const double*)gz,
                          (const double*)gk, n, (double*)dmu, (double*)dlogvar);
    else
        backward_elements((const float*)mu, (const float*)logvar, (const float*)eps, (const float*)gz,
                          (const float*)gk, n, (float*)dmu, (float*)dlogvar);
}
