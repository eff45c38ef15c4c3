"""benchmarks/ab.py (two source trees against each other) runs end to end on tiny work and prints
its table. Nothing about speed is asserted."""
import os
import sys

BENCH = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "benchmarks")
sys.path.insert(0, BENCH)
import ab  # noqa: E402


def test_ab_compares_a_tree_with_itself(capsys):
    root = os.path.dirname(BENCH)
    ab.main(["--a", root, "--b", root, "--rounds", "1", "--repeats", "2", "--warmup", "1", "--threads", "1",
             "conv:2x4x6x6:k3:s2:g4"])
    out = capsys.readouterr().out
    rows = [ln for ln in out.splitlines() if ln.startswith("| conv:")]
    assert [r.split("|")[2].strip() for r in rows] == ["forward", "backward"]
    for r in rows:
        cells = [float(v) for v in r.split("|")[3:9]]
        assert all(v > 0 for v in cells)
    assert "load average before" in out and "CPU:" in out


def test_conv_workload_spec():
    assert ab._conv_case("8x16x10x12:k5:s2:g16:f32") == (8, 16, 10, 12, {"k": 5, "s": 2, "g": 16, "f": 32})
    assert ab._conv_case("1x3x4x4") == (1, 3, 4, 4, {"k": 3, "s": 1, "g": 1, "f": 3})
