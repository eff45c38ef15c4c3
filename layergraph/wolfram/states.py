"""Recurrent states of a Wolfram net: ``NetPort[All, "States"]`` and ``NetStateObject``.

Wolfram names the states of a net by their position: ``{2, "State"}``, ``{2, "CellState"}`` for
the second layer of a NetChain, ``{"enc", 1, "State"}`` inside nested nets (the path of node names,
digit names as integers, then the state port; C: the NeuralNetworks paclet's
``interiorStateRules``: ``name = If[IntStringQ[key], FromDigits[key], key]``,
``Prepend[#1, name]``). Here a key is the same path as a Python tuple, ``(2, "State")``.

* ``net(x, NetPort(All, "States"))`` gives ``{key: final state}``;
  ``net({"Input": x, NetPort(All, "States"): {key: value}})`` starts from those states (missing
  keys start at zero, Wolfram's default). A state is a vector of size n for one example, N x n
  for a batch (one vector for all examples is broadcast).
* ``NetStateObject(net)`` / ``NetStateObject(net, seed)`` holds states that every evaluation
  starts from and updates; ``NetExtract(obj, "States")`` gives them (the NetStateObject page, C).

Underneath is the core's stateful run (core/network.py ``run_stateful``, the one MATLAB's
predictAndUpdateState uses): each recurrent op starts from ``initial_state`` and leaves
``final_state`` (core/ops_recurrent.py).
"""
from __future__ import annotations

import numpy as np

from ..core.errors import LayerGraphError
from . import layers as WL
from .net import ALL_STATES, NetChain, NetPort, _Container
from .recurrent import _as_key, _key_text, initial_states, state_table
from .symbols import Automatic
from .types import _wl

class NetStateObject:
    """``NetStateObject[net]``, ``NetStateObject[net, seed]``: the net with stored recurrent states
    that each evaluation starts from and replaces by the states it ends in (one example at a
    time). ``seed`` is ``{key: vector}`` as ``NetPort[All, "States"]`` takes it; without it, or for
    the keys it leaves out, the states start at zero."""

    def __init__(self, net, seed=None):
        if isinstance(net, NetStateObject):
            net = net.net
        if not isinstance(net, (WL.NetLayer, _Container)):
            raise LayerGraphError(f"NetStateObject: {_wl(net)} is not a net.", "NetStateObject::invnet")
        self.net = net
        self._lone = isinstance(net, WL.NetLayer)
        self._chain = NetChain([net]) if self._lone else net
        c = self._chain.compile()
        if not c.sized:
            self._chain._require_sized(c, "create a NetStateObject of the")
        self._table = state_table(c)
        if not self._table:
            raise LayerGraphError("NetStateObject: the net has no recurrent states to store (no recurrent layer, or "
                                  "every recurrent layer's state is given by a connection).", "NetStateObject::nostate")
        seed = {} if seed is None else seed
        seed = self._inner(seed)
        initial_states(self._table, seed, 1, np.float64)   # the seed is checked now
        sizes = {k: v[2] for k, v in self._table.items()}
        self._states = {k: np.zeros(sizes[k], np.float32) for k in self._table}
        for k, v in seed.items():
            self._states[_as_key(k)] = np.asarray(v, dtype=np.float32).reshape(-1).copy()

    def _inner(self, states: dict) -> dict:
        """Keys as the wrapped chain names them (a lone layer's are ``("State",)``)."""
        if not isinstance(states, dict):
            raise LayerGraphError(f"NetStateObject: the initial states should be an association {{key: vector}}; "
                                  f"received {_wl(states)}.", "General::invstates")
        return {((1,) + _as_key(k)) if self._lone else k: v for k, v in states.items()}

    def _outer(self, states: dict) -> dict:
        return {k[1:] if self._lone else k: v for k, v in states.items()}

    @property
    def states(self) -> dict:
        """The stored states (what ``NetExtract[obj, "States"]`` gives)."""
        return {k: v.copy() for k, v in self._outer(self._states).items()}

    def __call__(self, data, prop=None, **options):
        prop = Automatic if prop is None else prop
        out, finals, _ = self._chain._evaluate(data, prop, self._states, True, **options)
        self._states = {k: np.asarray(v, dtype=np.float32) for k, v in finals.items()}
        if self._lone and isinstance(out, dict):
            out = {k: (self._outer(v) if isinstance(v, dict) else v) for k, v in out.items()}
        return out

    def __getitem__(self, spec):
        if spec == "States":
            return self.states
        if spec == "Net":
            return self.net
        raise LayerGraphError(f"NetExtract: {_wl(spec)} is not a part of a NetStateObject; use \"States\".",
                              "NetExtract::nopart")

    def __repr__(self):
        states = ", ".join(f"{_key_text(k)} (vector of size {v.size})" for k, v in self.states.items())
        return f"NetStateObject[{self.net.head}, states: {states}]"


def lone_call(layer, data, prop, **options):
    """A lone layer's evaluation (the chain of itself), its states keyed as the layer's own:
    ``("State",)`` rather than the chain's ``(1, "State")``."""
    chain = NetChain([layer])
    if isinstance(data, dict) and any(isinstance(k, NetPort) and k == ALL_STATES for k in data):
        data = {k: ({(1,) + _as_key(s): v for s, v in (val or {}).items()}
                    if isinstance(k, NetPort) and k == ALL_STATES and isinstance(val, dict) else val)
                for k, val in data.items()}
    out = chain(data, prop, **options)

    def strip(d):
        return {k[1:]: v for k, v in d.items()} if isinstance(d, dict) and all(isinstance(k, tuple) for k in d) \
            else d
    if isinstance(prop, NetPort) and prop == ALL_STATES:
        return strip(out)
    if isinstance(prop, list) and isinstance(out, dict):
        return {k: (strip(v) if isinstance(k, NetPort) and k == ALL_STATES else v) for k, v in out.items()}
    return out


WL.register_lone_call(lone_call)

__all__ = ["NetStateObject"]
