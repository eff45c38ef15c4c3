"""Wolfram's operators over nets: NetMapOperator and NetBidirectionalOperator.

An operator is a container (net.py ``_Container``) with the nets it holds as its nodes and a
few helper layers that the user does not see, so that sizing, evaluation, NetInitialize,
NetTrain, Information and save/load reach the nets inside through the machinery of
NetChain and NetGraph (a nested core graph, flattened by the core), not a second one:

* ``NetMapOperator[net]`` is "$fold" (the core's SequenceFoldLayer: each sequence's own
  elements become examples of their own, time folded into the batch, padding left out) ->
  "Net" -> "$unfold" (SequenceUnfoldLayer: back to sequences, zeros on the padding). The net
  runs once on all elements of the mini-batch, not once per step; its weights are one set.
* ``NetBidirectionalOperator[{fnet, bnet}, agg]`` is "ForwardNet" on the input, and
  "$reverse_in" (SequenceReverseLayer, which reverses each sequence's own elements) ->
  "BackwardNet" -> "$reverse_out", joined by "$aggregate": Catenate (per element, the forward
  net's vector then the backward net's), Total or Mean.

NetExtract names the parts: "Net"; "ForwardNet" and "BackwardNet" (the current doc page's names;
"ReverseNet", an earlier page's, is an alias: docs/recurrent_plan.md 7.12). A net that ends in
one array rather than a sequence is not reversed back (the doc: "again reversed if net produces a
sequence"). Helper layers carry ``operator_helper``; NetFlatten keeps an operator whole.
"""
from __future__ import annotations

from collections import OrderedDict

from .. import layers as L
from ..core.errors import LayerGraphError
from ..layers import sequence_ops as SQ
from . import symbols as S
from .args import checked_init
from .layers import Built, NetLayer
from .net import _as_node, _Container, _lrm_option
from .recurrent import SequenceReverseLayer
from .types import dims_to_size, is_varying, phrase, type_text

AGGREGATIONS = ("Catenate", "Total", "Mean")


# -- the helper layers (not shown, not extracted) ---------------------------------------------------
class _Hidden(NetLayer):
    takes_sequences = True
    operator_helper = True   # Information's layer counts and lists leave it out
    operator = "NetMapOperator"

    def __init__(self, operator="NetMapOperator"):
        super().__init__()
        self.operator = operator

    def _probe_dims(self):
        return None


class _Fold(_Hidden):
    head = "SequenceFold"

    def build(self, name, in_dims):
        dims = in_dims[0]
        if len(dims) == 0:
            raise LayerGraphError(f"{self.operator}: the input should be a sequence (\"Input\" -> \"Varying\", "
                                  f"{{\"Varying\", d}} or an array {{n, ...}} mapped over its first dimension); "
                                  f"received {phrase(dims)}.", "NetMapOperator::invin")
        return Built([SQ.SequenceFoldLayer(Name=name)], 0, len(dims) - 1, None)


class _Unfold(_Hidden):
    head = "SequenceUnfold"
    multiport = True

    def build(self, name, in_dims):
        seq, elem = in_dims
        if len(elem) > (1 if is_varying(seq) else 2):
            raise LayerGraphError(f"{self.operator}: the net maps each element to {phrase(elem)}; "
                                  + ("sequences of arrays of rank 2 or more" if is_varying(seq) else
                                     "arrays of rank 4") + " are not supported yet.", "General::unsupported")
        return Built([SQ.SequenceUnfoldLayer(Name=name, element="scalar" if len(elem) == 0 else "vector")], 0,
                     len(elem) + 1, None)


class _Reverse(SequenceReverseLayer):
    """SequenceReverseLayer, refusing a non-sequence in the operator's words."""

    operator_helper = True

    def __init__(self, operator="NetBidirectionalOperator", which="input"):
        super().__init__()
        self.operator, self.which = operator, which

    def build(self, name, in_dims):
        dims = in_dims[0]
        if not is_varying(dims):
            if self.which == "input":
                raise LayerGraphError(f"{self.operator}: the input should be a sequence; received {phrase(dims)}.",
                                      "NetBidirectionalOperator::invseq")
            # "the output is again reversed if net produces a sequence": a net that ends in one
            # array (SequenceLastLayer, ...) gives it as it is
            return Built([L.ArrayReshapeLayer(Name=name, OutputSize=dims_to_size(dims))], 0, len(dims), None)
        return super().build(name, in_dims)


class _Aggregate(_Hidden):
    head = "Aggregate"
    multiport = True

    def __init__(self, kind="Catenate"):
        super().__init__("NetBidirectionalOperator")
        self.kind = kind

    def build(self, name, in_dims):
        f, b = in_dims
        if is_varying(f) != is_varying(b) or (not is_varying(f) and len(f) != len(b)):
            raise LayerGraphError(f"NetBidirectionalOperator: the forward net gives {phrase(f)} and the backward net "
                                  f"{phrase(b)}; both should give sequences, or arrays of one rank.",
                                  "NetBidirectionalOperator::incdims")
        if self.kind != "Catenate" and f != b:
            raise LayerGraphError(f"NetBidirectionalOperator: with the aggregation {self.kind} the forward and the "
                                  f"backward net should give outputs of the same dimensions; they give "
                                  f"{type_text(f)} and {type_text(b)}.", "NetBidirectionalOperator::incdims")
        rank = len(f)
        if self.kind == "Catenate":   # per element (sequences), or along the first dimension (arrays): channels
            specs = [L.DepthConcatenationLayer(Name=name, num_inputs=2)]
        elif self.kind == "Total":
            specs = [L.AdditionLayer(Name=name, num_inputs=2)]
        else:
            specs = [L.AdditionLayer(Name=name, num_inputs=2), L.ScalingLayer(Name=f"{name}$mean", Scale=0.5)]
        return Built(specs, 0, rank, None)


# -- the operators --------------------------------------------------------------------------------
def _one_in_one_out(head, net):
    if isinstance(net, NetLayer):
        ins, outs = ([] if net.multiport else net.input_ports()), net.output_ports()
        if net.multiport:
            ins = ["Input1", "Input2"]
    else:
        ins, outs = net._input_names(), net._output_names()
    if len(ins) != 1 or len(outs) != 1:
        raise LayerGraphError(f"{head}: the net should have exactly one input port and one output port; "
                              f"{net.head} has {len(ins)} input port{'s' if len(ins) != 1 else ''} "
                              f"({', '.join(ins) or 'none'}) and {len(outs)} output port"
                              f"{'s' if len(outs) != 1 else ''} ({', '.join(outs) or 'none'}).", f"{head}::invnet")
    return ins[0], outs[0]


def _operand(head, net):
    if isinstance(net, (S.Symbol, int, list)) or not isinstance(net, (NetLayer, _Container)):
        try:
            net = _as_node(net, graph=False)
        except LayerGraphError:
            raise LayerGraphError(f"{head}: {net!r} is not a net or a layer.", f"{head}::invnet") from None
    return net, _one_in_one_out(head, net)


class _Operator(_Container):
    public: tuple[str, ...] = ()
    multiport = False    # one "Input" port, as a leaf of a net's view has (NetFlatten keeps an operator whole)
    input_spec = None

    def _copy(self):
        new = super()._copy()
        new.__dict__.update({k: v for k, v in self.__dict__.items() if k not in new.__dict__})
        return new

    def __len__(self):
        return len(self.public)

    aliases: dict = {}

    def _resolve_node(self, spec) -> str:
        spec = self.aliases.get(spec, spec) if isinstance(spec, str) else spec
        if isinstance(spec, str) and spec in self.public:
            return spec
        raise LayerGraphError(f"{self.head} has no part {spec!r}. Parts: " + ", ".join(f'"{p}"' for p in self.public)
                              + ".", "NetExtract::nopart")

    def parts(self) -> OrderedDict:
        return OrderedDict((p, self._nodes[p]) for p in self.public)

    def _with_parts(self, parts: dict):
        """The same operator over other nets (NetReplacePart, load)."""
        raise NotImplementedError

    def __repr__(self):
        from .display import UNINIT
        c = self.compile()
        rows = [("Input port", type_text(c.in_dims.get("Input"))), ("Output port", type_text(c.out_dims.get("Output")))]
        rows += [(p, node.head + ("" if node.initialized else f"  ({UNINIT})")) for p, node in self.parts().items()]
        rows += self._extra_rows()
        width = max(len(k) for k, _ in rows) + 1
        head = self.head + ("" if self.initialized else f"  ({UNINIT})")
        return "\n".join([head] + [f"  {(k + ':').ljust(width)} {v}" for k, v in rows])

    def _extra_rows(self):
        return []

    def save_options(self) -> dict:
        """What layergraph.save writes besides the parts and the ports (io.py)."""
        return {}

    def __rich__(self):
        from rich.text import Text
        return Text(repr(self))


class NetMapOperator(_Operator):
    """``NetMapOperator[net]``: ``{x1, x2, ...} -> {net[x1], net[x2], ...}`` for a net of one
    input and one output, over a sequence ("Input" -> "Varying" or {"Varying", d})."""

    head = "NetMapOperator"
    public = ("Net",)

    def __init__(self, net=None, *, Input=None, Output=None, LearningRateMultipliers=S.Automatic):
        super().__init__()
        self._lrm = _lrm_option(LearningRateMultipliers)
        if net is None:
            raise LayerGraphError("NetMapOperator: a net to map is needed: NetMapOperator(net).",
                                  "NetMapOperator::argx")
        net, (inp, out) = _operand(self.head, net)
        self._nodes = OrderedDict([("Net", net), ("$fold", _Fold()), ("$unfold", _Unfold())])
        self._edges = [(("$port", "Input"), ("$fold", "Input", None)),
                       (("$fold", "Output"), ("Net", inp, None)),
                       (("$port", "Input"), ("$unfold", "Input", 0)),
                       (("Net", out), ("$unfold", "Input", 1)),
                       (("$unfold", "Output"), ("$port", "Output"))]
        from .types import port_spec
        if Input is not None:   # on the operator's port and on the leaf it feeds, which a net holding it reads
            self._port_specs["Input"] = self._nodes["$fold"].input_spec = \
                port_spec(Input, "NetMapOperator option \"Input\"")
        if Output is not None:
            self._port_specs["Output"] = port_spec(Output, "NetMapOperator option \"Output\"")

    def _with_parts(self, parts):
        new = self._copy()
        new._cache = {}
        net, (inp, out) = _operand(self.head, parts["Net"])
        new._nodes = OrderedDict(self._nodes, Net=net)
        new._edges = [(s, (d[0], inp, d[2]) if d[0] == "Net" else d) for s, d in self._edges]
        new._edges = [((s[0], out) if s[0] == "Net" else s, d) for s, d in new._edges]
        return new


class NetBidirectionalOperator(_Operator):
    """``NetBidirectionalOperator[net | {fnet, bnet}, agg]``: the forward net on the sequence,
    the backward net on each sequence reversed (its output reversed back), joined per element
    by ``agg``: Catenate (default), Total or Mean. One net gives two independent copies."""

    head = "NetBidirectionalOperator"
    public = ("ForwardNet", "BackwardNet")
    aliases = {"ReverseNet": "BackwardNet"}   # the name an earlier version of the doc page gives

    def __init__(self, net=None, agg=S.Catenate, *, Input=None, LearningRateMultipliers=S.Automatic):
        super().__init__()
        self._lrm = _lrm_option(LearningRateMultipliers)
        if net is None:
            raise LayerGraphError("NetBidirectionalOperator: a net is needed: NetBidirectionalOperator(net) or "
                                  "NetBidirectionalOperator((fnet, bnet)).", "NetBidirectionalOperator::argx")
        if isinstance(net, tuple) or (isinstance(net, list) and len(net) == 2
                                      and all(isinstance(n, (NetLayer, _Container)) for n in net)):
            if len(net) != 2:
                raise LayerGraphError(f"NetBidirectionalOperator: give one net or a pair (fnet, bnet); received "
                                      f"{len(net)} nets.", "NetBidirectionalOperator::invnet")
            fnet, bnet = net
        else:
            fnet = bnet = net   # two independent copies: a net is a value, each copy is trained on its own
        self.aggregation = _aggregation(agg)
        (fnet, fports), (bnet, bports) = _operand(self.head, fnet), _operand(self.head, bnet)
        self._build(fnet, fports, bnet, bports)
        if Input is not None:
            from .types import port_spec
            self._port_specs["Input"] = port_spec(Input, "NetBidirectionalOperator option \"Input\"")
            self._nodes["$reverse_in"].input_spec = self._port_specs["Input"]

    def _build(self, fnet, fports, bnet, bports):
        self._nodes = OrderedDict([("ForwardNet", fnet), ("BackwardNet", bnet),
                                   ("$reverse_in", _Reverse(which="input")),
                                   ("$reverse_out", _Reverse(which="backward net's output")),
                                   ("$aggregate", _Aggregate(self.aggregation))])
        self._edges = [(("$port", "Input"), ("ForwardNet", fports[0], None)),
                       (("$port", "Input"), ("$reverse_in", "Input", None)),
                       (("$reverse_in", "Output"), ("BackwardNet", bports[0], None)),
                       (("BackwardNet", bports[1]), ("$reverse_out", "Input", None)),
                       (("ForwardNet", fports[1]), ("$aggregate", "Input", 0)),
                       (("$reverse_out", "Output"), ("$aggregate", "Input", 1)),
                       (("$aggregate", "Output"), ("$port", "Output"))]

    def _with_parts(self, parts):
        new = self._copy()
        new._cache = {}
        f = parts.get("ForwardNet", self._nodes["ForwardNet"])
        b = parts.get("BackwardNet", self._nodes["BackwardNet"])
        (f, fp), (b, bp) = _operand(self.head, f), _operand(self.head, b)
        new._build(f, fp, b, bp)
        new._nodes["$reverse_in"].input_spec = self._port_specs.get("Input")
        return new

    def _extra_rows(self):
        return [("Aggregation", self.aggregation)]

    def save_options(self):
        return {"aggregation": self.aggregation}


def _aggregation(agg) -> str:
    name = getattr(agg, "name", agg)
    if isinstance(name, str) and name in AGGREGATIONS:
        return name
    raise LayerGraphError(f"NetBidirectionalOperator: the aggregation {agg!r} should be one of Catenate, Total or "
                          "Mean.", "NetBidirectionalOperator::invagg")


OPERATOR_CLASSES = (NetMapOperator, NetBidirectionalOperator)


for _cls in OPERATOR_CLASSES:
    checked_init(_cls)
del _cls


def from_saved(head: str, parts: dict, ports: dict, options: dict, lrm=S.Automatic):
    """The operator that io.py's reader finds in a file (``save_options`` gave ``options``)."""
    if head == "NetMapOperator":
        return NetMapOperator(parts["Net"], LearningRateMultipliers=lrm, **ports)
    agg = options.get("aggregation", "Catenate")
    return NetBidirectionalOperator((parts["ForwardNet"], parts["BackwardNet"]), getattr(S, agg),
                                    LearningRateMultipliers=lrm, **ports)
__all__ = ["NetMapOperator", "NetBidirectionalOperator"]
