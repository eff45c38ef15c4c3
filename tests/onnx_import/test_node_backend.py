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
# collects onnx.backend.test.case.node); the include patterns select the covered ones. BackendTest
# marks every other test (and the CUDA variants, a device the backend does not support) with
# unittest.skip; those methods are removed, so that collection yields the covered tests only (no
# test is skipped here: the tests outside COVERED are checked below, refused with a reason).
backend_test = onnx.backend.test.BackendTest(LayergraphBackend, __name__)
for _name in sorted(COVERED):
    backend_test.include(f"^{_name}_cpu$")


def _included_only(cases: dict) -> dict:
    out = {}
    for cls_name, cls in cases.items():
        for attr in [a for a in vars(cls) if a.startswith("test_")]:
            if getattr(getattr(cls, attr), "__unittest_skip__", False):
                delattr(cls, attr)
        if any(a.startswith("test_") for a in vars(cls)):
            out[cls_name] = cls
    return out


BACKEND_CASES = _included_only(backend_test.test_cases)
globals().update(BACKEND_CASES)


def test_backend_test_exposes_exactly_the_covered_tests():
    exposed = {a for cls in BACKEND_CASES.values() for a in vars(cls) if a.startswith("test_")}
    assert exposed == {f"{name}_cpu" for name in COVERED}


def test_the_covered_list_names_real_node_tests_of_mapped_ops():
    names = {c.name for c in CASES}
    assert COVERED <= names
    assert len(COVERED) >= 110
    ops = {c.model.graph.node[0].op_type for c in CASES if c.name in COVERED}
    # every mapped op has a covered node test, except those whose node tests all use configurations
    # with no layer: ReduceMean/ReduceMax over other axes, Pad alone, Sum of rank-1 data, LayerNormalization
    # over other axes or with its Mean/InvStdDev outputs used (test_patterns.py covers these ops' mapped forms);
    # Gather, whose node tests gather along other axes or from arrays of other ranks than an embedding's rows of
    # a matrix (tests/onnx/test_onnx_embedding.py covers the embedding)
    assert set(MAPPED_OPS) - ops == {"ReduceMean", "ReduceMax", "Pad", "Sum", "LayerNormalization", "Gather"}


@pytest.mark.parametrize("case", [c for c in CASES if c.name not in COVERED], ids=lambda c: c.name)
def test_not_covered_is_refused_with_the_reason(case):
    status, why = classify(case)
    assert status == "not covered", (status, why)
    assert ("node '" in why or "input '" in why) and len(why) > 25, why
