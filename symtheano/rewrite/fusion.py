"""fusion: registered rewrites of the fusion stage (see pipeline.py for the order)."""

from symtheano.rewrite.engine import Stage

STAGE = Stage("fusion")
