"""The CUDA sources, shipped as package data: `minivae.cuda.kernel_source` reads them."""
