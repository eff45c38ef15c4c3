"""The compile helper process of train/compiling.py, started early.

A first training run on a machine compiles its kernels; ``train.compiling`` has a helper process
compile the backward's kernels into numba's on-disk cache meanwhile. A fresh Python process
needs about 0.5 s (numpy, numba, the kernel modules, numba's first dispatch) before it compiles
anything, and at a seed CNN's cold start that was on the critical path: the run waited for the
helper's kernels at the end (docs/performance.md, h_cold4 and h_cold5). So ``import layergraph``
starts the helper at once where numba's cache is *known* to hold none of layergraph's kernels
(``cache_known_cold``: a look at the cache folder, without importing numba); the helper imports
and warms numba up while this process imports layergraph and builds its network, then waits
for a line on its standard input: the dtype of the run's kernels (the first training run sends
it, ``take``), or an empty line or end of file (this process exits or has no use for it: the
helper exits without compiling). It waits at most ``IDLE`` seconds, then exits; a later first
run starts a fresh one as before. Where the cache's state is not known this way (a cache from
another version, numba's user-wide folder), nothing starts here and the first run starts the
helper itself.

It imports nothing outside the standard library, so that ``import layergraph`` stays as it was
where the cache is warm. ``LAYERGRAPH_BACKGROUND_COMPILE=0`` turns the helper off here too.
"""
from __future__ import annotations

import atexit
import hashlib
import os
import subprocess
import sys
import tempfile

BACKGROUND_ENV = "LAYERGRAPH_BACKGROUND_COMPILE"
STATUS_ENV = "LAYERGRAPH_COMPILE_STATUS"   # the helper's status file: "+name" / "-name" lines
IDLE_ENV = "LAYERGRAPH_COMPILE_IDLE"       # seconds the helper waits for its dtype (IDLE by default)
IDLE = 120.0
# the packages the helper process imports as bare modules (their __init__ not run)
BARE = ("layergraph", "layergraph.train", "layergraph.kernels", "layergraph.kernels.cpu")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# the kernel whose cache index train.compiling.cache_looks_cold reads (the helper compiles it)
_PROBE = ("norm", "_bn_back_pooled")

_early = None   # (pid, process, status file, environment) of the helper started at import, until taken


def enabled() -> bool:
    """Whether a helper may start: not switched off, and at least 2 usable cores (on one core it
    would only take turns with the run)."""
    if os.environ.get(BACKGROUND_ENV, "1").strip().lower() in ("0", "false", "no"):
        return False
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    return cpus >= 2


def _key() -> dict:
    """What the helper inherits that decides where and how it compiles: numba's settings
    (NUMBA_CACHE_DIR above all) and the thread counts."""
    return {k: v for k, v in os.environ.items()
            if k.startswith("NUMBA_") or k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}


def cache_known_cold() -> bool:
    """Whether numba's on-disk cache certainly holds no compiled kernel of the probe's (norm.py's
    ``_bn_back_pooled``), found the way numba finds it (numba.core.caching: NUMBA_CACHE_DIR's
    folder for kernels/cpu, else a writable ``__pycache__`` beside the source) without importing
    numba. False where that is not sure: an index file there (it may be another version's or a
    changed source's: train.compiling.cache_looks_cold reads it later), numba's user-wide folder,
    a .numba_config.yaml in the working directory (it can set the folder)."""
    try:
        if os.path.exists(".numba_config.yaml"):
            return False
        src = os.path.join(ROOT, "layergraph", "kernels", "cpu")
        if not os.path.isfile(os.path.join(src, _PROBE[0] + ".py")):
            return False
        user = os.environ.get("NUMBA_CACHE_DIR", "")
        if user:
            folder = os.path.join(user, "cpu_" + hashlib.sha1(src.encode()).hexdigest())
        else:
            folder = os.path.join(src, "__pycache__")
            if not os.access(folder if os.path.isdir(folder) else src, os.W_OK):
                return False   # numba would use its user-wide folder: not looked at
        if not os.path.isdir(folder):
            return True
        start = f"{_PROBE[0]}.{_PROBE[1]}-"
        return not any(n.startswith(start) and n.endswith(".nbi") for n in os.listdir(folder))
    except (OSError, ValueError):
        return False


def spawn():
    """Start a helper process (it waits for its dtype on standard input); (process, status file),
    or None where no process can start here (a frozen or embedded interpreter)."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (ROOT, os.environ.get("PYTHONPATH")) if p))
    env[BACKGROUND_ENV] = "0"  # the helper starts no helper
    # this layergraph first, also before the working directory's (python -c puts that first); its
    # packages as bare modules, so that the helper imports the kernel modules it calls and not the
    # packages' __init__ (the dialects, the layers, the registry: 0.7 s of CPU before its first
    # compile, against 0.4 s for numba, numpy and the kernels); and without SciPy, which numba's
    # first compilation imports for its BLAS (np.dot; 0.2 s), a call no kernel of its list makes
    code = (f"import os, sys, types; root = {ROOT!r}; sys.path.insert(0, root); sys.modules['scipy'] = None\n"
            f"for name in {BARE!r}:\n"
            f"    m = sys.modules[name] = types.ModuleType(name)\n"
            f"    m.__path__ = [os.path.join(root, *name.split('.'))]\n"
            f"from layergraph.train.compiling import _helper_main; _helper_main()")
    try:
        fd, status = tempfile.mkstemp(prefix="layergraph-compile-", suffix=".txt")
        os.close(fd)
    except OSError:
        return None
    env[STATUS_ENV] = status
    try:
        proc = subprocess.Popen([sys.executable, "-c", code], env=env, stdin=subprocess.PIPE,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, close_fds=True)
    except (OSError, ValueError):
        _remove(status)
        return None
    atexit.register(_remove, status)
    return proc, status


def send(proc, line: str) -> bool:
    """Give a waiting helper its dtype (or "" to let it go); whether it took the line."""
    try:
        proc.stdin.write((line + "\n").encode())
        proc.stdin.close()
        return True
    except (OSError, ValueError):   # it has exited (its idle limit) or its pipe is closed
        return False


def _remove(path):
    try:
        os.remove(path)
    except OSError:
        pass


def prestart() -> None:
    """At ``import layergraph`` (this module's import): start the helper where the cache is known
    cold (see the module docstring); at most once per process."""
    global _early
    if _early is not None or not enabled() or not cache_known_cold():
        return
    helper = spawn()
    if helper is None:
        return
    _early = (os.getpid(), *helper, _key())
    atexit.register(_release)


def waiting() -> bool:
    """Whether this process has a helper from its import, not yet taken."""
    return _early is not None and _early[0] == os.getpid()


def take():
    """The helper started at import, for this process's first training run: (process, status
    file), once; None where there is none, it has exited, it belongs to another process (a fork
    of this one), or numba's settings have changed since it started (it would compile into
    another cache: it is let go)."""
    global _early
    if _early is None:
        return None
    pid, proc, status, key = _early
    if pid != os.getpid():
        return None
    _early = None
    if proc.poll() is not None or key != _key():
        send(proc, "")
        return None
    return proc, status


def _release():
    """At exit, an unused helper started at import is let go (it would see the pipe close anyway)."""
    if _early is not None and _early[0] == os.getpid():
        send(_early[1], "")


prestart()   # at import, which ``import layergraph`` does first
