"""The CUDA back end: generated kernels as CUDA source (elementwise, reductions,
softmax), compiled by nvcc into the compile cache, loaded and launched through
pycuda, products through cuBLAS. The renderers share the C back end's scalar
expressions (codegen/c/scalar.py, through elemwise.composite_steps) and runtime
helpers (runtime/symtheano_rt.cuh includes the C headers as device code); only
what differs on a GPU (kernel qualifiers, thread indexing, block reductions)
is written here.

Importing this package needs neither pycuda nor a GPU: `availability.missing()`
says what this machine lacks for mode="CUDA".
"""
