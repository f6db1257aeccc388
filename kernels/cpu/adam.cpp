// Adam's update as one loop: the fast form of minivae.optim.Adam on the CPU.
//
//     m <- b1 m + (1 - b1) g               v <- b2 v + (1 - b2) g^2
//     theta <- theta - (m / (sqrt(v / (1 - b2^t)) + eps)) * (lr / (1 - b1^t))
//
// The operations of Adam.update_arrays, in its order and in the parameters' own precision
// (float or double), one element at a time. Each is one IEEE rounding (no fused multiply-add:
// built with -ffp-contract=off; sqrt and / are correctly rounded), so every element comes out
// the same bits as NumPy's thirteen whole-array passes give. What the loop buys is memory
// traffic: it reads g, m, v and theta once and writes m, v and theta once, where the passes
// read and write an array of the parameter's size thirteen times.
//
// The caller (optim.fused_update) checks that the four arrays have n elements of type T each,
// C-contiguous, and passes the scalars already rounded to T, as NumPy rounds a Python float
// that meets a float32 array.

#include <cmath>
#include <cstdint>

template <typename T>
static void adam(std::int64_t n, const T *g, T *m, T *v, T *theta, T b1, T one_minus_b1, T b2,
                 T one_minus_b2, T correction2, T eps, T step) {
    for (std::int64_t i = 0; i < n; ++i) {
        T m_i = m[i] * b1 + g[i] * one_minus_b1;         // m = b1 m + (1 - b1) g
        T v_i = v[i] * b2 + g[i] * g[i] * one_minus_b2;  // v = b2 v + (1 - b2) g^2
        m[i] = m_i;
        v[i] = v_i;
        T denominator = std::sqrt(v_i / correction2) + eps;  // sqrt(v_hat) + eps
        theta[i] -= m_i / denominator * step;                 // step = lr / (1 - b1^t)
    }
}

extern "C" void minivae_adam_float(std::int64_t n, const float *g, float *m, float *v,
                                   float *theta, float b1, float one_minus_b1, float b2,
                                   float one_minus_b2, float correction2, float eps, float step) {
    adam<float>(n, g, m, v, theta, b1, one_minus_b1, b2, one_minus_b2, correction2, eps, step);
}

extern "C" void minivae_adam_double(std::int64_t n, const double *g, double *m, double *v,
                                    double *theta, double b1, double one_minus_b1, double b2,
                                    double one_minus_b2, double correction2, double eps,
                                    double step) {
    adam<double>(n, g, m, v, theta, b1, one_minus_b1, b2, one_minus_b2, correction2, eps, step);
}
