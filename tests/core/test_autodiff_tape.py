"""The dialect-free tape (core/autodiff.py): recording, the reverse walk over the nodes on a
path, gradient sums for a key read twice, release without RetainData, and the primitives'
vjps against finite differences."""
import numpy as np
import pytest

from layergraph.core import autodiff as ad

R = np.random.default_rng(0)


def test_tape_walks_only_the_path_and_sums_fanout():
    tape = ad.Tape()
    x, unused = tape.leaf(), tape.leaf()
    xv = R.standard_normal((3, 2))
    calls = []

    def square_vjp(dys, need):
        calls.append("square")
        return (2 * xv * dys[0],)
    (y,) = tape.record([x], 1, square_vjp)                       # y = x^2

    def add_vjp(dys, need):
        calls.append("add")
        return dys[0], dys[0]
    (z,) = tape.record([y, x], 1, add_vjp)                       # z = y + x (x read twice)

    def other_vjp(dys, need):
        calls.append("other")
        return (dys[0],)
    tape.record([unused], 1, other_vjp)                          # not on the path from x to z
    gx, gu = tape.gradients(z, np.ones((3, 2)), [x, unused], retain=True)
    np.testing.assert_allclose(gx, 2 * xv + 1)
    assert gu is None and "other" not in calls
    assert calls == ["add", "square"]
    tape.gradients(z, np.ones((3, 2)), [x])                      # retained: a second walk works
    with pytest.raises(ad.ReleasedTapeError, match="RetainData"):
        tape.gradients(z, np.ones((3, 2)), [x])


def test_tracing_context():
    tape = ad.Tape()
    assert ad.current() is None
    with ad.tracing(tape):
        assert ad.current() is tape and tape.active
    assert ad.current() is None and not tape.active


def test_unbroadcast():
    g = np.ones((4, 3, 5))
    assert ad.unbroadcast(g, (3, 1)).shape == (3, 1)
    np.testing.assert_allclose(ad.unbroadcast(g, (3, 1)), np.full((3, 1), 20.0))
    np.testing.assert_allclose(ad.unbroadcast(g, (1, 3, 5)), np.full((1, 3, 5), 4.0))


def _fd(f, x, h=1e-6):
    g = np.zeros_like(x)
    for idx in np.ndindex(*x.shape):
        p, m = x.copy(), x.copy()
        p[idx] += h
        m[idx] -= h
        g[idx] = (f(p).sum() - f(m).sum()) / (2 * h)
    return g


@pytest.mark.parametrize("name", sorted(ad.UNARY))
def test_unary_vjps(name):
    x = np.abs(R.standard_normal((3, 4))) + 0.2
    x = x * np.where(R.random((3, 4)) > 0.5, 1, -1) if name not in ("log", "sqrt") else x
    _, vjp = ad.unary(name, x)
    np.testing.assert_allclose(vjp(np.ones_like(x)), _fd(lambda v: ad.unary(name, v)[0], x), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("name", ["add", "sub", "mul", "div", "pow", "max", "min"])
def test_binary_vjps_with_broadcasting(name):
    a = np.abs(R.standard_normal((3, 4))) + 0.5
    b = np.abs(R.standard_normal((3, 1))) + 0.5
    _, vjp = ad.binary(name, a, b)
    da, db = vjp(np.ones((3, 4)))
    np.testing.assert_allclose(da, _fd(lambda v: ad.binary(name, v, b)[0], a), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(db, _fd(lambda v: ad.binary(name, a, v)[0], b), rtol=1e-6, atol=1e-8)


def test_reductions_and_matmul():
    x = R.standard_normal((3, 4))
    for fn in (ad.reduce_sum, ad.reduce_mean):
        _, vjp = fn(x, (1,))
        np.testing.assert_allclose(vjp(np.ones((3, 1))), _fd(lambda v: fn(v, (1,))[0], x))
    _, idx, vjp = ad.reduce_extreme(x, 0, True)
    np.testing.assert_allclose(vjp(np.ones((1, 4))), _fd(lambda v: ad.reduce_extreme(v, 0, True)[0], x), atol=1e-8)
    a, b = R.standard_normal((2, 3)), R.standard_normal((3, 4))
    _, vjp = ad.matmul(a, b)
    da, db = vjp(np.ones((2, 4)))
    np.testing.assert_allclose(da, _fd(lambda v: v @ b, a), rtol=1e-6)
    np.testing.assert_allclose(db, _fd(lambda v: a @ v, b), rtol=1e-6)
