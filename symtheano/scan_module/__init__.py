"""Loops: `scan` (Theano's), the Scan op, its derivatives, its rewrites and its
C loop. See basic.py for what the user writes, op.py for the node's layout.

The package is named as Theano's was (theano.scan_module): a subpackage named
`scan` would be bound as the attribute `symtheano.scan` the moment it is
imported, hiding the function."""

from symtheano.scan_module import rewrite  # noqa: F401  (registers the scan rewrites)
from symtheano.scan_module.basic import scan, until
from symtheano.scan_module.op import Scan

__all__ = ["scan", "until", "Scan"]
