"""inplace: registered rewrites of the inplace stage (see pipeline.py for the order)."""

from symtheano.rewrite.engine import Stage

STAGE = Stage("inplace")
