"""The README's examples print what the README shows: each ```python block that is
followed by a plain ``` block is run, and its printed output must equal that block."""
import contextlib
import io
import re
from pathlib import Path

import pytest

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
PAIRS = re.findall(r"```python\n(.*?)```\n```\n(.*?)```", README, flags=re.S)


def test_the_readme_has_examples_with_output():
    assert len(PAIRS) >= 2


@pytest.mark.parametrize("code,expected", PAIRS, ids=[f"example{i + 1}" for i in range(len(PAIRS))])
def test_readme_example_prints_what_it_shows(code, expected):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, "README.md", "exec"), {})
    assert out.getvalue().rstrip() == expected.rstrip()
