"""Test-session settings: one compile cache shared by every test and every
xdist worker of a run (the cache is safe under concurrent use), kept out of
the user's own cache directory."""

import os
import pathlib

if "SYMTHEANO_CACHE_DIR" not in os.environ:
    root = pathlib.Path(__file__).resolve().parent.parent
    os.environ["SYMTHEANO_CACHE_DIR"] = str(root / ".test-compile-cache")
