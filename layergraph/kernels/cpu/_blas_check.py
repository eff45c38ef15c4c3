"""numba's BLAS check without importing SciPy's linalg package (a cold start's first dispatch).

numba's first dispatch in a process (cache load or compile) builds its CPU target, which imports
``numba.np.arraymath``; that module checks once, at import, whether a BLAS is there for ``np.dot``
(``_HAVE_BLAS``, through ``numba.np.linalg.ensure_blas``) by importing
``scipy.linalg.cython_blas``, and so all of ``scipy.linalg``: about 0.15 s of CPU time before the
first kernel of every process, also of one that never calls ``np.dot`` in compiled code (a CNN's
kernels do not; the recurrent ones do). ``defer()``, run when this module is imported (first thing
in the CPU kernels' package, before any kernel dispatches), imports ``numba.np.arraymath`` with a check that finds the
module's file instead of importing it, and the LP64/ILP64 check numba makes there (SciPy's
``__config__``, small): the same answer, so the same ``_HAVE_BLAS`` and the same compiled code.
The first kernel that calls ``np.dot`` imports ``scipy.linalg.cython_blas`` as before (numba's
typing of ``np.dot`` calls the real ``ensure_blas``). Anything unexpected (SciPy's linalg already
imported, numba's layout not this one, no SciPy) leaves numba's own check in place.
"""
from __future__ import annotations

import glob
import importlib.util
import os
import sys


def _cython_blas_file() -> bool:
    """Whether SciPy's ``linalg/cython_blas`` extension is on disk (found, not imported)."""
    try:
        spec = importlib.util.find_spec("scipy")   # numba's import has imported scipy itself already
    except (ImportError, ValueError):
        return False
    places = getattr(spec, "submodule_search_locations", None) or ()
    return any(glob.glob(os.path.join(p, "linalg", "cython_blas*")) for p in places)


def defer() -> None:
    """Import numba's ``arraymath`` with the BLAS check above (module docstring); once, a no-op
    after that or where it does not apply."""
    if "numba.np.arraymath" in sys.modules or "scipy.linalg" in sys.modules:
        return
    try:
        from numba.np import linalg
    except ImportError:
        return
    original = getattr(linalg, "ensure_blas", None)
    width = getattr(linalg, "_check_lapack_int_width", None)
    if original is None or width is None or not _cython_blas_file():
        return

    def ensure_blas():   # numba's, less the import: the same ImportError-free answer, the same width check
        width()

    linalg.ensure_blas = ensure_blas
    try:
        from numba.np import arraymath
    finally:
        linalg.ensure_blas = original
    if getattr(arraymath, "ensure_blas", None) is ensure_blas:
        arraymath.ensure_blas = original


defer()
