"""The recurrent layers' "Dropout" (LongShortTermMemoryLayer, GatedRecurrentLayer, BasicRecurrentLayer):
"VariationalInput" (each gate's own mask on the input, one per sequence), "VariationalWeights"
(DropConnect on the input and state weights), "VariationalState" (each gate's own mask on the state
entering its recurrent product, one per sequence) and "StateUpdate" (a fresh mask per step on the
memory / candidate update), in training only. Values against a numpy step
reference of Wolfram's equations with the same masks (drawn from the same seed), gradients by
float64 central differences for a fixed mask, evaluation unchanged, the masks' form, NetTrain,
specs and messages."""
from __future__ import annotations

import numpy as np
import pytest

from layergraph.core.errors import LayerGraphError
from layergraph.core.ops_recurrent import keep_mask
from layergraph.wolfram import (
    BasicRecurrentLayer,
    GatedRecurrentLayer,
    LinearLayer,
    LongShortTermMemoryLayer,
    NetChain,
    NetExtract,
    NetInitialize,
    NetTrain,
    SequenceLastLayer,
)
from layergraph.wolfram.recurrent import GATES, GRU_GATES, Sequences

CLASSES = [LongShortTermMemoryLayer, GatedRecurrentLayer, BasicRecurrentLayer]
GATES_OF = {LongShortTermMemoryLayer: GATES, GatedRecurrentLayer: GRU_GATES, BasicRecurrentLayer: ("",)}
RATES = {"VariationalInput": 0.3, "VariationalWeights": 0.25}
ALL = {"VariationalInput": 0.3, "VariationalWeights": 0.25, "VariationalState": 0.2, "StateUpdate": 0.35}


def _rates(cls, rates):
    """The basic layer has no state update (Wolfram refuses "StateUpdate" for it)."""
    return {m: p for m, p in rates.items() if not (cls is BasicRecurrentLayer and m == "StateUpdate")}


def _seqs(lengths, d=3, seed=0):
    r = np.random.default_rng(seed)
    return [r.standard_normal((t, d)) for t in lengths]


def _net(cls, dropout, n=4, k=3, seed=1):
    layer = NetInitialize(cls(n, Input=("Varying", k), Dropout=dropout), RandomSeeding=seed)
    r = np.random.default_rng(seed + 100)
    layer = layer.with_arrays({a: 0.3 * r.standard_normal(v.shape) for a, v in layer.arrays.items()
                               if a.endswith("Biases")})
    return NetInitialize(NetChain([layer, SequenceLastLayer(), LinearLayer(2)], Input=("Varying", k)),
                         RandomSeeding=seed + 1)


def _same_without_dropout(net, cls, dropout=None):
    layer = net._nodes["1"]
    other = cls(layer.params["OutputSize"], Dropout=dropout, **{a: v for a, v in layer.arrays.items()
                                                                  if v is not None})
    return NetChain([other, SequenceLastLayer(), net._nodes["3"]], Input=("Varying", 3))


def _executor(net, X):
    view = net._for_training({"Input": Sequences(X, X[0].shape[1])}, lambda w: w, None, np.float64)
    ex = view.core.executor("cpu", np.float64)
    data = Sequences(X, X[0].shape[1]).core_data(np.float64)[np.arange(len(X))]
    name = view._compiled.leaves[("1",)].core_names[0]
    return ex, np.asarray(data), data.seq, view.output_ref("Output"), name


def _forward(ex, x, seq, out_ref, seed, training=True):
    return ex.forward({"$in:Input": x}, training=training, seq={"$in:Input": seq},
                      rng=np.random.default_rng(seed))[out_ref]


def _masks(cls, n_seq, k, n, rates, seed, steps):
    """The masks the op draws (core/ops_recurrent.py DropoutMasks: input, input weights, recurrent
    weights, state, update, from the executor's generator), per gate in the core's order."""
    g = len(GATES_OF[cls])
    rng = np.random.default_rng(seed)
    p_in, p_w = rates.get("VariationalInput", 0), rates.get("VariationalWeights", 0)
    p_s, p_u = rates.get("VariationalState", 0), rates.get("StateUpdate", 0)
    mi = keep_mask(rng, (g, n_seq, k), p_in, np.float64) if p_in else np.ones((g, n_seq, k))
    mw = keep_mask(rng, (g * n, k), p_w, np.float64) if p_w else np.ones((g * n, k))
    mr = keep_mask(rng, (g * n, n), p_w, np.float64) if p_w else np.ones((g * n, n))
    ms = keep_mask(rng, (g, n_seq, n), p_s, np.float64) if p_s else np.ones((g, n_seq, n))
    mu = keep_mask(rng, (steps, n_seq, n), p_u, np.float64) if p_u else np.ones((steps, n_seq, n))
    return mi, mw, mr, ms, mu


def _reference(cls, layer, x, mi, mw, mr, ms, mu):
    """Wolfram's documented equations, step by step, with the masks where the paclet's Writer puts
    them: gate g's input x * mi[g] and weights W_g * mw_g, R_g * mr_g (SowMappedFC[xdrop @ input,
    wdrop @ W, b]), its state s * ms[g] (SowFC[sdrop @ s, R]), the update m * mu[t] (LSTM
    c = f*c + i*sudrop[m], GRU SowMix[sudrop @ h, s, z])."""
    gates = GATES_OF[cls]
    n = layer.arrays[f"{gates[0]}Biases"].shape[0]
    a = {kk: v.astype(np.float64) for kk, v in layer.arrays.items()}
    W = {g: a[f"{g}InputWeights"] * mw[i * n:(i + 1) * n] for i, g in enumerate(gates)}
    R = {g: a[f"{g}StateWeights"] * mr[i * n:(i + 1) * n] for i, g in enumerate(gates)}
    B = {g: a[f"{g}Biases"] for g in gates}
    X = {g: x * mi[i] for i, g in enumerate(gates)}   # one mask per sequence, every step
    S = {g: ms[i] for i, g in enumerate(gates)}
    sig = lambda v: 1 / (1 + np.exp(-v))   # noqa: E731
    s, c = np.zeros(n), np.zeros(n)
    for t in range(len(x)):
        pre = {g: W[g] @ X[g][t] + B[g] + R[g] @ (S[g] * s) for g in gates}
        if cls is LongShortTermMemoryLayer:
            i, o, f = sig(pre["InputGate"]), sig(pre["OutputGate"]), sig(pre["ForgetGate"])
            m = np.tanh(pre["MemoryGate"])
            c = f * c + i * (m * mu[t])
            s = o * np.tanh(c)
        elif cls is GatedRecurrentLayer:
            i = sig(pre["InputGate"])
            r = sig(pre["ResetGate"])
            m = np.tanh(W["MemoryGate"] @ X["MemoryGate"][t] + B["MemoryGate"]
                        + r * (R["MemoryGate"] @ (S["MemoryGate"] * s)))
            s = (1 - i) * (m * mu[t]) + i * s
        else:
            s = np.tanh(pre[""])
    return s


@pytest.mark.parametrize("cls", CLASSES)
@pytest.mark.parametrize("rates", [RATES, ALL, {"VariationalInput": 0.4}, {"VariationalWeights": 0.5},
                                   {"VariationalState": 0.4}, {"StateUpdate": 0.4, "VariationalState": 0.3}])
def test_training_values_match_the_reference_with_the_same_masks(cls, rates):
    rates = _rates(cls, rates)
    net = _net(cls, rates)
    X = _seqs([6, 2, 4], seed=3)
    ex, x, seq, out_ref, _ = _executor(net, X)
    y = _forward(ex, x, seq, out_ref, seed=11)
    mi, mw, mr, ms, mu = _masks(cls, 3, 3, 4, rates, seed=11, steps=6)
    lin = net._nodes["3"]
    for j, xs in enumerate(X):
        s = _reference(cls, net._nodes["1"], xs, mi[:, j], mw, mr, ms[:, j], mu[:, j])
        want = lin.arrays["Weights"].astype(np.float64) @ s + lin.arrays["Biases"]
        np.testing.assert_allclose(y[j], want, rtol=1e-10, atol=1e-12)
    # another seed, other masks; the same seed, the same numbers
    assert not np.allclose(_forward(ex, x, seq, out_ref, seed=12), y)
    np.testing.assert_array_equal(_forward(ex, x, seq, out_ref, seed=11), y)


@pytest.mark.parametrize("cls", CLASSES)
@pytest.mark.parametrize("rates", [RATES, ALL])
def test_gradients_match_finite_differences_for_a_fixed_mask(cls, rates):
    net = _net(cls, _rates(cls, rates), n=3, k=2, seed=4)
    X = _seqs([5, 2, 3], d=2, seed=6)
    ex, x, seq, out_ref, name = _executor(net, X)
    y = _forward(ex, x, seq, out_ref, seed=21)
    dy = np.random.default_rng(1).standard_normal(y.shape)
    grads = ex.backward({out_ref: dy}, input_grads=True)[name]
    dx = next(v for (nm, _), v in ex.input_grads.items() if nm == "$in:Input")

    def loss(xx):
        return float(np.sum(_forward(ex, xx, seq, out_ref, seed=21) * dy))

    eps = 1e-6
    params = ex.params[name]
    rng = np.random.default_rng(2)
    for p in ("InputWeights", "RecurrentWeights", "Bias"):
        arr = params[p]
        for idx in (tuple(rng.integers(0, s) for s in arr.shape) for _ in range(6)):
            old = arr[idx]
            arr[idx] = old + eps
            up = loss(x)
            arr[idx] = old - eps
            down = loss(x)
            arr[idx] = old
            np.testing.assert_allclose(grads[p][idx], (up - down) / (2 * eps), rtol=1e-6, atol=1e-8)
    for j, length in enumerate((5, 2, 3)):
        for c in range(2):
            for t in range(length):
                xp, xm = x.copy(), x.copy()
                xp[j, c, t] += eps
                xm[j, c, t] -= eps
                np.testing.assert_allclose(dx[j, c, t], (loss(xp) - loss(xm)) / (2 * eps), rtol=1e-6, atol=1e-8)
    assert not np.any(dx[1, :, 2:])   # padded steps take no gradient


@pytest.mark.parametrize("cls", CLASSES)
def test_dropout_is_off_in_evaluation_and_on_with_net_evaluation_mode_train(cls):
    X = _seqs([5, 3], seed=8)
    with_drop = _net(cls, _rates(cls, ALL))
    without = _same_without_dropout(with_drop, cls)
    np.testing.assert_array_equal(with_drop(X), without(X))
    np.testing.assert_array_equal(with_drop(X, NetEvaluationMode="Train", RandomSeeding=3),
                                  with_drop(X, NetEvaluationMode="Train", RandomSeeding=3))
    assert not np.allclose(with_drop(X, NetEvaluationMode="Train", RandomSeeding=3), without(X))
    zero = _same_without_dropout(with_drop, cls, {"VariationalInput": 0.0})
    np.testing.assert_array_equal(zero(X, NetEvaluationMode="Train"), without(X))


def test_masks_are_inverted_dropout_one_per_gate_and_sequence():
    rng = np.random.default_rng(0)
    m = keep_mask(rng, (4, 2000, 6), 0.3, np.float64)
    assert set(np.unique(m)) == {0.0, 1 / 0.7}
    assert abs(m.mean() - 1) < 0.02 and abs((m == 0).mean() - 0.3) < 0.01
    assert not np.array_equal(m[0], m[1])   # each gate its own mask
    assert not np.any(keep_mask(rng, (3, 3), 1.0, np.float32))   # p = 1 drops everything


@pytest.mark.parametrize("cls", CLASSES)
def test_nettrain_with_dropout_learns(cls):
    """Every method at once (the basic layer: all but "StateUpdate"); the task (the sign of the sum of
    the last two steps' first feature) is learned in every run seen (0.85 to 0.975 held out; NetTrain's
    runs differ even with one RandomSeeding, so the bound leaves room; chance is 0.5)."""
    r = np.random.default_rng(0)
    X = [r.standard_normal((int(t), 2)) for t in r.integers(2, 8, 280)]
    Y = np.array([[float(x[-2:, 0].sum() > 0)] for x in X])
    layer = cls(8, Dropout=_rates(cls, {"VariationalInput": 0.1, "VariationalWeights": 0.1, "VariationalState": 0.1,
                                        "StateUpdate": 0.1}))
    net = NetChain([layer, SequenceLastLayer(), LinearLayer(1)], Input=("Varying", 2))
    trained = NetTrain(net, (X[:200], Y[:200]), MaxTrainingRounds=40, RandomSeeding=1, BatchSize=16)
    pred = np.array(trained(X[200:])).reshape(-1)
    assert np.mean((pred > 0.5) == (Y[200:, 0] > 0.5)) >= 0.8


def test_specs_parameters_and_messages():
    layer = LongShortTermMemoryLayer(3, Dropout=0.2)   # a bare p is "VariationalWeights"
    assert NetExtract(layer, "Dropout") == 0.2
    c = NetChain([layer], Input=("Varying", 2)).compile()
    assert c.leaves[("1",)].built.specs[0].dropout == {"VariationalWeights": 0.2}
    assert GatedRecurrentLayer(2, Dropout=[("VariationalInput", 0.5)]).params["Dropout"] == {"VariationalInput": 0.5}
    BasicRecurrentLayer(3, Dropout={"StateUpdate": 0})   # p = 0 drops nothing: allowed
    with pytest.raises(LayerGraphError, match="Dropout probabilities should be numeric values between 0 and 1"):
        LongShortTermMemoryLayer(3, Dropout={"VariationalInput": 1.5})
    with pytest.raises(LayerGraphError, match="allowed methods"):
        BasicRecurrentLayer(3, Dropout={"Foo": 0.1})
    with pytest.raises(LayerGraphError, match="UpdateVector"):
        BasicRecurrentLayer(3, Dropout={"StateUpdate": 0.1})


def test_save_load_keeps_the_dropout(tmp_path):
    import layergraph
    net = _net(LongShortTermMemoryLayer, ALL)
    path = tmp_path / "net.lgnet"
    layergraph.save(net, path)
    back = layergraph.load(path)
    assert NetExtract(back, (1, "Dropout")) == ALL
    X = _seqs([4, 2], seed=9)
    np.testing.assert_array_equal(back(X), net(X))
    np.testing.assert_array_equal(back(X, NetEvaluationMode="Train", RandomSeeding=5),
                                  net(X, NetEvaluationMode="Train", RandomSeeding=5))
