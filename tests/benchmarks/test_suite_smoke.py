"""The benchmark suite's machinery on one small network (benchmarks/suite.py --quick): the
children run, the table has its rows and positive numbers. Nothing about speed is asserted."""
import importlib.util
import os
import sys

import pytest

BENCH = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "benchmarks")
sys.path.insert(0, BENCH)
import suite  # noqa: E402

# torch runs only in the suite's children; the test needs it installed, not imported here
pytestmark = pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="needs torch")


def test_quick_run_of_the_mlp_gives_the_expected_rows():
    a = suite.parse_args(["--quick", "--nets", "mlp", "--parts", "throughput"])
    assert (a.rounds, a.repeats, a.batch) == (1, 2, (32,))
    res = suite.measure(a)
    rows = res.throughput_rows()
    assert [(r[0], r[1], r[2]) for r in rows] == [("mlp", 32, "train"), ("mlp", 32, "predict")]
    for _, _, _, ours, theirs, ratio, goal in rows:
        assert ours > 0 and theirs > 0 and ratio > 0 and goal == 1.0
    for side in suite.SIDES:
        [(peak, after_import)] = res.rss[("mlp", 32, side)]
        assert peak >= after_import > 0
        assert len(res.samples[("mlp", 32, side, "train")]) >= 2
    text = suite.render(res)
    assert "MLP 784-512-512-10" in text and "training step" in text and "prediction" in text
    assert "load average" in text and "cores" in text
    md = suite.render(res, markdown=True).splitlines()
    assert sum(line.startswith("| MLP") for line in md) == 2


def test_the_estimate_of_the_full_run_is_about_a_quarter_hour():
    a = suite.parse_args([])
    seconds = suite.estimate(a.nets, a.batch, {k: getattr(a, k) for k in suite.FULL}, a.parts)
    assert 5 * 60 < seconds < 25 * 60


def test_a_bad_network_name_is_refused_with_the_choices():
    with pytest.raises(SystemExit):
        suite.parse_args(["--nets", "alexnet"])


def test_quick_run_of_the_lstm_classifier_counts_sequences():
    a = suite.parse_args(["--quick", "--nets", "lstm", "--parts", "throughput"])
    res = suite.measure(a)
    rows = res.throughput_rows()
    assert [(r[0], r[1], r[2]) for r in rows] == [("lstm", 32, "train"), ("lstm", 32, "predict")]
    for _, _, _, ours, theirs, ratio, goal in rows:
        assert ours > 0 and theirs > 0 and ratio > 0 and goal == 1.0
    text = suite.render(res)
    assert "LSTM 40-128, 100 steps" in text and "sequences for the LSTM" in text


def test_both_sides_lstm_classifiers_have_the_same_shapes():
    import nets
    layers = nets.matlab_layers("lstm")
    assert [type(x).__name__ for x in layers][:2] == ["SequenceInputLayer", "LSTMLayer"]
    X, labels = nets.matlab_data("lstm", 3)
    assert len(X) == 3 and X[0].shape == (nets.LSTM_FEATURES, nets.LSTM_STEPS) and labels.shape == (3,)
