"""The `T.*` namespace: tensor types, constructors and every tensor operation.

`import symtheano.tensor as T` gives what Theano users know as `theano.tensor`.
Each family of ops lives in its own module; this file only gathers them.
"""

from symtheano.tensor import (  # noqa: F401  (T.nnet.softmax, T.slinalg.solve, as in Theano)
    extra_ops,
    linalg,
    nlinalg,
    nnet,
    random,
    shared_randomstreams,
    slinalg,
)
from symtheano.tensor.advanced_subtensor import *  # noqa: F403
from symtheano.tensor.basic import *  # noqa: F403
from symtheano.tensor.blas import *  # noqa: F403
from symtheano.tensor.elemwise import (  # noqa: F401
    DimShuffle,
    Elemwise,
    dimshuffle,
    shape_padaxis,
    shape_padleft,
    shape_padright,
    transpose,
)
from symtheano.tensor.extra_ops import *  # noqa: F403
from symtheano.tensor.join import *  # noqa: F403
from symtheano.tensor.linalg import diag, diagonal, tri, tril, triu  # noqa: F401
from symtheano.tensor.math import *  # noqa: F403
from symtheano.tensor.nnet import *  # noqa: F403
from symtheano.tensor.reduce import *  # noqa: F403
from symtheano.tensor.shape import *  # noqa: F403
from symtheano.tensor.sort import *  # noqa: F403
from symtheano.tensor.special import *  # noqa: F403
from symtheano.tensor.stable import *  # noqa: F403
from symtheano.tensor.subtensor import *  # noqa: F403
from symtheano.tensor.type import *  # noqa: F403
from symtheano.tensor.var import (  # noqa: F401
    TensorConstant,
    TensorVariable,
    as_tensor_variable,
    constant,
)


def grad(*args, **kwargs):
    """`T.grad`: see symtheano.gradient.grad."""
    from symtheano.gradient import grad as _grad

    return _grad(*args, **kwargs)


def __getattr__(name):
    # Names that live outside the tensor package but that Theano users reach as T.*.
    if name in ("verify_grad", "zero_grad", "disconnected_grad", "Rop", "Lop"):
        import symtheano.gradient as g

        return getattr(g, name)
    if name in ("jacobian", "hessian"):  # T.jacobian, T.hessian
        import symtheano.derivatives as d

        return getattr(d, name)
    if name == "shared":
        from symtheano.compile.sharedvalue import shared

        return shared
    raise AttributeError(f"module 'symtheano.tensor' has no attribute {name!r}")

