"""The checks that the conformance tests run on every registry row (in the spirit of
Keras's ``run_layer_test``), written so that they also take a user's own layer.

Each check builds what it needs from a layer, a small network around it
(input layer -> [what the layer needs] -> layer) and tiny shapes, and fails with an
AssertionError that names what differed. None of them skips: where a check cannot apply
to a layer, the caller leaves it out.
"""
from __future__ import annotations

import difflib
from pathlib import Path

import numpy as np

from ..core import conventions as cv
from ..core.errors import LayerGraphError
from ..core.layer import AUTO

IMAGE = ("image", (6, 5, 3))   # MATLAB's H x W x C; the conv row's 5 x 5 filter fits
FEATURE = ("feature", 6)
SEQUENCE = ("sequence", (3, 4))   # vector sequences: C = 3 features, 4 time steps each
INTEGER = ("integer", (4, 10))    # 4 indices per example, each an integer in 1..10 (an embedding's input)
IMAGE_SEQUENCE = ("image_sequence", (6, 5, 3, 4))   # image sequences: h x w x c images, 4 time steps each


# -- the small network ----------------------------------------------------------------------------
def input_layer(spec, name="in"):
    """The MATLAB input layer of an input spec, without normalization (the checks feed raw data)."""
    from ..matlab import featureInputLayer, imageInputLayer, sequenceInputLayer
    kind, size = spec
    if kind == "image":
        return imageInputLayer(list(size), "Name", name, "Normalization", "none")
    if kind == "feature":
        return featureInputLayer(size, "Name", name)
    if kind == "integer":   # indices are features that hold integers
        return featureInputLayer(size[0], "Name", name)
    if kind == "sequence":
        return sequenceInputLayer(size[0], "Name", name)
    if kind == "image_sequence":
        return sequenceInputLayer(list(size[:3]), "Name", name)
    raise ValueError(f"unknown input kind {kind!r}")


def sample(spec, n=2, seed=0):
    """A float64 batch for an input spec in MATLAB's layout (H x W x C x N or N x C; sequences:
    a list of N C x T arrays, MATLAB's N-by-1 cell)."""
    kind, size = spec
    r = np.random.default_rng(seed)
    if kind in ("sequence", "image_sequence"):
        return [r.standard_normal(size) for _ in range(n)]
    if kind == "integer":   # every index occurs more than once across a batch of two or more
        return r.integers(1, size[1] + 1, (n, size[0])).astype(np.float64)
    shape = (*size, n) if kind == "image" else (n, size)
    return r.standard_normal(shape)


def to_internal(spec, X):
    if spec[0] == "sequence":
        return np.ascontiguousarray(np.stack(X))   # N x C x T: one length, no padding
    if spec[0] == "image_sequence":                # h x w x c x T each -> N x C x H x W x T
        return np.ascontiguousarray(np.stack([np.moveaxis(s, 2, 0) for s in X]))
    return cv.matlab_images_to_internal(X) if spec[0] == "image" else np.ascontiguousarray(X)


def graph_of(layer, spec, before=(), after=()):
    """input -> before... -> layer -> after..., with every further input port of the layer fed
    by the layer that feeds its first one (addition and concatenation take the same array
    twice; an output of the same name where it has one: a sequence folding's 'miniBatchSize'
    into an unfolding), and every further input port of the first ``after`` layer by the
    layer's output of the same name."""
    from ..matlab import connectLayers, layerGraph
    chain = [input_layer(spec), *before, layer, *after]
    lg = layerGraph(chain)
    named = list(lg.Layers)   # in the chain's order, unnamed layers named
    feeder, nxt = named[len(before)], named[len(before) + 2] if after else None
    for port in layer.InputNames[1:]:
        source = f"{feeder.Name}/{port}" if port in feeder.OutputNames[1:] else feeder.Name
        lg = connectLayers(lg, source, f"{layer.Name}/{port}")
    for port in nxt.InputNames[1:] if nxt is not None else ():
        lg = connectLayers(lg, f"{layer.Name}/{port}", f"{nxt.Name}/{port}")
    return lg


def small_network(layer, spec, before=(), after=()):
    """The network the checks run: a dlnetwork, or an assembled network for an output layer
    (which needs its learnables set: the layers before an output layer here have none)."""
    from ..matlab import assembleNetwork, dlnetwork
    if layer.is_input:
        return dlnetwork([layer])
    lg = graph_of(layer, spec, before, after)
    return assembleNetwork(lg) if layer.is_output else dlnetwork(lg)


def randomized(net, name, seed=0, zero=()):
    """The network with the learnables and state of layer ``name`` replaced by random values of
    their sizes (variances positive), so that a check sees no zero bias or unit scale; the
    properties in ``zero`` are set to zeros instead (a recurrent layer's state, which the Wolfram
    layer holds at zero)."""
    from ..matlab import dlnetwork
    r = np.random.default_rng(seed)
    layer = net.layer_graph.layer(name).model_copy(deep=True)
    for prop in [s.name for s in layer.learnables] + list(layer.states):
        value = getattr(layer, prop)
        if value is None:
            continue
        new = r.uniform(0.5, 1.5, value.shape) if "Variance" in prop else r.standard_normal(value.shape)
        new = np.zeros(value.shape) if prop in zero else new
        setattr(layer, prop, new.astype(value.dtype))
    lg = net.layer_graph
    from ..matlab import replaceLayer
    return dlnetwork(replaceLayer(lg, name, layer))


def _loss(ex, x, W, training=True):
    ys = ex.forward({ex.input_names[0]: x}, training=training, rng=np.random.default_rng(7))
    return sum(float(np.sum(np.asarray(ys[ref], dtype=np.float64) * W[ref])) for ref in W)


def away_from(x, points, gap=1e-3):
    """Move entries within gap of a kink (0, a ceiling) so that +-h never crosses it."""
    x = x.copy()
    for p in points:
        near = np.abs(x - p) < gap
        x[near] = p + np.where(x[near] >= p, 1, -1) * 2 * gap
    return x


# -- the checks ----------------------------------------------------------------------------------
def check_sized(net, name):
    """Inference resolved every 'auto' property of the layer and gave each output a size."""
    layer = net.layer_graph.layer(name)
    left = [f for f in type(layer).model_fields if f[0].isupper() and getattr(layer, f) is AUTO
            and f not in ("Classes", "NormalizationDimension", "OperationDimension")]
    assert not left, f"{name}: inference left {left} 'auto'"
    info = net._analysis.info(name)
    assert set(info.ActivationSizes) == set(layer.OutputNames), info.ActivationSizes


def check_initialized(net, name):
    layer = net.layer_graph.layer(name)
    for spec in layer.learnables:
        value = getattr(layer, spec.name)
        assert value is not None and np.all(np.isfinite(value)), f"{name}.{spec.name} is {value!r}"
        assert value.shape == layer.learnable_sizes(net._analysis.info(name).InputSizes.get("in"))[spec.name]


def check_forward(net, spec, name, n=2):
    """Prediction and a training pass on the CPU: every output has the size inference gave it
    and holds finite numbers."""
    from ..matlab import predict
    X = sample(spec, n)
    Y = predict(net, X)
    assert np.all(np.isfinite(Y)), f"{name}: prediction is not finite"
    ex = net.executor("cpu", np.float64)
    x = to_internal(spec, X)
    for training in (False, True):
        acts = ex.forward({ex.input_names[0]: x}, training=training, rng=np.random.default_rng(1))
        for ref in ex.output_refs():
            size = net._analysis.info(ref[0]).ActivationSizes[ref[1]]
            y = acts[ref]
            steps = (x.shape[-1],) if size.is_sequence else ()
            assert y.shape == (n, size.channels, *size.spatial, *steps), (ref, y.shape, size)
            assert np.all(np.isfinite(y)), ref
    return Y


def check_gradients(net, spec, kinks=(), n=2, h=1e-5, rtol=1e-6, atol=1e-9, seed=3):
    """float64 central finite differences through the executor's backward, along random
    directions: the input's gradient and that of every learnable of every layer."""
    ex = net.executor("cpu", np.float64)
    r = np.random.default_rng(seed)
    x = away_from(to_internal(spec, sample(spec, n)), kinks)
    ys = ex.forward({ex.input_names[0]: x}, training=True, rng=np.random.default_rng(7))
    W = {ref: r.standard_normal(ys[ref].shape) for ref in ex.output_refs()}
    grads = ex.backward(dict(W), input_grads=True)
    for step in ex.steps:
        assert set(grads.get(step.name, {})) == set(step.op.learnable_names), (step.name, list(grads))

    def directional(array, g, what):
        d = r.standard_normal(array.shape)
        array += h * d
        up = _loss(ex, x, W)
        array -= 2 * h * d
        down = _loss(ex, x, W)
        array += h * d
        numeric, analytic = (up - down) / (2 * h), float(np.sum(g * d))
        assert abs(numeric - analytic) <= rtol * max(abs(numeric), abs(analytic)) + atol, \
            (what, numeric, analytic)

    dx = ex.input_grads[(ex.input_names[0], "out")]
    assert dx.shape == x.shape
    if spec[0] == "integer":   # indices: piecewise constant, no input direction to step along
        assert not np.any(dx), "the gradient of integer indices is zero"
    else:
        directional(x, dx, "input")
    for layer, params in grads.items():
        for pname, g in params.items():
            directional(ex.params[layer][pname], g, f"{layer}.{pname}")
    return grads


def check_cuda_parity(net, spec, n=2, rtol=1e-10, atol=1e-12):
    """The 'cuda' executor gives the CPU's prediction, training outputs and gradients (float64)."""
    from ..kernels import get_transfers
    host = get_transfers("cuda")[1]
    cpu, gpu = net.executor("cpu", np.float64), net.executor("cuda", np.float64)
    x = to_internal(spec, sample(spec, n))
    feed = {cpu.input_names[0]: x}
    for training in (False, True):
        a = cpu.forward(feed, training=training, rng=np.random.default_rng(5))
        b = gpu.forward(feed, training=training, rng=np.random.default_rng(5))
        assert set(a) == set(b)
        for ref in a:
            np.testing.assert_allclose(b[ref], a[ref], rtol=rtol, atol=atol, err_msg=str((ref, training)))
    W = {ref: np.random.default_rng(6).standard_normal(a[ref].shape) for ref in cpu.output_refs()}
    ga = cpu.backward(dict(W), input_grads=True)
    gb = gpu.backward({ref: get_transfers("cuda")[0](w) for ref, w in W.items()}, input_grads=True)
    assert {k: set(v) for k, v in ga.items()} == {k: set(v) for k, v in gb.items()}
    for layer, params in ga.items():
        for pname, g in params.items():
            np.testing.assert_allclose(host(gb[layer][pname]), g, rtol=rtol, atol=atol, err_msg=f"{layer}.{pname}")
    ref = (cpu.input_names[0], "out")
    np.testing.assert_allclose(host(gpu.input_grads[ref]), cpu.input_grads[ref],
                               rtol=rtol, atol=atol, err_msg="input gradient")


def same_property(a, b) -> bool:
    """A property equals its expected value as MATLAB compares them: arrays by value, a row
    vector given as a tuple or a list alike, logicals only as logicals."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return a is not None and b is not None and np.array_equal(a, b)
    if isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)):
        return list(a) == list(b)
    return type(a) is type(b) and a == b if isinstance(a, bool) or isinstance(b, bool) else a == b


def same_value(a, b, where=""):
    """Equal and of one type; arrays bit-identical, of one dtype, shape and memory order."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        assert isinstance(a, np.ndarray) and isinstance(b, np.ndarray), where
        assert a.dtype == b.dtype and a.shape == b.shape, where
        assert a.tobytes(order="A") == b.tobytes(order="A"), where   # bit-identical
        assert a.flags.f_contiguous == b.flags.f_contiguous, where
    else:
        assert type(a) is type(b), (where, a, b)
        assert a == b, (where, a, b)


def same_layer(a, b):
    assert type(a) is type(b)
    for field in type(a).model_fields:
        same_value(getattr(a, field), getattr(b, field), f"{a.Name}.{field}")


def same_graph(a, b):
    assert list(a.graph.nodes) == list(b.graph.nodes)
    assert list(a.graph.edges(data=True)) == list(b.graph.edges(data=True))
    for name in a.graph.nodes:
        same_layer(a.layer(name), b.layer(name))
    assert a.connections() == b.connections()


def roundtrip(obj, folder, name="net.npz"):
    from ..io import load, save
    path = Path(folder) / name
    save(obj, path)
    return load(path)


def check_roundtrip(net, spec, folder):
    """layergraph.save / load of the network: the same graph, layers and outputs."""
    from ..matlab import predict
    back = roundtrip(net, folder)
    assert type(back) is type(net)
    same_graph(net.layer_graph, back.layer_graph)
    X = sample(spec, 3)
    assert np.array_equal(predict(net, X), predict(back, X))
    return back


def check_golden(path, text: str, update: bool = False):
    """``text`` is the golden file's text (``update`` rewrites the file first)."""
    path = Path(path)
    if update:
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"{path} is missing: run UPDATE_GOLDEN=1 python -m pytest tests/matlab/test_display.py"
    expected = path.read_text(encoding="utf-8")
    if text != expected:
        diff = "\n".join(difflib.unified_diff(expected.splitlines(), text.splitlines(), "golden", "generated",
                                              lineterm=""))
        raise AssertionError(f"{path.name} differs from the golden printout:\n{diff}")


def check_rejected(call, prop: str, *fragments) -> LayerGraphError:
    """``call()`` fails with a LayerGraphError (never pydantic's, numpy's or Python's own)
    whose message names ``prop`` and contains every fragment."""
    try:
        call()
    except LayerGraphError as err:
        text = str(err)
        for leak in ("pydantic", "validation error for", "type=value_error", "Value error,"):
            assert leak not in text, text
        for fragment in (prop, *fragments):
            assert fragment in text, f"{fragment!r} not in {text!r}"
        return err
    except Exception as err:  # noqa: BLE001 -- the point: any other exception is a failure
        raise AssertionError(f"{type(err).__module__}.{type(err).__name__} instead of LayerGraphError: {err}")
    raise AssertionError(f"accepted: nothing was raised (expected an error naming {prop!r})")


# values of every kind, for sweeps that feed each one everywhere a user could
ODD_VALUES = [None, "a", "same", -1, 0, 0.5, 3, [1, 2], [1, 2, 3, 4, 5], np.nan, np.inf, [[1, 2], [3]],
              {"a": 1}, lambda sz: 1, True, np.ones((2, 2)), object(), "", [], 1e-7]


def only_layergraph_errors(call):
    """``call()`` succeeds or raises a LayerGraphError; any other exception propagates."""
    try:
        call()
    except LayerGraphError:
        pass


def wrong_size(value: np.ndarray, axis: int = -1) -> np.ndarray:
    """An array one longer in one dimension."""
    shape = list(value.shape)
    shape[axis] += 1
    return np.zeros(shape, dtype=value.dtype)


def check_wrong_size_learnables(net, name):
    """Assigning a learnable of the wrong size to the sized layer is refused, naming the
    learnable, and leaves the layer as it was."""
    layer = net.layer_graph.layer(name)
    assert layer.learnables, f"{name} has no learnables"
    for spec in layer.learnables:
        copy = layer.model_copy(deep=True)
        bad = wrong_size(getattr(copy, spec.name))
        check_rejected(lambda c=copy, n=spec.name, v=bad: setattr(c, n, v), f"'{spec.name}'",
                       "x".join(map(str, bad.shape)))
        assert copy == layer


# -- the Wolfram dialect --------------------------------------------------------------------------
def wolfram_layer(name: str, arguments: str, **arrays):
    """``name(arguments)`` as Python code in the names of layergraph.wolfram (symbols such as
    Mean, Span and All), with ``arrays`` as options."""
    from .. import wolfram
    namespace = {k: getattr(wolfram, k) for k in wolfram.__all__}
    cls = namespace[name]
    args, options = eval(f"(lambda *a, **o: (a, o))({arguments})", namespace)
    return cls(*args, **options, **arrays)


def wolfram_dims(spec):
    """Wolfram's per-example dimensions of a MATLAB input spec (channels first; a vector
    sequence {"Varying", C})."""
    kind, size = spec
    if kind == "integer":
        return (size[0],)
    if kind == "sequence":
        return ("Varying", size[0])
    return (size[2], size[0], size[1]) if kind == "image" else (size,)


def wolfram_data(spec, X, dtype=np.float32):
    """A batch in MATLAB's layout (:func:`sample`) as a Wolfram net takes it: images and
    features channels first; sequences N x T x C (each example a T x C matrix, time first)."""
    if spec[0] == "sequence":
        return np.ascontiguousarray(np.stack([x.T for x in X]), dtype=dtype)
    return to_internal(spec, X).astype(dtype)


def wolfram_shape(dims, spec):
    """The array shape of one example of Wolfram dims: a varying length is the spec's steps."""
    return tuple(spec[1][1] if d == "Varying" else d for d in dims)


def _single(spec, X):
    return [x.astype(np.float32) for x in X] if spec[0] == "sequence" else X.astype(np.float32)


def _matlab_layout(spec, y_w, y_m):
    """A Wolfram output beside MATLAB's: a sequence's T x C elements as MATLAB's C x T."""
    if spec[0] == "sequence" and y_w.ndim == 3 and y_m.ndim == 3:
        return np.ascontiguousarray(y_w.transpose(0, 2, 1))
    return y_w


def wolfram_net(layer, spec):
    """The layer in a net with its input port sized; a layer of several inputs gets one graph
    input per port, all fed the same array by :func:`wolfram_eval`."""
    from ..wolfram import NetChain, NetGraph, NetPort
    dims = wolfram_dims(spec)
    if getattr(layer, "multiport", False):
        ports = {f"x{i + 1}": dims for i in range(2)}
        return NetGraph([layer], [(tuple(NetPort(p) for p in ports), 1)], **ports)
    return NetChain([layer], Input=dims)


def wolfram_eval(net, x):
    from ..wolfram import NetGraph
    if isinstance(net, NetGraph) and len(net._interface()[0]) > 1:
        return np.asarray(net({p: x for p in net._interface()[0]}))
    return np.asarray(net(x))


def built_core_layer(layer, spec):
    """The core layer that a Wolfram layer builds (its main spec)."""
    dims = wolfram_dims(spec)
    built = layer.build("x", [dims, dims] if getattr(layer, "multiport", False) else [dims])
    return built.specs[built.main]


def check_wolfram_forward(net, spec, n=2):
    from ..wolfram import NetInitialize
    net = NetInitialize(net, RandomSeeding=1)
    x = wolfram_data(spec, sample(spec, n))
    y = wolfram_eval(net, x)
    assert y.shape[0] == n and np.all(np.isfinite(y)), y.shape
    return net, y


def check_wolfram_roundtrip(net, spec, folder):
    """layergraph.save / load of an initialized Wolfram net: the same printout, arrays and
    outputs."""
    from ..io import load, save
    from ..wolfram import NetExtract
    path = Path(folder) / "net.lgnet"
    save(net, path)
    back = load(path)
    assert type(back) is type(net) and repr(back) == repr(net)
    for array in net._nodes["1"].active_arrays:
        same_value(np.asarray(NetExtract(net, (1, array))), np.asarray(NetExtract(back, (1, array))), array)
    x = wolfram_data(spec, sample(spec, 3))
    assert np.array_equal(wolfram_eval(net, x), wolfram_eval(back, x))
    return back


def check_opens_as_wolfram(matlab_net, spec, wolfram_name):
    """The MATLAB network opened as a Wolfram net (NetGraph(net), through the Wolfram layer's
    from_core) holds the row's Wolfram layer and gives the MATLAB network's outputs; back as a
    dlnetwork it gives them too."""
    from ..matlab import dlnetwork, predict
    from ..wolfram import NetGraph
    wnet = NetGraph(matlab_net)
    assert type(wnet._nodes["x"]).__name__ == wolfram_name, type(wnet._nodes["x"]).__name__
    X = _single(spec, sample(spec, 3))
    y_m = np.asarray(predict(matlab_net, X))
    y_w = _matlab_layout(spec, np.asarray(wnet(wolfram_data(spec, X))), y_m)
    y_back = np.asarray(predict(dlnetwork(wnet), X))
    if y_m.ndim == 4:
        y_m, y_back = cv.matlab_images_to_internal(y_m), cv.matlab_images_to_internal(y_back)
    np.testing.assert_allclose(y_w.reshape(y_m.shape), y_m, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(y_back, y_m, rtol=1e-5, atol=1e-5)


def check_twin(matlab_net, spec, wolfram_name, arguments, to_wolfram, name="x", rtol=1e-5, atol=1e-5):
    """The Wolfram layer given the MATLAB layer's learnables and state (converted by
    ``to_wolfram``: {MATLAB name: (Wolfram array, function(value, layer, input spec))}; with
    the array None the function gives {Wolfram array: value}, a stacked learnable cut into
    several arrays) gives the MATLAB network's outputs on the same data, through the layouts
    of core/conventions.py."""
    from ..matlab import predict
    layer = matlab_net.layer_graph.layer(name)
    arrays = {}
    for prop, (array, convert) in to_wolfram.items():
        value = convert(getattr(layer, prop), layer, spec)
        for key, v in (value.items() if array is None else [(array, value)]):
            arrays[key] = np.asarray(v, dtype=np.float32)
    from ..wolfram import NetReplacePart
    # arrays set into the sized net, as a user would: a LinearLayer given its Weights up front
    # would read their second dimension as a vector "Input"
    wnet = wolfram_net(wolfram_layer(wolfram_name, arguments), spec)
    if arrays:
        wnet = NetReplacePart(wnet, {(1, k): v for k, v in arrays.items()})
    X = _single(spec, sample(spec, 3))
    y_m = np.asarray(predict(matlab_net, X))
    y_w = _matlab_layout(spec, wolfram_eval(wnet, wolfram_data(spec, X)), y_m)
    if y_m.ndim == 4:
        y_m = cv.matlab_images_to_internal(y_m)
    np.testing.assert_allclose(y_w.reshape(y_m.shape), y_m, rtol=rtol, atol=atol)
    return y_m


def check_layer(layer, input_size, folder, before=(), kinks=(), cuda=False):
    """Every check of a lone layer: ``input_size`` is an imageInputLayer's [h w c] or a
    featureInputLayer's number of features; ``folder`` takes the save/load file.
    The layer needs a Name (the checks address it by name). Returns the network."""
    spec = ("feature", int(input_size)) if np.ndim(input_size) == 0 else ("image", tuple(input_size))
    net = small_network(layer, spec, before)
    check_sized(net, layer.Name)
    if layer.is_output:
        check_roundtrip(net, spec, folder)
        return net
    check_initialized(net, layer.Name)
    net = randomized(net, layer.Name)
    check_forward(net, spec, layer.Name)
    check_gradients(net, spec, kinks)
    if cuda:
        check_cuda_parity(net, spec)
    check_roundtrip(net, spec, folder)
    return net
