"""The CUDA and C++ sources, shipped as package data: `minivae.accel.kernel_sources` reads them.

The .cu and .cuh files at the top are the GPU's kernels (launched by minivae.accel.sample_kl and
minivae.accel.matmul); host/ builds them for the CPU, for the tests and notebook 9
(minivae.accel.host_builds); cpu/ holds the CPU's compiled fast forms (minivae.accel.fused_adam).
"""
