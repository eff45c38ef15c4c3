"""Opsets 9 to the current one: every covered node test, converted by onnx.version_converter to
opsets 9, 11 and 13 where the converter can (attributes become inputs and back: Clip's min/max,
Dropout's ratio, Reshape's and Pad's inputs, Squeeze/Unsqueeze axes, Resize/Upsample), imports
and matches the test's expected outputs, or is refused with OnnxImportError (Softmax before
opset 13 normalizes over the flattened trailing dimensions, which the converter keeps as axis
1 here); never a wrong number."""
from __future__ import annotations

import warnings

import numpy as np
import onnx
import pytest
from onnx import version_converter

from layergraph.onnx.backend import LayergraphBackend
from layergraph.onnx.coverage import COVERED, node_cases
from layergraph.onnx.importer import OnnxImportError

CASES = [c for c in node_cases() if c.name in COVERED]


def _convert(model, v):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            m = version_converter.convert_version(model, v)
        onnx.checker.check_model(m)
        return m
    except Exception:   # noqa: BLE001 - the converter has no path for this op to this opset
        return None


@pytest.mark.parametrize("opset", [9, 11, 13])
def test_covered_node_tests_at_older_opsets(opset):
    ran = refused = 0
    for case in CASES:
        model = _convert(case.model, opset)
        if model is None:
            continue
        assert model.opset_import[0].version == opset
        try:
            rep = LayergraphBackend.prepare(model)
            for inputs, outputs in case.data_sets:
                for got, want in zip(rep.run(list(inputs)), outputs):
                    np.testing.assert_allclose(got, np.asarray(want), rtol=case.rtol, atol=case.atol,
                                               err_msg=f"{case.name} at opset {opset}")
            ran += 1
        except OnnxImportError as err:
            assert case.name.startswith("test_softmax") and "Softmax" in str(err), (case.name, str(err))
            refused += 1
    assert ran >= {9: 20, 11: 40, 13: 60}[opset], ran   # 23, 45 and 86 when written
    assert refused <= 1
