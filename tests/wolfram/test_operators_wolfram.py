"""NetMapOperator and NetBidirectionalOperator (wolfram/operators.py): NetMapOperator[LinearLayer]
against the same LinearLayer applied per element (values and gradients through the executor
NetTrain uses, on a padded batch), a batch normalization inside seeing each sequence's own
elements only; NetBidirectionalOperator[LongShortTermMemoryLayer] against torch's bidirectional
nn.LSTM with the weights mapped (padded batch of different lengths; Catenate, Total, Mean);
two independent copies; NetExtract, printouts, Information, save / load, nesting in NetChain and
NetGraph, NetTrain through both; and the messages for bad nets, aggregations and inputs."""
from __future__ import annotations

import os
import tempfile

import numpy as np
import pytest
import torch

import layergraph as lg
from layergraph.core.errors import LayerGraphError
from layergraph.wolfram import (
    BatchNormalizationLayer,
    Catenate,
    Information,
    LinearLayer,
    LongShortTermMemoryLayer,
    Max,
    Mean,
    NetBidirectionalOperator,
    NetChain,
    NetDecoder,
    NetExtract,
    NetGraph,
    NetInitialize,
    NetMapOperator,
    NetPort,
    NetTrain,
    Ramp,
    SequenceLastLayer,
    SequenceReverseLayer,
    SoftmaxLayer,
    Total,
    TotalLayer,
)
from layergraph.wolfram.recurrent import Sequences, core_arrays


def _seqs(lengths, d=3, seed=0):
    r = np.random.default_rng(seed)
    return [r.standard_normal((t, d)) for t in lengths]


def _training_pass(net, X, d, seed=0):
    """(executor, compiled view, output, random output gradient, gradients) of NetTrain's core
    network in float64 on the padded batch of X."""
    view = net._for_training({"Input": Sequences(X, d)}, lambda w: w, None, np.float64)
    ex = view.core.executor("cpu", np.float64)
    data = Sequences(X, d).core_data(np.float64)[np.arange(len(X))]
    acts = ex.forward({"$in:Input": np.asarray(data)}, training=True, seq={"$in:Input": data.seq})
    ref = view.output_ref("Output")
    y = acts[ref]
    dy = np.random.default_rng(seed).standard_normal(y.shape)
    grads = ex.backward({ref: dy}, input_grads=True)
    return ex, view, y, dy, grads


# -- NetMapOperator ----------------------------------------------------------------------------------
def test_map_of_a_linear_layer_is_the_layer_per_element():
    m = NetInitialize(NetMapOperator(LinearLayer(4), Input=("Varying", 3)), RandomSeeding=2)
    lin = NetExtract(m, "Net")
    assert isinstance(lin, LinearLayer)
    X = _seqs([5, 1, 3])
    got = m(X, WorkingPrecision="Real64")
    w, b = lin.arrays["Weights"].astype(np.float64), lin.arrays["Biases"].astype(np.float64)
    for x, g in zip(X, got):
        assert g.shape == (len(x), 4)
        np.testing.assert_allclose(g, x @ w.T + b, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(g, lin(x, WorkingPrecision="Real64"), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(m(X[0], WorkingPrecision="Real64"), got[0], rtol=1e-12)


def test_map_gradients_equal_the_per_element_sums():
    net = NetInitialize(NetChain([NetMapOperator(LinearLayer(4))], Input=("Varying", 3)), RandomSeeding=1)
    X = _seqs([4, 2, 6], seed=5)
    ex, view, y, dy, grads = _training_pass(net, X, 3)
    lin = NetExtract(net, (1, "Net"))
    w, b = lin.arrays["Weights"].astype(np.float64), lin.arrays["Biases"].astype(np.float64)
    dw, db = np.zeros_like(w), np.zeros_like(b)
    dx = next(v for (name, _), v in ex.input_grads.items() if name == "$in:Input")
    for i, x in enumerate(X):   # padded batch N x C x T; each sequence's own steps
        t = len(x)
        np.testing.assert_allclose(y[i][:, :t].T, x @ w.T + b, rtol=1e-12, atol=1e-12)
        assert not np.any(y[i][:, t:])          # zeros on the padding
        g = dy[i][:, :t].T                       # T x 4
        dw += g.T @ x
        db += g.sum(0)
        np.testing.assert_allclose(dx[i][:, :t].T, g @ w, rtol=1e-12, atol=1e-12)
        assert not np.any(dx[i][:, t:])
    name = view._compiled.leaves[("1", "Net")].core_names[0]
    np.testing.assert_allclose(grads[name]["Weights"], dw, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(grads[name]["Bias"].ravel(), db, rtol=1e-12, atol=1e-12)
    # and float64 finite differences of the weights through the whole pass
    h = 1e-6
    p = ex.params[name]["Weights"]
    v = np.random.default_rng(9).standard_normal(p.shape)
    data = Sequences(X, 3).core_data(np.float64)[np.arange(3)]

    def loss():
        out = ex.forward({"$in:Input": np.asarray(data)}, training=True, seq={"$in:Input": data.seq})
        return float(np.sum(out[view.output_ref("Output")] * dy))
    p += h * v
    up = loss()
    p -= 2 * h * v
    down = loss()
    p += h * v
    assert abs((up - down) / (2 * h) - np.sum(grads[name]["Weights"] * v)) < 1e-7


def test_batch_normalization_inside_a_map_sees_own_elements_only():
    inner = NetChain([LinearLayer(3), BatchNormalizationLayer()])
    net = NetInitialize(NetChain([NetMapOperator(inner)], Input=("Varying", 2)), RandomSeeding=4)
    X = _seqs([5, 1, 3], d=2, seed=2)
    got = net(X, NetEvaluationMode="Train", WorkingPrecision="Real64")
    flat = np.concatenate(X)   # every own element once, no padding
    alone = NetExtract(net, (1, "Net"))(list(flat), NetEvaluationMode="Train", WorkingPrecision="Real64")
    np.testing.assert_allclose(np.concatenate(got), alone, rtol=1e-10, atol=1e-10)


def test_map_printout_nesting_and_save_load():
    m = NetMapOperator(NetChain([LinearLayer(5), Ramp, LinearLayer(2)]), Input=("Varying", 3))
    text = repr(m)
    assert text.startswith("NetMapOperator  (uninitialized)")
    assert "Input port:  matrix (size: n\u00d73)" in text and "Output port: matrix (size: n\u00d72)" in text
    assert "Net:         NetChain" in text
    m = NetInitialize(m, RandomSeeding=1)
    assert Information(m, "LayersCount") == 3 and Information(m, "ArraysCount") == 4
    assert len(m) == 1
    chain = NetChain([m, SequenceLastLayer()])
    assert "NetMapOperator     matrix (size: n\u00d72)" in repr(chain)
    X = _seqs([2, 4])
    lasts = chain(X)
    for x, y in zip(X, lasts):
        np.testing.assert_allclose(y, NetExtract(m, "Net")(list(x))[-1], rtol=1e-6)
    graph = NetGraph({"map": m, "last": SequenceLastLayer()}, [(NetPort("Input"), "map"), ("map", "last")])
    np.testing.assert_allclose(np.stack(graph(X)), np.stack(lasts), rtol=1e-6)
    from layergraph.wolfram import NetFlatten   # an operator stays one node
    flat = NetFlatten(NetChain([NetChain([m]), SequenceLastLayer()]))
    assert [type(n).__name__ for n in flat._nodes.values()] == ["NetMapOperator", "SequenceLastLayer"]
    np.testing.assert_allclose(np.stack(flat(X)), np.stack(lasts), rtol=1e-6)
    assert type(NetFlatten(graph)._nodes["map"]).__name__ == "NetMapOperator"
    path = os.path.join(tempfile.mkdtemp(), "map.lgnet")
    lg.save(chain, path)
    back = lg.load(path)
    assert repr(back) == repr(chain)
    np.testing.assert_array_equal(np.stack(back(X)), np.stack(lasts))


def test_nettrain_through_a_map():
    """Sequences of 3-vectors: is the last element's first entry positive?"""
    r = np.random.default_rng(3)
    X = [r.standard_normal((r.integers(2, 7), 3)) for _ in range(400)]
    Y = ["pos" if x[-1, 0] > 0 else "neg" for x in X]
    net = NetChain([NetMapOperator(NetChain([LinearLayer(6), Ramp])), LongShortTermMemoryLayer(6),
                    SequenceLastLayer(), LinearLayer(2), SoftmaxLayer()], Input=("Varying", 3),
                   Output=NetDecoder(("Class", ["neg", "pos"])))
    trained = NetTrain(net, list(zip(X[:320], Y[:320])), MaxTrainingRounds=20, LearningRate=0.01, RandomSeeding=2,
                       TrainingProgressReporting=None)
    assert np.mean([a == b for a, b in zip(trained(X[320:]), Y[320:])]) >= 0.9
    before = NetExtract(NetInitialize(net, RandomSeeding=2), (1, "Net", 1, "Weights"))
    assert not np.allclose(np.asarray(NetExtract(trained, (1, "Net", 1, "Weights"))), np.asarray(before))


# -- NetBidirectionalOperator ---------------------------------------------------------------------------
def _torch_bilstm(f, b):
    wf, wb = core_arrays(f.arrays), core_arrays(b.arrays)   # gates i, f, g, o: torch's order
    n, k = f.arrays["InputGateInputWeights"].shape
    m = torch.nn.LSTM(k, n, batch_first=True, bidirectional=True).double()
    with torch.no_grad():
        for suffix, w in (("", wf), ("_reverse", wb)):
            getattr(m, f"weight_ih_l0{suffix}").copy_(torch.from_numpy(w["InputWeights"].astype(np.float64)))
            getattr(m, f"weight_hh_l0{suffix}").copy_(torch.from_numpy(w["RecurrentWeights"].astype(np.float64)))
            getattr(m, f"bias_ih_l0{suffix}").copy_(torch.from_numpy(w["Bias"].astype(np.float64)))
            getattr(m, f"bias_hh_l0{suffix}").zero_()
    return m


def _torch_outputs(m, X, n):
    """torch's bidirectional outputs of a padded, packed batch, cut to each sequence's length."""
    lengths = [len(x) for x in X]
    batch = np.zeros((len(X), max(lengths), X[0].shape[1]))
    for i, x in enumerate(X):
        batch[i, :len(x)] = x
    packed = torch.nn.utils.rnn.pack_padded_sequence(torch.from_numpy(batch), lengths, batch_first=True,
                                                     enforce_sorted=False)
    out, _ = m(packed)
    out, _ = torch.nn.utils.rnn.pad_packed_sequence(out, batch_first=True)
    return [out[i, :t].detach().numpy() for i, t in enumerate(lengths)]


@pytest.mark.parametrize("agg", [Catenate, Total, Mean])
def test_bidirectional_lstm_matches_torch_on_a_padded_batch(agg):
    op = NetInitialize(NetBidirectionalOperator(LongShortTermMemoryLayer(4), agg, Input=("Varying", 3)),
                       RandomSeeding=5)
    f, b = NetExtract(op, "ForwardNet"), NetExtract(op, "BackwardNet")
    assert not np.array_equal(f.arrays["InputGateInputWeights"], b.arrays["InputGateInputWeights"])  # two copies
    X = _seqs([6, 1, 4, 3], seed=7)
    got = op(X, WorkingPrecision="Real64")
    want = _torch_outputs(_torch_bilstm(f, b), X, 4)
    for g, w in zip(got, want):
        fw, bw = w[:, :4], w[:, 4:]
        expect = {"Catenate": w, "Total": fw + bw, "Mean": (fw + bw) / 2}[agg.name]
        assert g.shape == expect.shape
        np.testing.assert_allclose(g, expect, rtol=1e-10, atol=1e-12)


def test_bidirectional_gradients_match_torch():
    net = NetInitialize(NetChain([NetBidirectionalOperator(LongShortTermMemoryLayer(3)), SequenceLastLayer()],
                                 Input=("Varying", 2)), RandomSeeding=3)
    X = _seqs([5, 2, 3], d=2, seed=1)
    ex, view, y, dy, grads = _training_pass(net, X, 2, seed=4)
    op = net._nodes["1"]
    m = _torch_bilstm(op._nodes["ForwardNet"], op._nodes["BackwardNet"])
    total = 0
    for i, x in enumerate(X):   # each sequence alone; the last element: forward's last, backward's first output
        out, _ = m(torch.from_numpy(x[None].copy()))
        z = out[0, -1]
        np.testing.assert_allclose(y[i], z.detach().numpy(), rtol=1e-10, atol=1e-12)
        total = total + (z * torch.from_numpy(dy[i])).sum()
    total.backward()
    for part, suffix in (("ForwardNet", ""), ("BackwardNet", "_reverse")):
        name = view._compiled.leaves[("1", part)].core_names[0]
        np.testing.assert_allclose(grads[name]["InputWeights"], getattr(m, f"weight_ih_l0{suffix}").grad.numpy(),
                                   rtol=1e-9, atol=1e-11)
        np.testing.assert_allclose(grads[name]["RecurrentWeights"],
                                   getattr(m, f"weight_hh_l0{suffix}").grad.numpy(), rtol=1e-9, atol=1e-11)
        np.testing.assert_allclose(grads[name]["Bias"].ravel(), getattr(m, f"bias_ih_l0{suffix}").grad.numpy(),
                                   rtol=1e-9, atol=1e-11)


def test_bidirectional_pair_printout_extract_and_save_load():
    op = NetBidirectionalOperator((LongShortTermMemoryLayer(3), LongShortTermMemoryLayer(2)), Input=("Varying", 2))
    text = repr(op)
    assert "Output port: matrix (size: n\u00d75)" in text
    assert "ForwardNet:  LongShortTermMemoryLayer" in text and "BackwardNet: LongShortTermMemoryLayer" in text
    assert "Aggregation: Catenate" in text
    op = NetInitialize(op, RandomSeeding=2)
    assert NetExtract(op, "BackwardNet").params["OutputSize"] == 2
    assert Information(op, "LayersCount") == 2 and len(op) == 2
    with pytest.raises(LayerGraphError, match="no part"):
        NetExtract(op, "SideNet")
    path = os.path.join(tempfile.mkdtemp(), "bi.lgnet")
    lg.save(op, path)
    back = lg.load(path)
    X = _seqs([3, 5], d=2)
    assert repr(back) == repr(op)
    for a, b in zip(back(X), op(X)):
        np.testing.assert_array_equal(a, b)


def test_nettrain_through_a_bidirectional_operator():
    """Is the second element's first entry positive, read at the first element: there only the
    backward net has seen the second element (one step before its last), the forward net only the
    first, so the training has to go through the backward net and its reversal."""
    r = np.random.default_rng(6)
    X = [r.standard_normal((r.integers(2, 7), 2)) for _ in range(400)]
    Y = ["pos" if x[1, 0] > 0 else "neg" for x in X]
    net = NetChain([NetBidirectionalOperator(LongShortTermMemoryLayer(6), Total), SequenceReverseLayer(),
                    SequenceLastLayer(), LinearLayer(2), SoftmaxLayer()], Input=("Varying", 2),
                   Output=NetDecoder(("Class", ["neg", "pos"])))
    trained = NetTrain(net, list(zip(X[:320], Y[:320])), MaxTrainingRounds=20, LearningRate=0.01, RandomSeeding=1,
                       TrainingProgressReporting=None)
    assert np.mean([a == b for a, b in zip(trained(X[320:]), Y[320:])]) >= 0.9
    init = NetInitialize(net, RandomSeeding=1)
    for part in ("ForwardNet", "BackwardNet"):
        a = np.asarray(NetExtract(trained, (1, part, "InputGateInputWeights")))
        assert not np.allclose(a, np.asarray(NetExtract(init, (1, part, "InputGateInputWeights"))))


# -- bad input -------------------------------------------------------------------------------------------
def test_bad_nets_aggregations_and_inputs():
    two = NetGraph({"t": TotalLayer()}, [((NetPort("a"), NetPort("b")), "t")])
    with pytest.raises(LayerGraphError) as e:
        NetMapOperator(two)
    assert "NetMapOperator: the net should have exactly one input port and one output port" in str(e.value)
    assert "2 input ports (a, b)" in str(e.value)
    with pytest.raises(LayerGraphError, match="exactly one input port"):
        NetBidirectionalOperator(TotalLayer())
    with pytest.raises(LayerGraphError, match="aggregation .* should be one of Catenate, Total or Mean"):
        NetBidirectionalOperator(LongShortTermMemoryLayer(2), Max)
    with pytest.raises(LayerGraphError, match="aggregation"):
        NetBidirectionalOperator(LongShortTermMemoryLayer(2), "Sum")
    with pytest.raises(LayerGraphError, match="both should give sequences, or arrays of one rank"):
        NetChain([NetBidirectionalOperator((LongShortTermMemoryLayer(2),
                                            NetChain([LongShortTermMemoryLayer(2), SequenceLastLayer()])))],
                 Input=("Varying", 2)).compile()
    with pytest.raises(LayerGraphError, match="NetBidirectionalOperator: the input should be a sequence"):
        NetChain([NetBidirectionalOperator(LinearLayer(2))], Input=3).compile()
    with pytest.raises(LayerGraphError, match="same dimensions"):
        NetChain([NetBidirectionalOperator((LongShortTermMemoryLayer(2), LongShortTermMemoryLayer(3)), Total)],
                 Input=("Varying", 2)).compile()
    with pytest.raises(LayerGraphError, match="a net to map is needed"):
        NetMapOperator()


def test_map_over_the_first_dimension_of_a_fixed_length_array():
    """A fixed-length sequence {T, d} (an array mapped over its first dimension): values and
    gradients are the layer's per row; {T} of indices maps to {T, size}; {T, h, w} to {T, n}."""
    m = NetInitialize(NetMapOperator(LinearLayer(3), Input=(5, 2)), RandomSeeding=1)
    assert m.compile().out_dims["Output"] == (5, 3)
    lin = NetExtract(m, "Net")
    w, b = lin.arrays["Weights"].astype(np.float64), lin.arrays["Biases"].astype(np.float64)
    x = np.random.default_rng(0).standard_normal((2, 5, 2))
    np.testing.assert_allclose(m(x, WorkingPrecision="Real64"), x @ w.T + b, rtol=1e-12, atol=1e-12)
    view = NetChain([m])._for_training({"Input": x}, lambda n: n, None, np.float64)
    ex = view.core.executor("cpu", np.float64)
    ref = view.output_ref("Output")
    y = ex.forward({"$in:Input": x.reshape(2, 5, 2, 1)}, training=True)[ref]
    dy = np.random.default_rng(1).standard_normal(y.shape)
    grads = ex.backward({ref: dy}, input_grads=True)
    g = dy.reshape(2, 5, 3)
    name = view._compiled.leaves[("1", "Net")].core_names[0]
    np.testing.assert_allclose(grads[name]["Weights"], np.einsum("ntk,ntc->kc", g, x), rtol=1e-12)
    dx = next(v for (nm, _), v in ex.input_grads.items() if nm == "$in:Input")
    np.testing.assert_allclose(dx.reshape(2, 5, 2), g @ w, rtol=1e-12, atol=1e-12)
    from layergraph.wolfram import EmbeddingLayer
    e = NetInitialize(NetMapOperator(EmbeddingLayer(2, 10), Input=6), RandomSeeding=2)
    assert e.compile().out_dims["Output"] == (6, 2)
    table = np.asarray(NetExtract(e, ("Net", "Weights")))
    np.testing.assert_allclose(e([1, 2, 3, 10, 10, 4]), table[[0, 1, 2, 9, 9, 3]], rtol=1e-6)
    r = NetInitialize(NetMapOperator(LinearLayer(3), Input=(4, 3, 2)))
    assert r.compile().out_dims["Output"] == (4, 3)
    with pytest.raises(LayerGraphError, match="NetMapOperator: the input should be a sequence"):
        NetChain([NetMapOperator(LinearLayer(2))], Input="Real").compile()


def test_bidirectional_nets_that_end_in_a_vector_are_not_reversed():
    """"the output is again reversed if net produces a sequence of vectors": a net ending in
    SequenceLastLayer gives its vector as it is; Catenate joins the two vectors."""
    inner = NetChain([LongShortTermMemoryLayer(3), SequenceLastLayer()])
    net = NetInitialize(NetChain([NetBidirectionalOperator(inner)], Input=("Varying", 2)), RandomSeeding=1)
    assert net.compile().out_dims["Output"] == (6,)
    op = net._nodes["1"]
    f, b = NetExtract(op, "ForwardNet"), NetExtract(op, "ReverseNet")   # the earlier doc's name of BackwardNet
    assert b is NetExtract(op, "BackwardNet")
    X = _seqs([4, 2], d=2, seed=3)
    for x, y in zip(X, net(X, WorkingPrecision="Real64")):
        want = np.concatenate([f(x, WorkingPrecision="Real64"), b(x[::-1], WorkingPrecision="Real64")])
        np.testing.assert_allclose(y, want, rtol=1e-10, atol=1e-12)


def test_learning_rate_multipliers_of_an_operator_and_its_options():
    from layergraph.wolfram import MeanSquaredLossLayer
    op = NetBidirectionalOperator(LongShortTermMemoryLayer(2), LearningRateMultipliers={"BackwardNet": 0},
                                  Input=("Varying", 2))
    net = NetInitialize(NetChain([op, SequenceLastLayer()]), RandomSeeding=1)
    r = np.random.default_rng(0)
    data = [(r.standard_normal((4, 2)), r.standard_normal(4)) for _ in range(30)]
    trained = NetTrain(net, data, MaxTrainingRounds=2, LossFunction=MeanSquaredLossLayer(),
                       TrainingProgressReporting=None)
    w = lambda n, p: np.asarray(NetExtract(n, (1, p, "InputGateInputWeights")))  # noqa: E731
    assert not np.allclose(w(trained, "ForwardNet"), w(net, "ForwardNet"))
    np.testing.assert_array_equal(w(trained, "BackwardNet"), w(net, "BackwardNet"))   # frozen
    path = os.path.join(tempfile.mkdtemp(), "lrm.lgnet")
    lg.save(trained, path)
    assert lg.load(path)._nodes["1"]._lrm == {"BackwardNet": 0.0}
    with pytest.raises(LayerGraphError, match="Bogus is not a known option for NetMapOperator"):
        NetMapOperator(LinearLayer(2), Bogus=1)
    with pytest.raises(LayerGraphError, match="LearningRateMultipliers -> -1"):
        NetBidirectionalOperator(LongShortTermMemoryLayer(2), LearningRateMultipliers=-1)
