"""LayerArray: MATLAB's Layer array (``[imageInputLayer(...); reluLayer; ...]``).

A plain Python list of layers works wherever a LayerArray does; a bare
constructor in the list (``reluLayer`` without parentheses) counts as the default
layer, as in MATLAB.
"""
from __future__ import annotations

from ..core.errors import LayerGraphError, brief
from ..core.layer import Layer


def _as_layer(item, index: int) -> Layer:
    if isinstance(item, Layer):
        return item
    to_core = getattr(item, "core_spec", None)   # a layer of another dialect (a Wolfram layer)
    if callable(to_core):
        return to_core()
    cls = getattr(item, "layer_class", None)
    if callable(item) and cls is not None:
        return item()
    if isinstance(item, type) and issubclass(item, Layer):
        return item()
    what = brief(item, f"{type(item).__name__} {item!r}")
    raise LayerGraphError(
        f"Element {index + 1} of the layer array is {what}, not a layer. Expected layers such as reluLayer() or a "
        "layer constructor such as reluLayer.", "nnet_cnn:layer:Layer:InvalidLayer")


class LayerArray(list):
    """A list of layers that prints as MATLAB's layer array. ``layers['conv']``
    finds a layer by name; integer indexing is Python's (0-based)."""

    def __init__(self, layers=()):
        if isinstance(layers, Layer) or (callable(layers) and hasattr(layers, "layer_class")):
            layers = [layers]
        elif isinstance(layers, str) or not hasattr(layers, "__iter__"):
            raise LayerGraphError(
                f"Expected a layer or a list of layers, but got {type(layers).__name__} {layers!r}.",
                "nnet_cnn:layer:Layer:InvalidLayer")
        super().__init__(_as_layer(item, i) for i, item in enumerate(layers))

    def __getitem__(self, key):
        if isinstance(key, str):
            for layer in self:
                if layer.Name == key:
                    return layer
            raise LayerGraphError(f"No layer named '{key}'. Layer names: "
                                  f"{', '.join(repr(layer.Name) for layer in self)}.")
        result = super().__getitem__(key)
        return LayerArray(result) if isinstance(key, slice) else result

    def __add__(self, other):
        return LayerArray(list(self) + list(LayerArray(other)))

    @property
    def Name(self):
        return [layer.Name for layer in self]

    def __str__(self):
        from ..display.matlab_display import layer_array_display
        return layer_array_display(self)

    __repr__ = __str__

    def __rich__(self):
        from ..display.rich_display import layer_array_renderable
        return layer_array_renderable(self)

    from ..display.notebook import repr_mimebundle as _repr_mimebundle_  # Jupyter's rich output


def as_layer_array(obj) -> LayerArray:
    return obj if isinstance(obj, LayerArray) else LayerArray(obj)
