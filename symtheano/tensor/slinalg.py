"""Theano's `theano.tensor.slinalg` names (linear algebra Theano took from SciPy);
the ops live in symtheano/tensor/linalg.py and need only NumPy."""

from symtheano.tensor.linalg import (  # noqa: F401
    Cholesky,
    Solve,
    SolveTriangular,
    cho_solve,
    cholesky,
    eigvalsh,
    kron,
    solve,
    solve_lower_triangular,
    solve_triangular,
    solve_upper_triangular,
)

__all__ = [
    "Cholesky", "Solve", "SolveTriangular", "cholesky", "cho_solve", "solve",
    "solve_triangular", "solve_lower_triangular", "solve_upper_triangular", "eigvalsh",
    "kron",
]
