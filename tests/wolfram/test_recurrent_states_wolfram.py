"""Recurrent states in the Wolfram dialect: ``net(x, NetPort(All, "States"))`` (final states),
``net({"Input": x, NetPort(All, "States"): {...}})`` (initial states), lists of NetPorts, and
``NetStateObject`` (states carried between evaluations, a seed, ``NetExtract[obj, "States"]``).
Values against torch nn.LSTM / nn.GRU / nn.RNN with the same weights and initial states (float64),
carried states against the whole sequence at once, padded batches against each sequence alone,
bad input."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from layergraph.core.errors import LayerGraphError
from layergraph.wolfram import (
    All,
    BasicRecurrentLayer,
    GatedRecurrentLayer,
    LinearLayer,
    LongShortTermMemoryLayer,
    NetChain,
    NetExtract,
    NetInitialize,
    NetMapOperator,
    NetPort,
    NetStateObject,
    SequenceLastLayer,
)
from layergraph.wolfram.recurrent import GATES, GRU_GATES, core_arrays

STATES = NetPort(All, "States")
CLASSES = [LongShortTermMemoryLayer, GatedRecurrentLayer, BasicRecurrentLayer]
GATES_OF = {LongShortTermMemoryLayer: GATES, GatedRecurrentLayer: GRU_GATES, BasicRecurrentLayer: ("",)}


def _seqs(lengths, d=3, seed=0):
    r = np.random.default_rng(seed)
    return [r.standard_normal((t, d)) for t in lengths]


def _layer(cls, n=4, k=3, seed=1):
    layer = NetInitialize(cls(n, Input=("Varying", k)), RandomSeeding=seed)
    r = np.random.default_rng(seed + 100)
    return layer.with_arrays({a: 0.3 * r.standard_normal(v.shape) for a, v in layer.arrays.items()
                              if a.endswith("Biases")})


def _torch(cls, layer):
    w = core_arrays(layer.arrays, GATES_OF[cls])
    n, k = layer.arrays[f"{GATES_OF[cls][0]}InputWeights"].shape
    m = {LongShortTermMemoryLayer: lambda: torch.nn.LSTM(k, n, batch_first=True),
         GatedRecurrentLayer: lambda: torch.nn.GRU(k, n, batch_first=True),
         BasicRecurrentLayer: lambda: torch.nn.RNN(k, n, batch_first=True)}[cls]().double()
    with torch.no_grad():
        m.weight_ih_l0.copy_(torch.from_numpy(w["InputWeights"].astype(np.float64)))
        m.weight_hh_l0.copy_(torch.from_numpy(w["RecurrentWeights"].astype(np.float64)))
        m.bias_ih_l0.copy_(torch.from_numpy(w["Bias"].astype(np.float64)))
        m.bias_hh_l0.zero_()
    return m


def _torch_run(cls, m, x, h0=None, c0=None):
    xt = torch.from_numpy(x[None].copy())
    if cls is LongShortTermMemoryLayer:
        init = None if h0 is None else tuple(torch.from_numpy(v[None, None].copy()) for v in (h0, c0))
        y, (h, c) = m(xt, init)
        return y[0].detach().numpy(), h[0, 0].detach().numpy(), c[0, 0].detach().numpy()
    y, h = m(xt, None if h0 is None else torch.from_numpy(h0[None, None].copy()))
    return y[0].detach().numpy(), h[0, 0].detach().numpy(), None


@pytest.mark.parametrize("cls", CLASSES)
def test_final_and_initial_states_match_torch(cls):
    layer = _layer(cls)
    net = NetChain([layer], Input=("Varying", 3))
    x = _seqs([7])[0]
    m = _torch(cls, layer)
    _, h, c = _torch_run(cls, m, x)
    got = net(x, STATES, WorkingPrecision="Real64")
    keys = [(1, "State"), (1, "CellState")] if cls is LongShortTermMemoryLayer else [(1, "State")]
    assert list(got) == keys
    np.testing.assert_allclose(got[(1, "State")], h, rtol=1e-10, atol=1e-12)
    if c is not None:
        np.testing.assert_allclose(got[(1, "CellState")], c, rtol=1e-10, atol=1e-12)
    r = np.random.default_rng(5)
    h0, c0 = r.standard_normal(4), r.standard_normal(4)
    init = {(1, "State"): h0, (1, "CellState"): c0} if c is not None else {(1, "State"): h0}
    y, h, c = _torch_run(cls, m, x, h0, c0)
    both = net({"Input": x, STATES: init}, [NetPort("Output"), STATES], WorkingPrecision="Real64")
    assert list(both) == [NetPort("Output"), STATES]
    np.testing.assert_allclose(both[NetPort("Output")], y, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(both[STATES][(1, "State")], h, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(net({"Input": x, STATES: init}, WorkingPrecision="Real64"), y, rtol=1e-10, atol=1e-12)
    # a lone layer names its states as its own: {"State"}
    lone = layer(x, STATES, WorkingPrecision="Real64")
    assert list(lone)[0] == ("State",)
    np.testing.assert_allclose(lone[("State",)], got[(1, "State")], rtol=1e-12)


def test_carried_states_equal_the_whole_sequence_in_nested_nets_and_padded_batches():
    inner = NetChain([_layer(GatedRecurrentLayer, 3, 4, seed=2)])
    net = NetInitialize(NetChain([_layer(LongShortTermMemoryLayer, 4, 3), inner, NetMapOperator(LinearLayer(2))],
                                 Input=("Varying", 3)), RandomSeeding=3)
    X = _seqs([9, 4, 6], seed=1)
    whole = net(X, [NetPort("Output"), STATES], WorkingPrecision="Real64")
    assert list(whole[STATES]) == [(1, "State"), (1, "CellState"), (2, 1, "State")]
    cut = [3, 1, 5]
    first = net([x[:k] for x, k in zip(X, cut)], STATES, WorkingPrecision="Real64")
    assert first[(2, 1, "State")].shape == (3, 3)   # a batch: one state per example
    rest = net({"Input": [x[k:] for x, k in zip(X, cut)], STATES: first}, [NetPort("Output"), STATES],
               WorkingPrecision="Real64")
    for i, k in enumerate(cut):
        np.testing.assert_allclose(rest[NetPort("Output")][i], whole[NetPort("Output")][i][k:], rtol=1e-10,
                                   atol=1e-12)
        for key in whole[STATES]:   # each sequence's own final state (padding freezes it)
            alone = net(X[i], STATES, WorkingPrecision="Real64")[key]
            np.testing.assert_allclose(whole[STATES][key][i], alone, rtol=1e-10, atol=1e-12)
            np.testing.assert_allclose(rest[STATES][key][i], alone, rtol=1e-10, atol=1e-12)
    # one vector for the whole batch is every example's initial state
    h0 = np.full(4, 0.3)
    a = net({"Input": X, STATES: {(1, "State"): h0}})
    b = net({"Input": X[1], STATES: {(1, "State"): h0}})
    np.testing.assert_allclose(a[1], b, rtol=1e-5, atol=1e-6)


def test_net_state_object_carries_states_between_evaluations():
    layer = _layer(LongShortTermMemoryLayer)
    net = NetChain([layer, SequenceLastLayer()], Input=("Varying", 3))
    x = _seqs([8], seed=4)[0]
    obj = NetStateObject(net)
    assert set(NetExtract(obj, "States")) == {(1, "State"), (1, "CellState")}
    assert not any(np.any(v) for v in NetExtract(obj, "States").values())   # zeros without a seed
    outs = [obj(x[:3]), obj(x[3:5]), obj(x[5:])]
    np.testing.assert_allclose(outs[-1], net(x), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(NetExtract(obj, "States")[(1, "State")], net(x, STATES)[(1, "State")], rtol=1e-5,
                               atol=1e-6)
    # the same input, another answer: the stored states changed
    assert not np.allclose(obj(x[:3]), outs[0])
    # a seed
    seed = net(x[:3], STATES)
    seeded = NetStateObject(net, seed)
    np.testing.assert_allclose(seeded(x[3:]), net(x), rtol=1e-5, atol=1e-6)
    # a lone layer
    lone = NetStateObject(layer, {"State": np.ones(4)})
    assert set(lone.states) == {("State",), ("CellState",)}
    y = lone(x)
    want = layer({"Input": x, STATES: {("State",): np.ones(4)}})
    np.testing.assert_allclose(y, want, rtol=1e-6)
    np.testing.assert_allclose(lone.states[("State",)], want[-1], rtol=1e-6)
    assert "NetStateObject[NetChain" in repr(obj)


def test_bad_input():
    net = NetChain([_layer(GatedRecurrentLayer)], Input=("Varying", 3))
    x = _seqs([4])[0]
    with pytest.raises(LayerGraphError, match=r'\{1, "CellState"\} is not a recurrent state of the net. Its states: '
                                              r'\{1, "State"\}'):
        net({"Input": x, STATES: {(1, "CellState"): np.zeros(4)}})
    with pytest.raises(LayerGraphError, match=r'should be a vector of size 4.*received \{3\}'):
        net({"Input": x, STATES: {(1, "State"): np.zeros(3)}})
    with pytest.raises(LayerGraphError, match="association of states"):
        net({"Input": x, STATES: [1, 2]})
    with pytest.raises(LayerGraphError, match="no recurrent states to store"):
        NetStateObject(NetChain([LinearLayer(2)], Input=3))
    with pytest.raises(LayerGraphError, match="not a net"):
        NetStateObject(3)
    obj = NetStateObject(net)
    before = obj.states
    with pytest.raises(LayerGraphError, match="one example at a time"):
        obj(_seqs([4, 2]))
    assert all(np.array_equal(before[k], v) for k, v in obj.states.items())   # a failed call changes nothing
    with pytest.raises(LayerGraphError, match="is not a NetPort"):
        net(x, [NetPort("Output"), "Probabilities"])
    with pytest.raises(LayerGraphError, match="no output port"):
        net(x, [NetPort("Out")])
    with pytest.raises(LayerGraphError, match="not a part of a NetStateObject"):
        NetExtract(obj, "Arrays")
    assert repr(STATES) == 'NetPort[All, "States"]'
