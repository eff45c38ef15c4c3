"""The embedding kernels (kernels/cpu/embedding.py) and op (core/ops_embedding.py): the gather
and the scatter-add against torch nn.Embedding (values and the weight gradient, with repeated
indices), float64 finite differences of the weight gradient, and the op on a padded batch of
index sequences (padding ignored, whatever its value)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from layergraph import layers as L
from layergraph.core.errors import LayerGraphError
from layergraph.core.graph import Graph
from layergraph.core.layer import Internal
from layergraph.core.network import Network
from layergraph.core.sequence import pad
from layergraph.kernels import get_kernel

fwd = get_kernel("embedding", "forward_train", "cpu")
bwd = get_kernel("embedding", "backward", "cpu")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gather_and_scatter_add_match_torch_embedding(dtype):
    r = np.random.default_rng(0)
    n, d = 7, 5
    w = r.standard_normal((n, d)).astype(dtype)
    idx = np.array([0, 3, 3, 6, 1, 3, 0, 0, 2], dtype=np.int64)   # repeated indices
    dy = r.standard_normal((idx.size, d)).astype(dtype)
    y = fwd(idx, w)
    assert y.dtype == dtype and y.shape == (idx.size, d)
    emb = torch.nn.Embedding(n, d).to(torch.float64 if dtype == np.float64 else torch.float32)
    with torch.no_grad():
        emb.weight.copy_(torch.from_numpy(w))
    out = emb(torch.from_numpy(idx))
    np.testing.assert_array_equal(y, out.detach().numpy())
    (out * torch.from_numpy(dy)).sum().backward()
    dw = bwd(dy, idx, n)
    assert dw.dtype == dtype and dw.shape == (n, d)
    tol = 1e-12 if dtype == np.float64 else 1e-5
    np.testing.assert_allclose(dw, emb.weight.grad.numpy(), rtol=tol, atol=tol)
    assert not np.any(dw[[4, 5]])   # rows no index points at


def test_weight_gradient_matches_finite_differences():
    r = np.random.default_rng(1)
    n, d = 6, 4
    w = r.standard_normal((n, d))
    idx = r.integers(0, n, 20)
    g = r.standard_normal((20, d))
    dw = bwd(g, idx, n)
    h = 1e-6
    for _ in range(5):
        v = r.standard_normal(w.shape)
        up, down = np.sum(fwd(idx, w + h * v) * g), np.sum(fwd(idx, w - h * v) * g)
        assert abs((up - down) / (2 * h) - np.sum(dw * v)) < 1e-7


def _net(d=3, n=5, seq=True, length=4):
    g = Graph()
    inp = L.SequenceInputLayer(Name="in", InputSize=1, Normalization="none") if seq else \
        L.FeatureInputLayer(Name="in", InputSize=length, Normalization="none")
    w = np.random.default_rng(2).standard_normal((n, d)).astype(np.float32)
    g._add(inp)
    g._add(L.EmbeddingLayer(Name="emb", Dimension=d, NumWords=n, Weights=Internal(w)))
    g._connect("in", "out", "emb", "in")
    return Network.build(g, initialize=False), w.astype(np.float64)


def test_padded_index_sequences_ignore_the_padding():
    net, w = _net()
    seqs = [np.array([[1.0, 5, 2, 2]]), np.array([[3.0]]), np.array([[4.0, 1]])]
    for value in (0.0, 99.0, -1.5):   # not an index: the padding is never read
        x, info = pad(seqs, value=value, dtype=np.float64)
        ex = net.executor("cpu", np.float64)
        y = ex.forward({"in": x}, training=True, seq={"in": info})[("emb", "out")]
        assert y.shape == (3, 3, 4)
        for i, s in enumerate(seqs):
            t = s.shape[1]
            np.testing.assert_array_equal(y[i, :, :t], w[s[0].astype(int) - 1].T)
            assert not np.any(y[i, :, t:])
        dy = np.random.default_rng(3).standard_normal(y.shape)
        grads = ex.backward({("emb", "out"): dy}, input_grads=True)
        want = np.zeros_like(w)
        for i, s in enumerate(seqs):
            for t, k in enumerate(s[0].astype(int)):
                want[k - 1] += dy[i, :, t]
        np.testing.assert_allclose(grads["emb"]["Weights"], want, rtol=1e-12)
        assert not np.any(ex.input_grads[("in", "out")])


def test_indices_out_of_range_or_not_integers_name_the_layer_and_value():
    net, _ = _net(seq=False)
    ex = net.executor("cpu", np.float64)
    for bad, shown in ((6.0, "6"), (0.0, "0"), (2.5, "2.5"), (np.nan, "nan")):
        x = np.array([[1.0, 2.0, bad, 3.0]])
        with pytest.raises(LayerGraphError) as e:
            ex.forward({"in": x})
        assert "Layer 'emb' (EmbeddingLayer)" in str(e.value) and f"the input {shown} " in str(e.value)
        assert "between 1 and 5" in str(e.value)


def test_sizes_and_the_matlab_view_of_the_weights():
    layer = L.EmbeddingLayer(Name="e", Dimension=3, NumWords=10)
    assert layer.learnable_sizes() == {"Weights": (3, 10)} and layer.WeightsInitializer == "narrow-normal"
    from layergraph.core.size import VARYING, Size
    assert layer.infer([Size((), 1, VARYING)])[1] == [Size((), 3, VARYING)]
    assert layer.infer([Size((), 1)])[1] == [Size((), 3)]
    assert layer.infer([Size((), 4)])[1] == [Size((3, 1), 4)]
    assert layer.infer([Size((5, 1), 2)])[1] == [Size((5, 3), 2)]
    w = np.arange(30.0).reshape(10, 3)
    stored = L.EmbeddingLayer(Name="e", Dimension=3, NumWords=10, Weights=Internal(w))
    np.testing.assert_array_equal(stored.Weights, w.T)       # MATLAB's view: Dimension x NumWords
    np.testing.assert_array_equal(stored.internal("Weights"), w)
    with pytest.raises(LayerGraphError):
        L.EmbeddingLayer(Name="e", Dimension=3, NumWords=10, Weights=np.zeros((10, 3)))
