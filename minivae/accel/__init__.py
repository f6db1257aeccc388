"""Only faster, the same numbers: what the fast forms run on, and may be skipped on a first read.

kernel_sources  kernels/'s sources read with their headers pasted in; compiled by CuPy
launches        the checks every raw kernel launch makes on the host; C types; the grid's cap
sample_kl       the fused sample-and-KL kernels launched (SampleKL's fast form on CuPy)
matmul          the dense layer's products as kernels a CUDA graph can capture
graph_step      a training step captured into a CUDA graph and replayed (--cuda-graph)
native          C++ built for this machine's CPU and loaded with ctypes
fused_adam      Adam's fast form on NumPy: one compiled loop (kernels/cpu/adam.cpp)
host_builds     the CUDA kernels' math built for the CPU, for the tests and notebook 9

Every fast form is tested equal to its plain form; `minivae.plain_forms()` switches them off.
"""
