"""NetEncoder and NetDecoder: Wolfram's coders on a net's outer ports.

Encoders (input ports) turn data into arrays before the net sees them:

  NetEncoder(("Class", labels))                   a label -> its 1-based index (a real)
  NetEncoder(("Class", labels, "IndicatorVector")) a label -> a one-hot vector
  NetEncoder("Boolean")                           True -> 1, False -> 0
  NetEncoder("Image") == NetEncoder(("Image", (128, 128)))
  NetEncoder(("Image", (w, h)), ColorSpace="RGB", MeanImage=None, VarianceImage=None,
             Interleaving=False, Method="Stretch", Resampling=Automatic)
                                                  an image -> C x h x w in [0, 1], then
                                                  (x - MeanImage) / Sqrt[VarianceImage]

Decoders (output ports) turn the net's arrays into values:

  NetDecoder(("Class", labels))   probabilities -> a label ("Decision"), or a property:
                                  "Probabilities", ("TopProbabilities", n), ...
  NetDecoder("Boolean")           p -> False if p < 0.5, True otherwise; "Probability", "Entropy"
  NetDecoder("Image")             C x h x w -> an h x w (x 3) float image in [0, 1]

``net(x)`` encodes one example or a list of them and decodes the outputs (``net(x, None)``
gives the raw output); NetTrain encodes its inputs, and the targets of an output with a
decoder go through the decoder's matching encoder (labels for a Class decoder, True/False
for a Boolean one, images for an Image one), as Wolfram pairs them. An image is a numpy
array h x w or h x w x channels (uint8 0..255 or floats 0..1, 1 to 4 channels, an alpha
channel dropped), or, with Pillow installed, a PIL image or a file (``File("a.png")``,
Wolfram's File["a.png"], or a path). NetTrain reads a list of image files through the encoder
as a stream (``ImageEncoder.file_column``: decoded and conformed a mini-batch at a time,
ahead of the kernels), so the images need not fit in memory. Coders belong to the outer ports
of a NetChain / NetGraph; the core never sees them.

Resizing is Pillow's (data/images.py), in 32-bit floats, antialiased when shrinking.
Resampling -> Automatic is "Lanczos", the default of Wolfram's ImageResize; "Nearest",
"Bilinear" and "Bicubic" are Pillow's filters of those names (docs/porting_from_mathematica.md).
"""
from __future__ import annotations

import os
import sys

import numpy as np

from ..core.errors import LayerGraphError
from ..data import images
from ..data.sources import Source
from . import symbols as S
from .args import same
from .types import _wl, phrase

PROPERTIES = ("Decision", "TopDecisions", "Probabilities", "TopProbabilities", "Probability", "Entropy")
COLOR_SPACES = {"RGB": 3, "Grayscale": 1}
METHODS = ("Stretch", "Fit", "Fill")
RESAMPLING = ("Nearest", "Bilinear", "Bicubic", "Lanczos")   # Resampling's names (Pillow's filters)
GRAY_WEIGHTS = np.array([0.299, 0.587, 0.114])   # RGB -> Grayscale (ITU-R 601 luma, as Pillow's "L")
_REQUIRED = object()
SYMBOL_PARAMETERS = ("ColorSpace", "Interleaving", "Method", "Resampling")   # options, not "quoted" parameters


def _is_number(v) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool) and bool(np.isfinite(v))


class _Coder:
    """A coder: a kind ("Class", "Image", ...) and its parameters, given in order after the
    kind (``("Image", (32, 32), "Grayscale")``) or as keywords (``ColorSpace="Grayscale"``)."""

    head = "NetCoder"
    kind = ""
    positional: tuple = ()       # parameters that may follow the kind in the spec, in order
    defaults: dict = {}          # every parameter and its default (_REQUIRED: must be given)
    rank = 0                     # rank of the array on the net's side

    def __new__(cls, *args, **options):
        if cls.__dict__.get("_kinds") is not None:      # NetEncoder(...) / NetDecoder(...): pick the kind
            cls = cls._kinds[cls._parse_spec(args)[0]]
        return object.__new__(cls)

    def __init__(self, *args, **options):
        _, given = self._parse_spec(args)
        name = f"{self.head}[\"{self.kind}\"]"
        if len(given) > len(self.positional):
            raise LayerGraphError(f"{name} takes at most {len(self.positional)} parameter(s) after \"{self.kind}\" "
                                  f"({', '.join(self.positional) or 'none'}); received {len(given)}.",
                                  f"{self.head}::invspec")
        params = dict(self.defaults)
        params.update(zip(self.positional, given))
        for k, v in options.items():
            if k not in self.defaults or k in self.positional[:len(given)]:
                why = "is given twice" if k in self.defaults else "is not a known parameter"
                raise LayerGraphError(f"{k} {why} for {name}. Parameters: {', '.join(self.defaults)}.",
                                      f"{self.head}::optx")
            params[k] = v
        missing = [k for k, v in params.items() if v is _REQUIRED]
        if missing:
            raise LayerGraphError(f"{name} needs its {missing[0]}: {self.head}((\"{self.kind}\", ...)).",
                                  f"{self.head}::invspec")
        self.params = params
        self._setup()

    @classmethod
    def _parse_spec(cls, args):
        family = next(c for c in cls.__mro__ if c.__dict__.get("_kinds") is not None)
        if len(args) != 1:
            raise LayerGraphError(f"{family.head} called with {len(args)} arguments; 1 expected (\"kind\" or "
                                  f"(\"kind\", parameters...)).", f"{family.head}::argx")
        spec = args[0]
        kind, given = None, ()
        if isinstance(spec, str):
            kind = spec
        elif isinstance(spec, (tuple, list)) and spec and isinstance(spec[0], str):
            kind, given = spec[0], tuple(spec[1:])
        if kind not in family._kinds:
            raise LayerGraphError(f"{family.head}: {_wl(spec)} is not a supported specification; the kinds here "
                                  f"are {', '.join(_wl(k) for k in family._kinds)}, e.g. {family.example}.",
                                  f"{family.head}::invspec")
        return kind, given

    def _setup(self):
        """Check the parameters and precompute what coding needs."""

    def _bad(self, param, value, allowed):
        raise LayerGraphError(f"The value of {param} -> {_wl(value)} for {self.head}[\"{self.kind}\"] should be "
                              f"{allowed}.", f"{self.head}::invparam")

    @property
    def dims(self) -> tuple:
        """The port's dimensions on the net's side (None where the coder leaves one open)."""
        raise NotImplementedError

    @property
    def type_text(self) -> str:
        """What a summary shows for the port: the coder's kind (``class``, ``image``)."""
        return self.kind.lower()

    def _key(self):
        return tuple((k, np.asarray(v).tolist() if isinstance(v, np.ndarray) else v) for k, v in self.params.items())

    def __eq__(self, other):
        return type(self) is type(other) and self._key() == other._key()

    __hash__ = None

    def __repr__(self):
        shown = [k for i, k in enumerate(self.positional)
                 if i == 0 or not _default(self.params[k], self.defaults[k])]
        parts = [f'"{self.kind}"'] + [_wl(self.params[k]) for k in shown]
        parts += [f"{k if k in SYMBOL_PARAMETERS else _wl(k)} -> {_wl(v)}" for k, v in self.params.items()
                  if k not in shown and not _default(v, self.defaults[k])]
        return f"{self.head}[{{{', '.join(parts)}}}]"


def _default(v, d) -> bool:
    return v is d or (type(v) is type(d) and not isinstance(v, np.ndarray) and v == d)


class File(os.PathLike):
    """Wolfram's ``File["path"]``: a file named by its path (an image file, for an "Image"
    encoder). Anywhere a path is accepted, so is a File."""

    def __init__(self, path):
        if isinstance(path, File):
            path = path.path
        if not isinstance(path, (str, os.PathLike)):
            raise LayerGraphError(f"File[{_wl(path)}]: the argument should be a file name (a string).",
                                  "File::fstr")
        self.path = os.fspath(path)

    def __fspath__(self):
        return self.path

    def __eq__(self, other):
        return isinstance(other, File) and other.path == self.path

    def __hash__(self):
        return hash(("File", self.path))

    def __repr__(self):
        return f"File[\"{self.path}\"]"


def _is_file(value) -> bool:
    return isinstance(value, (str, os.PathLike))


# -- encoders ---------------------------------------------------------------------------------
class NetEncoder(_Coder):
    """``NetEncoder(("Class", labels))``, ``NetEncoder("Boolean")``, ``NetEncoder(("Image", (w, h)),
    ColorSpace=..., ...)``: Wolfram's ``NetEncoder[...]``. ``encoder(x)`` encodes one input,
    ``encoder([x1, x2])`` a list (an array with the batch first)."""

    head = "NetEncoder"
    _kinds: dict = {}
    example = 'NetEncoder(("Class", ["a", "b"])) or NetEncoder(("Image", (32, 32)))'

    def __call__(self, data):
        arr, single = self.encode(data, "Input")
        return arr[0] if single else arr

    def encode(self, data, port):
        """(array with the batch first, whether ``data`` was one input)."""
        if self._single(data):
            return self._one(data, port)[None], True
        return self.encode_many(data, port), False

    def encode_many(self, data, port) -> np.ndarray:
        """A list of inputs (NetTrain's data) -> an array with the batch first."""
        if self._single(data) or not isinstance(data, (list, tuple, np.ndarray)) or len(data) == 0:
            raise LayerGraphError(f"Data for port \"{port}\" should be a nonempty list of inputs for its "
                                  f"{self!r}.", f"{self.head}::invinput")
        return np.stack([self._one(v, port) for v in data]).astype(np.float64)

    def _single(self, data) -> bool:
        return not isinstance(data, (list, tuple, np.ndarray)) or (isinstance(data, np.ndarray) and data.ndim == 0)

    def _one(self, value, port) -> np.ndarray:
        raise NotImplementedError

    def _fail(self, port, what):
        raise LayerGraphError(f"Cannot encode the data for port \"{port}\" with {self!r}: {what}.",
                              f"{self.head}::invinput")


class _Classes:
    """The labels of a Class encoder or decoder."""

    def _set_labels(self):
        labels = self.params["Labels"]
        name = f"{self.head}[\"Class\"]"
        if not isinstance(labels, (list, tuple)) or len(labels) < 1:
            raise LayerGraphError(f"{name}: the classes should be a nonempty list of labels; received "
                                  f"{_wl(labels)}.", f"{self.head}::invspec")
        try:
            if len(set(labels)) != len(labels):
                raise LayerGraphError(f"{name}: the class labels should be distinct.", f"{self.head}::invspec")
        except TypeError:
            raise LayerGraphError(f"{name}: the class labels should be strings, numbers or other hashable values.",
                                  f"{self.head}::invspec") from None
        self.params["Labels"] = list(labels)
        self.labels = list(labels)
        self._index = {label: i for i, label in enumerate(self.labels)}

    def _lookup(self, value):
        """The 0-based index of a label, or None."""
        key = value.item() if isinstance(value, (np.generic, np.ndarray)) and np.ndim(value) == 0 else value
        try:
            return self._index.get(key)
        except TypeError:
            return None


class ClassEncoder(_Classes, NetEncoder):
    kind = "Class"
    positional = ("Labels", "OutputForm")
    defaults = {"Labels": _REQUIRED, "OutputForm": "Index"}

    def _setup(self):
        self._set_labels()
        form = self.params["OutputForm"]
        if not (same(form, "Index") or same(form, "IndicatorVector")):
            self._bad("\"OutputForm\"", form, "\"Index\" (a 1-based index) or \"IndicatorVector\" (a one-hot vector)")

    @property
    def dims(self):
        return () if self.params["OutputForm"] == "Index" else (len(self.labels),)

    def _single(self, data):
        return self._lookup(data) is not None or super()._single(data)

    def _one(self, value, port):
        i = self._lookup(value)
        if i is None:
            self._fail(port, f"{_wl(value)} is not one of the classes {_wl(self.labels)}")
        if self.params["OutputForm"] == "Index":
            return np.array(i + 1.0)
        return np.eye(len(self.labels))[i]


class BooleanEncoder(NetEncoder):
    kind = "Boolean"

    @property
    def dims(self):
        return ()

    def _one(self, value, port):
        if isinstance(value, np.ndarray) and value.ndim == 0:
            value = value.item()
        if not isinstance(value, (bool, np.bool_)):
            self._fail(port, f"{_wl(value)} should be either True or False")
        return np.array(1.0 if value else 0.0)


class ImageEncoder(NetEncoder):
    kind = "Image"
    positional = ("ImageSize", "ColorSpace")
    defaults = {"ImageSize": (128, 128), "ColorSpace": "RGB", "MeanImage": None, "VarianceImage": None,
                "Interleaving": False, "Method": "Stretch", "Resampling": S.Automatic}

    def _setup(self):
        p = self.params
        size = p["ImageSize"]
        if isinstance(size, (int, np.integer)) and not isinstance(size, bool):
            size = (int(size), int(size))
        if not (isinstance(size, (tuple, list)) and len(size) == 2
                and all(isinstance(d, (int, np.integer)) and not isinstance(d, bool) and d >= 1 for d in size)):
            self._bad("ImageSize", p["ImageSize"], "a positive integer n or a list {width, height}")
        p["ImageSize"] = (int(size[0]), int(size[1]))
        self.channels = _color_space(self, p["ColorSpace"])
        _check_options(self)
        if not any(same(p["Method"], m) for m in METHODS):
            self._bad("Method", p["Method"], "\"Stretch\", \"Fit\" or \"Fill\"")
        self.filter = _filter(self, p["Resampling"])
        w, h = p["ImageSize"]
        self._mean = _statistic(self, "MeanImage", self.channels, (h, w))
        self._sd = _statistic(self, "VarianceImage", self.channels, (h, w))
        if self._sd is not None:
            self._sd = np.sqrt(self._sd)

    @property
    def dims(self):
        w, h = self.params["ImageSize"]
        return (h, w, self.channels) if self.params["Interleaving"] else (self.channels, h, w)

    def _single(self, data):
        return not isinstance(data, (list, tuple, np.ndarray)) or (isinstance(data, np.ndarray) and data.ndim != 4)

    def _one(self, value, port):
        w, h = self.params["ImageSize"]
        a = _conform(_pixels(value, lambda what: self._fail(port, what)), self.channels, (h, w),
                     self.params["Method"], self.filter)
        if self._mean is not None:
            a = a - self._mean
        if self._sd is not None:
            a = a / self._sd
        return a if self.params["Interleaving"] else a.transpose(2, 0, 1)

    def file_column(self, data, port):
        """A list of image files (Files or paths) as a source's Column of encoded images, read
        when training asks for them; None when ``data`` is not a list of files only. Every
        file's header is read now, so that a missing or non-image file stops NetTrain before
        it starts, with its name."""
        if not isinstance(data, (list, tuple)) or not data or not all(_is_file(v) for v in data):
            return None
        for v in data:
            try:
                images.header(v)
            except LayerGraphError as err:
                self._fail(port, str(err).rstrip("."))
        return _EncodedFiles(self, [os.fspath(v) for v in data], port).column("x")


class _EncodedFiles(Source):
    """Image files through an "Image" encoder: each read decodes and encodes its files."""

    def __init__(self, encoder, paths, port):
        self.encoder, self.paths, self.port = encoder, paths, port
        self.n = len(paths)
        self.shapes = {"x": (encoder.dims, np.float64)}

    def read(self, indices, rng):
        return {"x": np.stack([self.encoder._one(self.paths[int(i)], self.port) for i in indices])}


def _color_space(coder, value) -> int:
    if not any(same(value, c) for c in COLOR_SPACES):
        coder._bad("ColorSpace", value, "\"RGB\" or \"Grayscale\"")
    return COLOR_SPACES[value]


def _check_options(coder):
    if not isinstance(coder.params["Interleaving"], (bool, np.bool_)):
        coder._bad("Interleaving", coder.params["Interleaving"], "True or False")


def _statistic(coder, name, channels, size):
    """MeanImage / VarianceImage as an array that broadcasts over h x w x channels: None, a
    number, one number per channel, or an image (conformed to ``size``, stretched)."""
    value = coder.params[name]
    if value is None:
        return None
    allowed = (f"None, a number, a list of {channels} numbers (one per channel) or an image "
               "(an array height x width (x channels))")
    if _is_number(value):
        out = np.array(float(value))
    elif isinstance(value, (list, tuple)) or (isinstance(value, np.ndarray) and value.ndim == 1):
        if len(value) != channels or not all(_is_number(v) for v in value):
            coder._bad(f"\"{name}\"", value, allowed)
        out = np.asarray(value, dtype=np.float64)
    elif isinstance(value, np.ndarray) or _is_pil(value):
        out = _conform(_pixels(value, lambda what: coder._bad(f"\"{name}\"", value, allowed + f" ({what})")),
                       channels, size, "Stretch", getattr(coder, "filter", "lanczos"))
    else:
        coder._bad(f"\"{name}\"", value, allowed)
    if name == "VarianceImage" and np.any(out <= 0):
        coder._bad("\"VarianceImage\"", value, "positive (it divides the pixels by its square root)")
    return out


# -- images as arrays -------------------------------------------------------------------------
def _is_pil(value) -> bool:
    module = sys.modules.get("PIL.Image")
    return module is not None and isinstance(value, module.Image)


def _pixels(value, fail) -> np.ndarray:
    """An image -> h x w x c float64 (c = 1..4); ``fail(what)`` raises."""
    if isinstance(value, (str, os.PathLike)):   # decoded as MATLAB's imread does (data/images.py)
        try:
            value = images.read(value)
        except LayerGraphError as err:
            fail(f"the file {os.fspath(value)} could not be read as an image ({err})")
    if _is_pil(value):
        if value.mode not in ("L", "LA", "RGB", "RGBA"):
            value = value.convert("RGBA" if "A" in value.getbands() or "transparency" in value.info else "RGB")
        value = np.asarray(value)
    if not isinstance(value, np.ndarray):
        fail(f"{type(value).__name__} is not an image; give a numpy array (height x width or height x width x "
             f"channels), a PIL image or a file path")
    a = value[:, :, None] if value.ndim == 2 else value
    if a.ndim != 3 or not 1 <= a.shape[2] <= 4 or a.shape[0] < 1 or a.shape[1] < 1:
        fail(f"an image should be an array of rank 2 (height x width) or 3 (height x width x channels, 1 to 4 "
             f"channels); received an array of dimensions {_wl(list(value.shape))}")
    if a.dtype == np.uint8:
        return a / 255.0
    if a.dtype == np.uint16:   # a 16-bit image file
        return a / 65535.0
    if a.dtype.kind == "f" or a.dtype == np.bool_:
        a = a.astype(np.float64)
        if not np.all(np.isfinite(a)):
            fail("the pixel values should be finite")
        return a
    fail(f"pixel values should be uint8 (0 to 255) or floats (0 to 1); received {a.dtype}")


def _filter(coder, value) -> str:
    """Resampling -> Automatic or a method name: the data/images.resize filter."""
    if value is S.Automatic:
        return "lanczos"
    for name in RESAMPLING:
        if same(value, name):
            return name.lower()
    coder._bad("Resampling", value, "Automatic or one of " + ", ".join(f'"{m}"' for m in RESAMPLING))


def _conform(a, channels, size, method, resampling="lanczos") -> np.ndarray:
    """Pixels h0 x w0 x c -> size[0] x size[1] x channels: drop an alpha channel, convert the
    color space, conform the size with ``method`` ("Stretch", "Fit", "Fill"), resampled with
    the data/images.resize filter ``resampling``."""
    if a.shape[2] in (2, 4):
        a = a[:, :, :-1]
    if a.shape[2] != channels:
        a = np.repeat(a, 3, axis=2) if channels == 3 else (a @ GRAY_WEIGHTS)[:, :, None]
    h, w = size
    H, W = a.shape[:2]
    def resize_to(nh, nw):
        return a if (nh, nw) == (H, W) else images.resize(a, (nh, nw), resampling).astype(np.float64)
    if method == "Stretch":
        return resize_to(h, w)
    if method == "Fit":     # the whole image, aspect ratio kept, black padding around it
        scale = min(h / H, w / W)
        nh, nw = max(1, min(h, round(H * scale))), max(1, min(w, round(W * scale)))
        out = np.zeros((h, w, a.shape[2]))
        top, left = (h - nh) // 2, (w - nw) // 2
        out[top:top + nh, left:left + nw] = resize_to(nh, nw)
        return out
    scale = max(h / H, w / W)   # "Fill": cover the size, aspect ratio kept, the excess cropped
    nh, nw = max(h, round(H * scale)), max(w, round(W * scale))
    top, left = (nh - h) // 2, (nw - w) // 2
    return resize_to(nh, nw)[top:top + h, left:left + w]


# -- decoders ---------------------------------------------------------------------------------
class NetDecoder(_Coder):
    """``NetDecoder(("Class", labels))``, ``NetDecoder("Boolean")``, ``NetDecoder("Image")``:
    Wolfram's ``NetDecoder[...]``. ``decoder(y)`` decodes one output or a batch; ``decoder(y,
    prop)`` a property (Class); ``None`` gives ``y`` back."""

    head = "NetDecoder"
    _kinds: dict = {}
    example = 'NetDecoder(("Class", ["a", "b"])) or NetDecoder("Image")'
    properties: tuple = ()

    def __call__(self, data, prop=S.Automatic):
        if prop is None:
            return data
        try:
            y = np.asarray(data, dtype=np.float64)
        except (TypeError, ValueError):
            y = None
        if y is None or y.ndim not in (self.rank, self.rank + 1):
            raise LayerGraphError(f"{self!r} decodes numeric arrays of rank {self.rank} (or a batch of them).",
                                  f"{self.head}::invinput")
        single = y.ndim == self.rank
        self.check_port(y.shape[1 - single:], "Input")
        return self.decode(y[None] if single else y, prop, single)

    def check_port(self, dims, port):
        """Raise unless the output ``port`` of dimensions ``dims`` can be decoded."""
        want = self.dims
        if len(dims) != len(want) or any(w is not None and w != d for w, d in zip(want, dims)):
            raise LayerGraphError(f"Incompatible dimensions for the port \"{port}\": {phrase(tuple(dims))} is not "
                                  f"compatible with {self!r}, which takes {self._takes()}.", "General::ninctyp")

    def _takes(self):
        return phrase(self.dims)

    def decode(self, y: np.ndarray, prop, single: bool):
        """Decode ``y`` (a batch, first dimension the examples) with the property ``prop``
        (Automatic: the decoding itself; "Properties": the list of properties)."""
        if same(prop, "Properties"):
            return list(self.properties)
        name = prop[0] if isinstance(prop, tuple) and len(prop) == 2 else prop
        if prop is not S.Automatic and not (isinstance(name, str) and name in self.properties):
            raise LayerGraphError(f"{prop if isinstance(prop, S.Symbol) else _wl(prop)} is not a property of "
                                  f"{self!r}. Properties: "
                                  f"{', '.join(self.properties) or 'none but the decoding itself'}, or None for the "
                                  "raw output.", f"{self.head}::invprop")
        rows = [self._one(row, S.Automatic if prop is S.Automatic else name, prop[1] if name is not prop else None)
                for row in y]
        return rows[0] if single else rows

    def target_encoder(self, dims) -> NetEncoder:
        """The encoder of NetTrain's targets for this output (Wolfram's DecoderToEncoder)."""
        raise NotImplementedError


class ClassDecoder(_Classes, NetDecoder):
    kind = "Class"
    positional = ("Labels",)
    defaults = {"Labels": _REQUIRED}
    properties = PROPERTIES
    rank = 1

    def _setup(self):
        self._set_labels()

    @property
    def dims(self):
        return (len(self.labels),)

    def target_encoder(self, dims):
        return NetEncoder(("Class", self.labels))

    def _one(self, row, name, arg):
        labels = self.labels
        order = np.argsort(-row, kind="stable")
        if name is S.Automatic or name == "Decision":
            return labels[int(order[0])]
        if name == "Probabilities":
            return {labels[i]: float(row[i]) for i in range(len(labels))}
        if name == "Entropy":
            q = row[row > 0].astype(np.float64)
            return float(-np.sum(q * np.log(q)))
        if name == "Probability":
            i = self._lookup(arg)
            if i is None:
                raise LayerGraphError(f"(\"Probability\", c) needs a class c among {labels!r}.",
                                      "NetDecoder::invprop")
            return float(row[i])
        n = 5 if arg is None else arg
        if not isinstance(n, int) or isinstance(n, bool) or n < 1:
            raise LayerGraphError(f"(\"{name}\", n) needs a positive integer n.", "NetDecoder::invprop")
        top = order[:n]
        if name == "TopDecisions":
            return [labels[int(i)] for i in top]
        return [(labels[int(i)], float(row[i])) for i in top]


class BooleanDecoder(NetDecoder):
    kind = "Boolean"

    @property
    def dims(self):
        return ()

    def target_encoder(self, dims):
        return NetEncoder("Boolean")

    properties = ("Decision", "Probability", "Entropy")

    def _one(self, p, name, arg):
        p = float(p)
        if name == "Probability":
            return p
        if name == "Entropy":
            return float(-sum(q * np.log(q) for q in (p, 1 - p) if q > 0))
        return p >= 0.5       # False if p < 0.5, True otherwise


class ImageDecoder(NetDecoder):
    kind = "Image"
    positional = ("ColorSpace",)
    defaults = {"ColorSpace": "RGB", "MeanImage": None, "VarianceImage": None, "Interleaving": False}
    rank = 3

    def _setup(self):
        self.channels = _color_space(self, self.params["ColorSpace"])
        _check_options(self)
        for name in ("MeanImage", "VarianceImage"):   # checked now, conformed to the output's size later
            _statistic(self, name, self.channels, (1, 1))

    @property
    def dims(self):
        c = 1 if self.channels == 1 else None     # "RGB" takes 3 channels, or 1 (made gray RGB)
        return (None, None, c) if self.params["Interleaving"] else (c, None, None)

    def check_port(self, dims, port):
        super().check_port(dims, port)
        c = dims[-1] if self.params["Interleaving"] else dims[0]
        if c not in (1, self.channels):
            raise LayerGraphError(f"Incompatible dimensions for the port \"{port}\": {phrase(tuple(dims))} is not "
                                  f"compatible with {self!r}, which takes {self._takes()}.", "General::ninctyp")

    def _takes(self):
        where = "last" if self.params["Interleaving"] else "first"
        n = "1 or 3 channels" if self.channels == 3 else "1 channel"
        return f"a rank-3 array with {n} {where}"

    def target_encoder(self, dims):
        if dims is None or None in dims:
            raise LayerGraphError("Images as targets need the output's dimensions; give the net's input "
                                  "dimensions first.", "NetTrain::invindim")
        h, w, c = dims if self.params["Interleaving"] else (dims[1], dims[2], dims[0])
        p = self.params
        return NetEncoder(("Image", (w, h)), ColorSpace="Grayscale" if c == 1 else "RGB", MeanImage=p["MeanImage"],
                          VarianceImage=p["VarianceImage"], Interleaving=p["Interleaving"])

    def _one(self, y, name, arg):
        a = y if self.params["Interleaving"] else y.transpose(1, 2, 0)
        a = _conform(a, self.channels, a.shape[:2], "Stretch")   # 1 channel -> RGB where asked
        sd = _statistic(self, "VarianceImage", self.channels, a.shape[:2])
        mean = _statistic(self, "MeanImage", self.channels, a.shape[:2])
        if sd is not None:
            a = a * np.sqrt(sd)
        if mean is not None:
            a = a + mean
        a = np.clip(a, 0.0, 1.0)
        return a[:, :, 0] if self.channels == 1 else a


NetEncoder._kinds = {"Class": ClassEncoder, "Boolean": BooleanEncoder, "Image": ImageEncoder}
NetDecoder._kinds = {"Class": ClassDecoder, "Boolean": BooleanDecoder, "Image": ImageDecoder}
for _sub in list(NetEncoder._kinds.values()) + list(NetDecoder._kinds.values()):
    _sub._kinds = None


def check_sides(head: str, coders: dict, inputs) -> None:
    """A NetEncoder goes on an input port, a NetDecoder on an output port."""
    for port, coder in coders.items():
        if isinstance(coder, NetDecoder) and port in inputs:
            raise LayerGraphError(f"A NetDecoder belongs on an output port; \"{port}\" is an input (give it a "
                                  "NetEncoder or dimensions).", f"{head}::invcoder")
        if isinstance(coder, NetEncoder) and port not in inputs:
            raise LayerGraphError(f"A NetEncoder belongs on an input port; \"{port}\" is an output (give it a "
                                  "NetDecoder or dimensions).", f"{head}::invcoder")


__all__ = ["NetEncoder", "NetDecoder", "File"]
