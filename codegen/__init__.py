"""symtheano's back ends (installed as `symtheano.codegen`).

This package will hold the C renderer (compiled through cffi), the CUDA
renderer (through pycuda) and the on-disk compile cache. Until they land,
every function runs on the NumPy reference back end in
`symtheano.compile.mode`.
"""
