"""Theano's `theano.tensor.nlinalg` names (linear algebra NumPy provides); the ops
live in symtheano/tensor/linalg.py and linalg_decomp.py."""

from symtheano.tensor.linalg import (  # noqa: F401
    QR,
    SVD,
    Det,
    Eigh,
    MatrixInverse,
    MatrixPinv,
    SLogDet,
    alloc_diag,
    det,
    diag,
    eigh,
    extract_diag,
    inv,
    matrix_dot,
    matrix_inverse,
    matrix_power,
    norm,
    pinv,
    qr,
    slogdet,
    svd,
    trace,
)

__all__ = [
    "MatrixInverse", "Det", "SLogDet", "Eigh", "QR", "SVD", "MatrixPinv", "inv",
    "matrix_inverse", "det", "slogdet", "eigh", "qr", "svd", "pinv", "trace", "norm",
    "matrix_power", "matrix_dot", "alloc_diag", "extract_diag", "diag",
]
