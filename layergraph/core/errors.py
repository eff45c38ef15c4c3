"""Errors raised for user mistakes.

Every message names the property, layer or port involved, the value given and
what is allowed, in the words of the dialect that raised it.
"""


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
