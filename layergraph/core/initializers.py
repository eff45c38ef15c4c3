"""Initializers by MATLAB name or by a Python callable ``f(sz) -> array``.

``'glorot'``: uniform in +-sqrt(6/(numIn+numOut)); ``'he'``: normal with variance
2/numIn; ``'orthogonal'``: Q of the QR decomposition of a standard normal matrix;
``'narrow-normal'``: normal with standard deviation 0.01; ``'zeros'``, ``'ones'``.
"""
from __future__ import annotations

import contextlib

import numpy as np

from .errors import LayerGraphError

_rng = np.random.default_rng()


_GENERATORS = ("twister", "simdTwister", "combRecursive", "multFibonacci", "philox", "threefry", "v4",
               "v5uniform", "v5normal")


def rng(seed=None, generator=None):
    """Seed the generator that initializers (and later dropout and shuffling) use,
    like MATLAB's ``rng(seed)``; ``rng('default')`` is seed 0 (MATLAB's default), ``rng('shuffle')``
    a seed from the operating system. MATLAB's generator names are accepted (the numbers are
    numpy's PCG64 in every case). Returns the generator."""
    global _rng
    if generator is not None and generator not in _GENERATORS:
        raise ValueError(f"Invalid generator {generator!r}. Expected one of {', '.join(_GENERATORS)}.")
    if isinstance(seed, str):
        if seed.lower() == "default":
            seed = 0
        elif seed.lower() == "shuffle":
            _rng = np.random.default_rng()
            return _rng
        else:
            raise ValueError(f"Invalid seed {seed!r}. Expected a nonnegative integer, 'default' or 'shuffle'.")
    if seed is not None:
        _rng = np.random.default_rng(seed)
    return _rng


@contextlib.contextmanager
def drawing_from(gen):
    """Initializers draw from ``gen`` inside the block (a dialect's own seeded generator, e.g.
    NetInitialize's RandomSeeding), and the global generator ``rng`` seeds is left as it was."""
    global _rng
    saved, _rng = _rng, gen
    try:
        yield gen
    finally:
        _rng = saved


def _glorot(sz, fan_in, fan_out, gen):
    bound = np.sqrt(6.0 / (fan_in + fan_out))
    return gen.uniform(-bound, bound, size=sz)


def _he(sz, fan_in, fan_out, gen):
    return gen.normal(0.0, np.sqrt(2.0 / fan_in), size=sz)


def _orthogonal(sz, fan_in, fan_out, gen):
    rows = sz[0]
    cols = int(np.prod(sz[1:]))
    z = gen.standard_normal((max(rows, cols), min(rows, cols)))
    q, r = np.linalg.qr(z)
    q *= np.sign(np.diag(r))  # makes Q uniformly distributed (Saxe et al.)
    if rows < cols:
        q = q.T
    return q[:rows, :cols].reshape(sz)


def _narrow_normal(sz, fan_in, fan_out, gen):
    return gen.normal(0.0, 0.01, size=sz)


INITIALIZERS = {
    "glorot": _glorot,
    "he": _he,
    "orthogonal": _orthogonal,
    "narrow-normal": _narrow_normal,
    "zeros": lambda sz, fi, fo, gen: np.zeros(sz),
    "ones": lambda sz, fi, fo, gen: np.ones(sz),
}


def initialize(initializer, sz, fan_in, fan_out, *, layer_name="", param="", dtype=np.float32, gen=None):
    """Values of size ``sz`` (MATLAB layout) from a named initializer or a callable."""
    gen = gen or _rng
    sz = tuple(int(s) for s in sz)
    if callable(initializer):
        try:
            value = np.asarray(initializer(sz), dtype=float)
        except Exception as exc:  # the user's function failed: say whose and where
            raise LayerGraphError(
                f"Layer '{layer_name}': the initializer function for {param} failed on size "
                f"{'x'.join(map(str, sz))}: {exc}") from exc
        from .layer import matlab_size_equal
        if not matlab_size_equal(value.shape, sz):
            raise LayerGraphError(
                f"Layer '{layer_name}': the initializer function for {param} returned an array of size "
                f"{'x'.join(map(str, value.shape))}; expected size {'x'.join(map(str, sz))}.")
        value = value.reshape(sz)
    else:
        value = INITIALIZERS[initializer](sz, fan_in, fan_out, gen)
    return np.asarray(value, dtype=dtype)
