"""The C back end: kernels rendered as C, compiled by the system compiler, loaded with cffi."""
