"""The CUDA and C++ sources, shipped as package data: `minivae.cuda.kernel_source` reads them.

The .cu and .cuh files at the top are the GPU's kernels (minivae.cuda); host/ builds them for
the CPU, for the tests (minivae.cuda_host); cpu/ holds the CPU's compiled fast forms
(minivae.native, minivae.optim).
"""
