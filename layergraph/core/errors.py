"""Errors raised for user mistakes.

Every message names the property, layer or port involved, the value given and
what is allowed, in the words of the dialect that raised it.
"""


def brief(value, text: str | None = None, limit: int = 80) -> str:
    """How a message names a value: ``text`` (default: its repr) when that is one short line,
    else its short type ("a SeriesNetwork", "a NetChain", "a list of 3 items"), never a
    whole multi-line printout."""
    text = repr(value) if text is None else text
    if "\n" not in text and len(text) <= limit:
        return text
    name = getattr(value, "head", None)
    name = name if isinstance(name, str) else getattr(type(value), "class_name", type(value).__name__)
    if isinstance(value, (list, tuple)) and type(value) in (list, tuple):
        name = f"{name} of {len(value)} items"
    return f"{'an' if name[:1].lower() in 'aeiou' else 'a'} {name}"


class LayerGraphError(ValueError):
    """A user mistake caught by layergraph.

    ``identifier`` mirrors MATLAB's error identifiers (``nnet_cnn:...``) or
    Wolfram's message names (``NetChain::...``) where one exists.
    """

    def __init__(self, message: str, identifier: str = ""):
        super().__init__(message)
        self.identifier = identifier


class NetworkAnalysisError(LayerGraphError):
    """A network that cannot be built; ``issues`` lists every problem found."""

    def __init__(self, message: str, issues=(), identifier: str = ""):
        super().__init__(message, identifier)
        self.issues = list(issues)
