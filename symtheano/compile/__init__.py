"""Compilation: function(), In/Out, shared variables, modes and the runtime program."""

from symtheano.compile.function import Function, function  # noqa: F401
from symtheano.compile.io import In, Out  # noqa: F401
from symtheano.compile.mode import Mode  # noqa: F401
from symtheano.compile.sharedvalue import SharedVariable, shared  # noqa: F401
