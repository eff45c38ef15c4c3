"""What ``help()`` and ``inspect.signature`` show for a MATLAB constructor: MATLAB's positional
arguments, then the name-value options as keywords with their defaults, and a docstring that
names the title of MATLAB's documentation page. The calling styles themselves are tested in
test_constructors.py."""
import inspect

import pytest

from layergraph.core.layer import AUTO
from layergraph.core.registry import REGISTRY
from layergraph.matlab.constructors import CONSTRUCTORS

P = inspect.Parameter


def test_convolution2d_signature():
    sig = inspect.signature(CONSTRUCTORS["convolution2dLayer"])
    params = list(sig.parameters.values())
    assert [(p.name, p.kind) for p in params[:3]] == [
        ("FilterSize", P.POSITIONAL_ONLY), ("NumFilters", P.POSITIONAL_ONLY), ("name_value", P.VAR_POSITIONAL)]
    keywords = {p.name: p.default for p in params[3:]}
    assert all(p.kind is P.KEYWORD_ONLY for p in params[3:])
    assert keywords["Stride"] == (1, 1) and keywords["Padding"] == 0 and keywords["PaddingValue"] == 0
    assert keywords["NumChannels"] == AUTO and keywords["Weights"] is None and keywords["Name"] == ""
    assert keywords["WeightsInitializer"] == "glorot" and keywords["BiasL2Factor"] == 0
    assert "PaddingMode" not in keywords and "PaddingSize" not in keywords  # Padding stands for them


def test_optional_positionals_have_their_defaults():
    assert str(inspect.signature(CONSTRUCTORS["leakyReluLayer"])) == "(Scale=0.01, *name_value, Name='')"
    assert str(inspect.signature(CONSTRUCTORS["dropoutLayer"])) == "(Probability=0.5, *name_value, Name='')"
    assert str(inspect.signature(CONSTRUCTORS["additionLayer"])) == "(NumInputs, /, *name_value, Name='')"


@pytest.mark.parametrize("entry", [e for e in REGISTRY if e.matlab], ids=lambda e: e.matlab)
def test_every_constructor_documents_itself(entry):
    f = CONSTRUCTORS[entry.matlab]
    sig = inspect.signature(f)
    positional = [p.name for p in sig.parameters.values() if p.kind in (P.POSITIONAL_ONLY, P.POSITIONAL_OR_KEYWORD)]
    assert tuple(positional) == entry.positional
    keywords = {p.name for p in sig.parameters.values() if p.kind is P.KEYWORD_ONLY}
    assert keywords | set(positional) == set(f.parameter_names)
    assert entry.doc and entry.doc in f.__doc__ and entry.matlab in f.__doc__
    assert entry.layer.class_name in f.__doc__
    text = inspect.getdoc(f)
    assert text.startswith(f"{entry.matlab}(")
