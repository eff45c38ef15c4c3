"""The pixel-major prediction plan's kept weights (core/ops.py ConvOp._pixel_major_weights): the
byte test that decides whether they still hold (kernels/cpu/_same.py), and the kernels' own
forms of them kept in the same dict (the pointwise product's K x F matrix, the depthwise
kernel's repeated taps): an in-place change of any source array, including one that only flips
the sign of a zero or writes a NaN, is seen; unchanged arrays serve the kept weights; arrays that
are not C-contiguous or not writeable are compared by value."""
import numpy as np
import pytest

import layergraph as L
import layergraph.core.executor as E
from layergraph.kernels.cpu import _same, conv, depthwise


def test_same_bytes():
    a = np.arange(7, dtype=np.float32)
    views = _same.padded([_same.byte_view(a), _same.byte_view(a[:2].copy())])
    copies = _same.padded([_same.byte_view(a.copy()), _same.byte_view(a[:2].copy())])
    assert len(views) == _same._ARRAYS and _same.same_bytes(views, copies)
    for value in (np.nan, -0.0, 3.0000002):
        b = a.copy()
        b[0] = value
        changed = _same.padded([_same.byte_view(b), views[1]])
        assert not _same.same_bytes(changed, copies)
    assert _same.same_bytes(_same.padded([_same.byte_view(np.full(3, np.nan))]),
                            _same.padded([_same.byte_view(np.full(3, np.nan))]))   # bytes: NaN is itself
    assert not _same.same_bytes(_same.padded([_same.byte_view(a)]), _same.padded([_same.byte_view(a[:6].copy())]))
    assert _same.byte_view(np.zeros((3, 4))[:, ::2]) is None
    ro = np.zeros(3)
    ro.flags.writeable = False
    assert _same.byte_view(ro) is None   # compared by value (one numba type for the views)
    assert _same.padded([a] * (_same._ARRAYS + 1)) is None
    v = _same.byte_view(a)
    a[3] = 9   # the view follows the array
    assert v.view(np.float32)[3] == 9


def _net():
    layers = [L.imageInputLayer([6, 7, 8], "Normalization", "none", "Name", "in"),
              L.groupedConvolution2dLayer(3, 1, "channel-wise", "Padding", 1, "Name", "dw"),
              L.batchNormalizationLayer("Name", "bn1"), L.clippedReluLayer(6, "Name", "r1"),
              L.convolution2dLayer(1, 16, "Name", "pw"), L.batchNormalizationLayer("Name", "bn2"),
              L.clippedReluLayer(6, "Name", "r2"),
              L.globalAveragePooling2dLayer("Name", "gap"), L.fullyConnectedLayer(3, "Name", "fc"),
              L.softmaxLayer("Name", "sm")]
    L.rng(3)
    return L.dlnetwork(layers)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_in_place_changes_are_seen_and_unchanged_weights_are_kept(monkeypatch, dtype):
    ex = _net().executor("cpu", dtype)
    x = {"in": np.random.default_rng(0).standard_normal((2, 8, 6, 7)).astype(dtype)}
    out = ex.output_refs()[0]
    ops = {s.name: s.op for s in ex.steps}
    first = ex.forward(x)[out].copy()
    kept = {name: ops[name]._pm_cache[3] for name in ("dw", "pw")}
    assert all(ops[n]._pm_cache[2][0] == "bytes" for n in kept)
    np.testing.assert_array_equal(ex.forward(x)[out], first)
    for name in kept:   # unchanged: the same folded weights and the same dict, now holding the kernels' forms
        assert ops[name]._pm_cache[3] is kept[name]
    assert any(k[0] == "depthwise_nhwc" for k in kept["dw"][2])
    assert any(k[0] == "rows" for k in kept["pw"][2])

    def fresh():   # the same numbers computed without the plan
        monkeypatch.setattr(E, "PIXEL_MAJOR", False)
        try:
            return ex.forward(x)[out]
        finally:
            monkeypatch.setattr(E, "PIXEL_MAJOR", True)

    tol = dict(rtol=1e-12, atol=1e-13) if dtype == np.float64 else dict(rtol=1e-4, atol=1e-6)
    for layer, name, change in (("pw", "Weights", lambda a: a.__imul__(-0.5)),
                                ("dw", "Bias", lambda a: a.__iadd__(0.25)),
                                ("bn2", "TrainedMean", lambda a: a.__iadd__(0.3)),
                                ("bn1", "Scale", lambda a: a.__imul__(1.5))):
        before = ex.forward(x)[out].copy()
        change(ex.params[layer][name])
        after = ex.forward(x)[out]
        assert np.abs(after - before).max() > 1e-4, (layer, name)
        np.testing.assert_allclose(after, fresh(), **tol)
    # a change of the sign of a zero only: new folded weights (bytes differ), the same numbers
    w = ex.params["pw"]["Weights"]
    w[0, 0, 0, 0] = 0.0
    ex.forward(x)
    old = ops["pw"]._pm_cache[3]
    w[0, 0, 0, 0] = -0.0
    ex.forward(x)
    assert ops["pw"]._pm_cache[3] is not old


@pytest.mark.parametrize("kind", ["strided", "read-only"])
def test_arrays_that_are_not_contiguous_are_compared_by_value(kind):
    ex = _net().executor("cpu", np.float64)
    x = {"in": np.random.default_rng(1).standard_normal((2, 8, 6, 7))}
    out = ex.output_refs()[0]
    P = ex.params["pw"]
    if kind == "strided":
        P["Bias"] = np.asfortranarray(np.repeat(P["Bias"].reshape(1, -1), 2, axis=0))[:1]   # a strided view
        assert not P["Bias"].flags.c_contiguous
    else:
        base = P["Bias"].copy()
        P["Bias"] = base.view()
        P["Bias"].flags.writeable = False   # a read-only view of an array that changes
    first = ex.forward(x)[out].copy()
    assert ex.steps[[s.name for s in ex.steps].index("pw")].op._pm_cache[2][0] == "values"
    (P["Bias"] if kind == "strided" else base)[...] += 0.5
    assert np.abs(ex.forward(x)[out] - first).max() > 1e-4


def test_conv_forward_keeps_the_kernels_weights_in_its_dict():
    r = np.random.default_rng(2)
    x = r.standard_normal((2, 5, 4, 12)).astype(np.float32)
    w = r.standard_normal((24, 12, 1, 1)).astype(np.float32)
    b = r.standard_normal(24).astype(np.float32)
    cache = {}
    y1 = conv.conv_forward(x, w, b, 1, 1, 1, 1, 0, 0, 0, 0, x_layout="nhwc", y_layout="nhwc", winograd=cache)
    assert list(cache) == [("rows", w.dtype.str, w.shape)]
    y2 = conv.conv_forward(x, w, b, 1, 1, 1, 1, 0, 0, 0, 0, x_layout="nhwc", y_layout="nhwc", winograd=cache)
    np.testing.assert_array_equal(y1, y2)
    wd = r.standard_normal((12, 1, 3, 3)).astype(np.float32)
    cache = {}
    y1 = conv.conv_forward(x, wd, None, 2, 2, 1, 1, 1, 1, 1, 1, groups=12, x_layout="nhwc", y_layout="nhwc",
                           winograd=cache)
    (key,) = cache
    assert key[0] == "depthwise_nhwc"
    y2 = depthwise.depthwise_forward_nhwc(x, wd, None, 2, 2, 1, 1, 1, 1, *y1.shape[1:3], cache=cache)
    np.testing.assert_array_equal(y1, y2)
