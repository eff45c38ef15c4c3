"""ONNX's own node tests (built in memory from onnx.backend.test.case.node) through
``onnx.backend.test.BackendTest`` over ``LayergraphBackend``: every test in
``layergraph.onnx.coverage.COVERED`` imports and matches ONNX's expected outputs at the test's
tolerance. Every other single-node test of a mapped op is refused with OnnxImportError, whose
text names the node and the reason: never a wrong number, never another exception."""
from __future__ import annotations

import onnx.backend.test
import pytest

from layergraph.onnx.backend import LayergraphBackend
from layergraph.onnx.coverage import COVERED, MAPPED_OPS, classify, node_cases

CASES = node_cases()

# BackendTest builds ONNX's node tests in memory (onnx.backend.test.loader.load_node_model_tests
# collects onnx.backend.test.case.node); the include patterns select the covered ones
backend_test = onnx.backend.test.BackendTest(LayergraphBackend, __name__)
for _name in sorted(COVERED):
    backend_test.include(f"^{_name}_cpu$")
globals().update(backend_test.test_cases)


def test_the_covered_list_names_real_node_tests_of_mapped_ops():
    names = {c.name for c in CASES}
    assert COVERED <= names
    assert len(COVERED) >= 110
    ops = {c.model.graph.node[0].op_type for c in CASES if c.name in COVERED}
    # every mapped op has a covered node test, except those whose node tests all use configurations
    # with no layer: ReduceMean/ReduceMax over other axes, Pad alone, Sum of rank-1 data, LayerNormalization
    # over other axes or with its Mean/InvStdDev outputs used (test_patterns.py covers these ops' mapped forms)
    assert set(MAPPED_OPS) - ops == {"ReduceMean", "ReduceMax", "Pad", "Sum", "LayerNormalization"}


@pytest.mark.parametrize("case", [c for c in CASES if c.name not in COVERED], ids=lambda c: c.name)
def test_not_covered_is_refused_with_the_reason(case):
    status, why = classify(case)
    assert status == "not covered", (status, why)
    assert ("node '" in why or "input '" in why) and len(why) > 25, why
