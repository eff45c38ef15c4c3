"""The compile helper that ``import layergraph`` starts on a known-cold numba cache
(layergraph/_prestart.py): it starts only there, waits for its dtype, compiles nothing without
one, leaves by itself, and a run whose helper is gone or unusable starts a fresh one or compiles
alone (the run's result is never the helper's business)."""
from __future__ import annotations

import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _env(cache, **extra):
    env = dict(os.environ, NUMBA_CACHE_DIR=str(cache), LAYERGRAPH_BACKGROUND_COMPILE="1",
               PYTHONPATH=os.pathsep.join(p for p in (ROOT, os.environ.get("PYTHONPATH")) if p))
    env.update(extra)
    return env


def _run(code, env):
    p = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr[-3000:]
    return p.stdout.split()


def _files(cache):
    return [f for _, _, fs in os.walk(cache) for f in fs]


def test_cold_check_agrees_with_numba(tmp_path):
    """cache_known_cold finds numba's folder for the kernels as numba does: an empty cache is cold,
    and after one kernel of norm.py's probe has been compiled into it, it is not."""
    code = ("from layergraph import _prestart\n"
            "print(_prestart.cache_known_cold())\n"
            "import numpy as np\n"
            "from layergraph.kernels.cpu import norm\n"
            "x = np.ones((2, 2, 2, 2), np.float32); c = np.ones(2, np.float32)\n"
            "norm.bn_backward(x, x, c, c, c, 1e-5, pool_out=(x, np.zeros(x.shape, np.int64)))\n"
            "print(_prestart.cache_known_cold(), len(norm._bn_back_pooled._cache._cache_file._load_index()) > 0)\n")
    # no helper here (it would compile the probe itself): the switch off
    out = _run(code, _env(tmp_path, LAYERGRAPH_BACKGROUND_COMPILE="0"))
    assert out == ["True", "False", "True"], out


def test_import_starts_a_waiting_helper_only_on_a_cold_cache(tmp_path):
    code = ("import layergraph\n"
            "from layergraph import _prestart\n"
            "print(_prestart.waiting())\n")
    assert _run(code, _env(tmp_path)) == ["True"]
    assert _run(code, _env(tmp_path, LAYERGRAPH_BACKGROUND_COMPILE="0")) == ["False"]
    # a cache that holds the probe: no helper at import (the first run decides, as before)
    probe = ("import numpy as np\n"
             "from layergraph.kernels.cpu import norm\n"
             "x = np.ones((2, 2, 2, 2), np.float32); c = np.ones(2, np.float32)\n"
             "norm.bn_backward(x, x, c, c, c, 1e-5, pool_out=(x, np.zeros(x.shape, np.int64)))\n")
    _run(probe, _env(tmp_path, LAYERGRAPH_BACKGROUND_COMPILE="0"))
    assert _run(code, _env(tmp_path)) == ["False"]


def test_unused_helper_compiles_nothing_and_leaves(tmp_path):
    """Without a dtype the helper compiles nothing: it leaves when this process exits (end of
    file), or at its idle limit while the process lives on."""
    _run("import layergraph", _env(tmp_path))
    code = ("import time, layergraph\n"
            "from layergraph import _prestart\n"
            "proc = _prestart._early[1]\n"
            "t = time.monotonic()\n"
            "print(proc.wait(timeout=120), time.monotonic() - t < 100)\n")
    assert _run(code, _env(tmp_path, LAYERGRAPH_COMPILE_IDLE="1")) == ["0", "True"]
    time.sleep(1.0)   # the first process's helper: gone with its pipe
    assert not [f for f in _files(tmp_path) if f.endswith(".nbc")], _files(tmp_path)


def test_helper_is_let_go_where_numba_settings_changed(tmp_path):
    """A helper started with another NUMBA_CACHE_DIR would fill another cache: take() lets it go,
    and the first run starts a fresh one in the right cache."""
    other = tmp_path / "other"
    code = ("import os, layergraph\n"
            "from layergraph import _prestart\n"
            "from layergraph.train import compiling\n"
            f"os.environ['NUMBA_CACHE_DIR'] = {str(tmp_path / 'mine')!r}\n"
            "early = _prestart._early[1]\n"
            "print(_prestart.take() is None, early.wait(timeout=60))\n"
            "p = compiling.background_compile('float32')\n"
            "print(p is not early, p.wait())\n")
    assert _run(code, _env(other)) == ["True", "0", "True", "0"]
    assert not [f for f in _files(other) if f.endswith(".nbc")]
    assert [f for f in _files(tmp_path / "mine") if f.startswith("norm._bn_back_pooled") and f.endswith(".nbc")]


def test_a_dead_helper_is_replaced(tmp_path):
    """The helper from the import has died before the run came (killed, or its idle limit): the
    run's background_compile starts a fresh one, which compiles."""
    code = ("import layergraph\n"
            "from layergraph import _prestart\n"
            "from layergraph.train import compiling\n"
            "early = _prestart._early[1]\n"
            "early.kill(); early.wait()\n"
            "p = compiling.background_compile('float32')\n"
            "print(p is not None and p is not early, p.wait())\n")
    assert _run(code, _env(tmp_path)) == ["True", "0"]
    assert [f for f in _files(tmp_path) if f.startswith("norm._bn_back_pooled") and f.endswith(".nbc")]


def test_a_fork_does_not_take_its_parents_helper(tmp_path):
    code = ("import os, layergraph\n"
            "from layergraph import _prestart\n"
            "pid = os.fork()\n"
            "if pid == 0:\n"
            "    os._exit(0 if (_prestart.take() is None and not _prestart.waiting()) else 1)\n"
            "print(os.waitpid(pid, 0)[1], _prestart.waiting())\n")
    if not hasattr(os, "fork"):
        return
    assert _run(code, _env(tmp_path)) == ["0", "True"]
