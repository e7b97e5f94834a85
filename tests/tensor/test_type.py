"""TensorType, the named constructors, constants and as_tensor_variable."""

import numpy as np
import pytest

import symtheano.tensor as T
from symtheano.tensor.type import TensorType


def test_constructors_shapes_and_dtypes():
    assert T.dscalar().type == TensorType("float64", ())
    assert T.fvector().type == TensorType("float32", (None,))
    assert T.irow().type.shape == (1, None) and T.irow().dtype == "int32"
    assert T.lcol().type.broadcastable == (False, True)
    assert T.bmatrix().dtype == "int8" and T.wtensor3().dtype == "int16"
    assert T.dtensor4().ndim == 4
    a, b = T.dscalars("a", "b")
    assert (a.name, b.name) == ("a", "b")
    assert T.matrix("m", dtype="int64").dtype == "int64"


def test_tensor_constructor_forms():
    x = T.tensor("float32", shape=(None, 3), name="x")
    assert x.type.shape == (None, 3) and x.name == "x"
    y = T.tensor("float64", (False, True))  # Theano's broadcastable form
    assert y.type.shape == (None, 1)
    assert TensorType("float64", broadcastable=(True, False)).shape == (1, None)
    with pytest.raises(TypeError, match="unsupported dtype"):
        TensorType("complex64", ())
    with pytest.raises(TypeError, match="static shape"):
        TensorType("float64", (-1,))


def test_constant_dtypes_follow_weak_python_numbers():
    assert T.constant(2).dtype == "int8"
    assert T.constant(300).dtype == "int16"
    assert T.constant(2.5).dtype == "float64"
    assert T.constant(np.float32(2.5)).dtype == "float32"
    assert T.constant([1, 2]).type.shape == (2,)
    assert (T.bvector() * 2).dtype == "int8"
    assert (T.fvector() + 1).dtype == "float32"
    assert (T.ivector() / 2).dtype == "float64"
    assert (T.ivector() + T.fvector()).dtype == "float64"  # NumPy's promotion


def test_filter_conversions():
    t = TensorType("float64", (None,))
    assert t.filter([1, 2]).dtype == np.float64
    with pytest.raises(TypeError, match="1 dimensions"):
        t.filter(np.ones((2, 2)))
    f32 = TensorType("float32", (2,))
    with pytest.raises(TypeError, match="lose"):
        f32.filter(np.ones(2))
    assert f32.filter(np.ones(2), allow_downcast=True).dtype == np.float32
    with pytest.raises(ValueError, match="dimension 0 must be 2"):
        f32.filter(np.ones(3, dtype="float32"))


def test_repr_names_type():
    x = T.dmatrix("x")
    assert repr(x) == "<x: Matrix(float64, shape=(?, ?))>"
    assert str(x + 1).startswith("add")


def test_static_shape_propagation_and_conflicts():
    a = T.tensor("float64", shape=(3, 1))
    b = T.tensor("float64", shape=(1, 4))
    assert (a + b).type.shape == (3, 4)
    with pytest.raises(ValueError, match="incompatible static sizes"):
        T.tensor("float64", shape=(3,)) + T.tensor("float64", shape=(4,))
