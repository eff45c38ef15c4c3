"""The recurrent layers' state ports in a NetGraph (LongShortTermMemoryLayer "State" and "CellState",
GatedRecurrentLayer / BasicRecurrentLayer "State"): ``src -> NetPort[layer, "State"]`` sets the initial
state, ``NetPort[layer, "State"] -> dst`` gives the final state. Against torch with the same weights
(values and, through NetTrain's training executor, every gradient, float64), padded batches,
one state of two connected, graph ports on states, NetTrain through a state, printouts, bad input."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from layergraph.core.errors import LayerGraphError
from layergraph.wolfram import (
    All,
    GatedRecurrentLayer,
    LinearLayer,
    LongShortTermMemoryLayer,
    NetGraph,
    NetInitialize,
    NetPort,
    NetStateObject,
    NetTrain,
)
from layergraph.wolfram.recurrent import GATES, GRU_GATES, Sequences, core_arrays


def _seqs(lengths, d=3, seed=0):
    r = np.random.default_rng(seed)
    return [r.standard_normal((t, d)) for t in lengths]


def _torch(layer, cls):
    gates = GATES if cls is torch.nn.LSTM else GRU_GATES
    w = core_arrays(layer.arrays, gates)
    n, k = layer.arrays[f"{gates[0]}InputWeights"].shape
    m = cls(k, n, batch_first=True).double()
    with torch.no_grad():
        m.weight_ih_l0.copy_(torch.from_numpy(w["InputWeights"].astype(np.float64)))
        m.weight_hh_l0.copy_(torch.from_numpy(w["RecurrentWeights"].astype(np.float64)))
        m.bias_ih_l0.copy_(torch.from_numpy(w["Bias"].astype(np.float64)))
        m.bias_hh_l0.zero_()
    return m


def _encoder_decoder(connect=("State", "CellState"), seed=1):
    edges = [(NetPort("x"), "enc"), (NetPort("y"), "dec"), ("dec", NetPort("Output")),
             (NetPort("dec", "State"), NetPort("sT")), ("enc", None)]
    edges += [(NetPort("enc", p), NetPort("dec", p)) for p in connect]
    g = NetGraph({"enc": LongShortTermMemoryLayer(4), "dec": LongShortTermMemoryLayer(4)}, edges,
                 x=("Varying", 3), y=("Varying", 2))
    g = NetInitialize(g, RandomSeeding=seed)
    r = np.random.default_rng(seed + 50)
    for name in ("enc", "dec"):   # nonzero biases, so that a misplaced bias shows
        layer = g._nodes[name]
        g._nodes[name] = layer.with_arrays({a: 0.3 * r.standard_normal(v.shape) for a, v in layer.arrays.items()
                                            if a.endswith("Biases")})
    g._cache = {}
    return g


@pytest.mark.parametrize("connect", [("State", "CellState"), ("State",), ("CellState",)])
def test_encoder_state_starts_the_decoder_as_in_torch(connect):
    g = _encoder_decoder(connect)
    X, Y = _seqs([6, 2, 4], 3, seed=2), _seqs([3, 5, 1], 2, seed=3)
    out = g({"x": X, "y": Y}, WorkingPrecision="Real64")
    enc, dec = _torch(g._nodes["enc"], torch.nn.LSTM), _torch(g._nodes["dec"], torch.nn.LSTM)
    for i in range(3):
        _, (h, c) = enc(torch.from_numpy(X[i][None].copy()))
        h0 = h if "State" in connect else torch.zeros_like(h)
        c0 = c if "CellState" in connect else torch.zeros_like(c)
        y, (hT, _) = dec(torch.from_numpy(Y[i][None].copy()), (h0, c0))
        np.testing.assert_allclose(out["Output"][i], y[0].detach().numpy(), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(out["sT"][i], hT[0, 0].detach().numpy(), rtol=1e-10, atol=1e-12)


def test_gradients_through_state_edges_match_torch():
    g = _encoder_decoder()
    X, Y = _seqs([6, 2, 4], 3, seed=4), _seqs([3, 5, 1], 2, seed=5)
    view = g._for_training({"x": Sequences(X, 3), "y": Sequences(Y, 2)}, lambda w: w, None, np.float64)
    ex = view.core.executor("cpu", np.float64)
    dx_ = Sequences(X, 3).core_data(np.float64)[np.arange(3)]
    dy_ = Sequences(Y, 2).core_data(np.float64)[np.arange(3)]
    ex.forward({"$in:x": np.asarray(dx_), "$in:y": np.asarray(dy_)}, training=True,
               seq={"$in:x": dx_.seq, "$in:y": dy_.seq})
    ref, sref = view.output_ref("Output"), view.output_ref("sT")
    assert sref[1] == "hidden"
    r = np.random.default_rng(0)
    seed_out = r.standard_normal((3, 4, 5))
    seed_s = r.standard_normal((3, 4))
    grads = ex.backward({ref: seed_out, sref: seed_s}, input_grads=True)
    enc, dec = _torch(g._nodes["enc"], torch.nn.LSTM), _torch(g._nodes["dec"], torch.nn.LSTM)
    total, xs = 0, []
    for i in range(3):
        xt = torch.from_numpy(X[i][None].copy()).requires_grad_(True)
        _, (h, c) = enc(xt)
        y, (hT, _) = dec(torch.from_numpy(Y[i][None].copy()), (h, c))
        total = total + (y[0] * torch.from_numpy(seed_out[i][:, :len(Y[i])].T.copy())).sum() \
            + (hT[0, 0] * torch.from_numpy(seed_s[i])).sum()
        xs.append(xt)
    total.backward()
    c = view._compiled
    for name, m in (("enc", enc), ("dec", dec)):
        gr = grads[c.leaves[(name,)].core_names[0]]
        np.testing.assert_allclose(gr["InputWeights"], m.weight_ih_l0.grad.numpy(), rtol=1e-9, atol=1e-11)
        np.testing.assert_allclose(gr["RecurrentWeights"], m.weight_hh_l0.grad.numpy(), rtol=1e-9, atol=1e-11)
        np.testing.assert_allclose(gr["Bias"].ravel(), m.bias_ih_l0.grad.numpy(), rtol=1e-9, atol=1e-11)
    dx = ex.input_grads[("$in:x", "out")]
    for i, xt in enumerate(xs):
        np.testing.assert_allclose(dx[i][:, :len(X[i])].T, xt.grad[0].numpy(), rtol=1e-9, atol=1e-11)


def test_graph_ports_on_states_and_states_into_other_layers():
    g = NetGraph({"l": GatedRecurrentLayer(3)}, [(NetPort("s0"), NetPort("l", "State"))], Input=("Varying", 2))
    g = NetInitialize(g, RandomSeeding=2)
    assert g._input_names() == ["s0", "Input"] and g.compile().in_dims["s0"] == (3,)
    x = _seqs([5], 2)[0]
    s0 = np.array([0.5, -1.0, 0.25])
    m = _torch(g._nodes["l"], torch.nn.GRU)
    want, _ = m(torch.from_numpy(x[None].copy()), torch.from_numpy(s0[None, None].copy()))
    np.testing.assert_allclose(g({"Input": x, "s0": s0}, WorkingPrecision="Real64"), want[0].detach().numpy(),
                               rtol=1e-10, atol=1e-12)
    with pytest.raises(LayerGraphError, match="no recurrent states to store"):   # its one state is connected
        NetStateObject(g)
    assert g({"Input": x, "s0": s0}, NetPort(All, "States")) == {}
    # a final state into a LinearLayer: a vector
    h = NetGraph({"enc": LongShortTermMemoryLayer(4), "lin": LinearLayer(2)},
                 [(NetPort("enc", "State"), "lin"), ("enc", None)], Input=("Varying", 3))
    h = NetInitialize(h, RandomSeeding=1)
    assert h.compile().out_dims == {"Output": (2,)}
    X = _seqs([4, 6], 3, seed=7)
    st = h._nodes["enc"](X, NetPort(All, "States"))[("State",)]
    lin = h._nodes["lin"]
    np.testing.assert_allclose(h(X), st @ lin.arrays["Weights"].T + lin.arrays["Biases"], rtol=1e-5, atol=1e-6)
    assert 'NetPort[{"enc", "State"}] -> "lin"' in repr(h)


def test_nettrain_through_a_state_edge():
    r = np.random.default_rng(0)
    X = [r.standard_normal((int(t), 2)) for t in r.integers(2, 8, 260)]
    Y = np.array([[float(x[-2:, 0].sum() > 0)] for x in X])   # the last two steps' first feature
    g = NetGraph({"enc": LongShortTermMemoryLayer(8), "lin": LinearLayer(1)},
                 [(NetPort("enc", "State"), "lin"), ("enc", None)], Input=("Varying", 2))
    trained = NetTrain(g, (X[:200], Y[:200]), MaxTrainingRounds=40, RandomSeeding=1, BatchSize=16)
    pred = np.array(trained(X[200:])).reshape(-1)
    assert np.mean((pred > 0.5) == (Y[200:, 0] > 0.5)) >= 0.8   # chance: 0.5


def test_printouts_and_bad_input():
    text = repr(LongShortTermMemoryLayer(3, Input=2))
    assert "States\n    State:     vector (size: 3)\n    CellState: vector (size: 3)" in text
    assert "States\n    State: vector (size: 3)" in repr(GatedRecurrentLayer(3))
    with pytest.raises(LayerGraphError, match='output port "State" of layer "lin" does not exist'):
        NetGraph({"lin": LinearLayer(2), "l": GatedRecurrentLayer(3)}, [(NetPort("lin", "State"), "l")])
    with pytest.raises(LayerGraphError, match='input port "CellState" of layer "l" does not exist'):
        NetGraph({"lin": LinearLayer(3), "l": GatedRecurrentLayer(3)}, [("lin", NetPort("l", "CellState"))])
    with pytest.raises(LayerGraphError, match='state port "State" of GatedRecurrentLayer \\(layer "l"\\): a length-5 '
                                              'vector is not compatible with a length-3 vector'):
        NetGraph({"lin": LinearLayer(5), "l": GatedRecurrentLayer(3)},
                 [(NetPort("a"), "lin"), ("lin", NetPort("l", "State")), (NetPort("b"), "l")], a=2, b=("Varying", 2))
    with pytest.raises(LayerGraphError, match="acyclic"):
        NetGraph({"l": GatedRecurrentLayer(3)}, [(NetPort("l", "State"), NetPort("l", "State"))])
