"""layergraph's test utilities: the conformance checks that tests/conformance runs on every
registry row (``check_layer`` runs them on one layer of your own), and the per-row data
those tests need (``CASES``)."""
from .cases import CASES, Case
from .harness import (
    FEATURE, IMAGE, check_cuda_parity, check_forward, check_golden, check_gradients, check_initialized,
    check_layer, check_rejected, check_roundtrip, check_sized, check_twin, check_wolfram_forward,
    check_wrong_size_learnables, roundtrip, same_graph, same_layer, same_value, small_network,
)

__all__ = ["CASES", "Case", "FEATURE", "IMAGE", "check_cuda_parity", "check_forward", "check_golden",
           "check_gradients", "check_initialized", "check_layer", "check_rejected", "check_roundtrip", "check_sized",
           "check_twin", "check_wolfram_forward", "check_wrong_size_learnables", "roundtrip", "same_graph",
           "same_layer", "same_value", "small_network"]
