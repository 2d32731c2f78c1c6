"""policygen's compiled modules (its __pycache__) written where they are missing or stale, before a benchmark times
a command: as pip writes them when it installs policygen.

An editable install leaves them to Python, which never writes them under PYTHONDONTWRITEBYTECODE (many container
images set it, and so do the machines these benchmarks were run on). Every command would then compile policygen's
modules again: 0.37 s more on a one-tenant rebuild of 1,000 tenants (docs/performance.md, "Compiled modules").
This module imports no policygen: phases.py compiles before it times the imports."""

from __future__ import annotations

import compileall
import importlib.util


def compile_policygen() -> None:
    """Compile the policygen that a command started now would import (PYTHONPATH's first, else the installed one),
    without importing it here."""
    spec = importlib.util.find_spec("policygen")
    if spec is not None:
        for folder in spec.submodule_search_locations or []:
            compileall.compile_dir(folder, quiet=1)
