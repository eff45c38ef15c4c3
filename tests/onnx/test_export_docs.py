"""docs/onnx.md's export and import examples print what the page shows (each ```python block followed
by a plain ``` block), run in a scratch folder."""
import contextlib
import io
import re
from pathlib import Path

import pytest

pytest.importorskip("onnxruntime")
PAGE = (Path(__file__).resolve().parents[2] / "docs" / "onnx.md").read_text(encoding="utf-8")
PAIRS = re.findall(r"```python\n(.*?)```\n```\n(.*?)```", PAGE, flags=re.S)


def test_the_page_has_both_dialects_examples():
    assert len(PAIRS) == 4
    assert "exportONNXNetwork" in PAIRS[0][0] and "Export(" in PAIRS[1][0]
    assert "importNetworkFromONNX" in PAIRS[2][0] and "Import(" in PAIRS[3][0]


@pytest.mark.parametrize("code,expected", PAIRS, ids=["matlab", "wolfram", "matlab-import", "wolfram-import"])
def test_example_prints_what_the_page_shows(code, expected, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, "docs/onnx.md", "exec"), {})
    assert out.getvalue().rstrip() == expected.rstrip()
    assert any(tmp_path.glob("*.onnx"))
