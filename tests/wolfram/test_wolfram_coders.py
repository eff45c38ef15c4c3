"""NetEncoder and NetDecoder on a net's outer ports: the Class, Boolean and Image coders,
their defaults, round trips, the bilinear resize (against torch), training through them,
and bad input."""
import numpy as np
import pytest

from layergraph.wolfram import (
    ConvolutionLayer,
    FlattenLayer,
    Information,
    LayerGraphError,
    LinearLayer,
    LogisticSigmoid,
    NetAppend,
    NetChain,
    NetDecoder,
    NetDrop,
    NetEncoder,
    NetExtract,
    NetGraph,
    NetInitialize,
    NetPrepend,
    NetReplacePart,
    NetTake,
    NetTrain,
    Ramp,
    SoftmaxLayer,
)
from layergraph.wolfram import All, Automatic
from layergraph.data import images

R = np.random.default_rng(2)
LABELS = ["neg", "pos"]


def classifier():
    return NetInitialize(NetChain([LinearLayer(2), SoftmaxLayer()], Input=2, Output=NetDecoder(("Class", LABELS))),
                         RandomSeeding=3)


def test_decoder_properties():
    net = classifier()
    x = np.array([1.0, -2.0])
    p = net(x, None)
    assert p.shape == (2,)
    assert net(x) == LABELS[int(np.argmax(p))]
    assert net([x, -x]) == [LABELS[int(np.argmax(p))], LABELS[int(np.argmax(net(-x, None)))]]
    probs = net(x, "Probabilities")
    assert set(probs) == set(LABELS) and probs["neg"] == pytest.approx(p[0])
    top = net(x, ("TopProbabilities", 1))
    assert top == [(LABELS[int(np.argmax(p))], pytest.approx(p.max()))]
    assert net(x, ("Probability", "pos")) == pytest.approx(p[1])
    assert net(x, "Entropy") == pytest.approx(float(-np.sum(p * np.log(p))), rel=1e-5)
    assert net(x, ("TopDecisions", 2))[0] == net(x)
    with pytest.raises(LayerGraphError):
        net(x, "Nope")


def test_printout_and_information():
    net = classifier()
    assert "Output port:      class" in repr(net)
    assert Information(net, "OutputPorts") == {"Output": "class"}
    assert NetExtract(net, "Output") == NetDecoder(("Class", LABELS))
    assert repr(NetDecoder(("Class", LABELS))) == 'NetDecoder[{"Class", {"neg", "pos"}}]'


def test_training_on_labels():
    X = R.standard_normal((200, 2))
    y = np.where(X[:, 0] > 0, "pos", "neg")
    net = NetChain([LinearLayer(2), SoftmaxLayer()], Input=2, Output=NetDecoder(("Class", LABELS)))
    trained = NetTrain(net, list(zip(X, y)), MaxTrainingRounds=50, LearningRate=0.05,
                       TrainingProgressReporting=None, RandomSeeding=1)
    assert np.mean(np.array(trained(X)) == y) > 0.95
    with pytest.raises(LayerGraphError, match="is not one of the classes"):
        NetTrain(net, (X, ["maybe"] * 200), MaxTrainingRounds=1, TrainingProgressReporting=None)


def test_operations_keep_or_drop_the_decoder():
    net = classifier()
    assert NetDrop(net, 1)._decoders and not NetTake(net, 1)._decoders
    assert not NetAppend(net, Ramp)._decoders     # NetAppend removes an output decoder
    raw = NetReplacePart(net, {"Output": None})
    assert isinstance(raw(np.ones(2)), np.ndarray)
    assert NetGraph(net)._decoders == net._decoders


def test_bad_decoders():
    for spec in ["Class", ("Class", []), ("Image", [1]), ("Class", ["a", "a"]), 3]:
        with pytest.raises(LayerGraphError):
            NetDecoder(spec)
    with pytest.raises(LayerGraphError):
        NetChain([Ramp], Input=NetDecoder(("Class", LABELS)))
    with pytest.raises(LayerGraphError, match="compatible"):
        NetChain([LinearLayer(3), SoftmaxLayer()], Input=2, Output=NetDecoder(("Class", LABELS)))
    with pytest.raises(LayerGraphError, match="no output decoder"):
        NetInitialize(NetChain([LinearLayer(2)], Input=2))(np.ones(2), "Probabilities")


# -- defaults -------------------------------------------------------------------------------------
def test_defaults_pinned():
    enc = NetEncoder("Image")
    assert enc.params == {"ImageSize": (128, 128), "ColorSpace": "RGB", "MeanImage": None, "VarianceImage": None,
                          "Interleaving": False, "Method": "Stretch", "Resampling": Automatic}
    assert enc.dims == (3, 128, 128)
    assert enc == NetEncoder(("Image", (128, 128))) == NetEncoder(("Image", 128))
    assert NetEncoder(("Image", (6, 4))).dims == (3, 4, 6)                     # {w, h} -> C x h x w
    assert NetEncoder(("Image", (6, 4), "Grayscale")).dims == (1, 4, 6)
    assert NetEncoder(("Image", (6, 4)), Interleaving=True).dims == (4, 6, 3)
    assert NetEncoder(("Image", (6, 4)), ColorSpace="Grayscale") == NetEncoder(("Image", (6, 4), "Grayscale"))
    cls = NetEncoder(("Class", ["a", "b", "c"]))
    assert cls.params == {"Labels": ["a", "b", "c"], "OutputForm": "Index"} and cls.dims == ()
    assert NetEncoder(("Class", ["a", "b", "c"], "IndicatorVector")).dims == (3,)
    assert NetEncoder("Boolean").dims == () and NetDecoder("Boolean").dims == ()
    dec = NetDecoder("Image")
    assert dec.params == {"ColorSpace": "RGB", "MeanImage": None, "VarianceImage": None, "Interleaving": False}
    assert dec == NetDecoder(("Image", "RGB"))
    assert repr(NetEncoder(("Image", (6, 4)), MeanImage=0.5)) == 'NetEncoder[{"Image", {6, 4}, "MeanImage" -> 0.5}]'
    assert repr(NetEncoder(("Class", ["a"], "IndicatorVector"))) == 'NetEncoder[{"Class", {"a"}, "IndicatorVector"}]'


# -- Class and Boolean --------------------------------------------------------------------------------
def test_class_encoder():
    enc = NetEncoder(("Class", ["a", "b", "c"]))
    assert enc("a") == 1.0 and enc("c") == 3.0                                 # 1-based
    np.testing.assert_array_equal(enc(["c", "a"]), [3.0, 1.0])
    np.testing.assert_array_equal(enc(np.array(["b", "b"])), [2.0, 2.0])
    onehot = NetEncoder(("Class", ["a", "b", "c"], "IndicatorVector"))
    np.testing.assert_array_equal(onehot("b"), [0, 1, 0])
    np.testing.assert_array_equal(onehot(["c", "a"]), [[0, 0, 1], [1, 0, 0]])
    numbers = NetEncoder(("Class", [10, 20]))
    assert numbers(np.int64(20)) == 2.0 and numbers(10) == 1.0
    # round trip: the Class decoder reads the one-hot vectors back as labels
    labels = ["c", "a", "b"]
    assert NetDecoder(("Class", ["a", "b", "c"]))(onehot(labels)) == labels


def test_boolean_coders():
    enc = NetEncoder("Boolean")
    assert enc(True) == 1.0 and enc(False) == 0.0
    np.testing.assert_array_equal(enc([True, False, np.True_]), [1.0, 0.0, 1.0])
    dec = NetDecoder("Boolean")
    assert dec(0.49) is False and dec(0.5) is True and dec(0.9) is True       # False if p < 0.5
    assert dec([0.2, 0.8]) == [False, True]
    assert dec(enc([True, False])) == [True, False]                            # round trip
    assert dec(0.25, "Probability") == 0.25
    assert dec(0.25, "Entropy") == pytest.approx(-(0.25 * np.log(0.25) + 0.75 * np.log(0.75)))
    assert dec(0.25, None) == 0.25
    assert dec(0.25, "Properties") == ["Decision", "Probability", "Entropy"]
    with pytest.raises(LayerGraphError, match="either True or False"):
        enc("yes")
    with pytest.raises(LayerGraphError, match="not a property"):
        dec(0.2, "TopProbabilities")


# -- images -------------------------------------------------------------------------------------------
IMG = R.integers(0, 256, (5, 7, 3), dtype=np.uint8)


def test_image_pixels_and_layout():
    enc = NetEncoder(("Image", (7, 5)))                  # the image's own size: no resampling
    x = enc(IMG)
    assert x.shape == (3, 5, 7)
    np.testing.assert_allclose(x, IMG.transpose(2, 0, 1) / 255.0)           # uint8 -> [0, 1], channels first
    np.testing.assert_allclose(enc(IMG / 255.0), x)                           # floats 0..1 as they are
    inter = NetEncoder(("Image", (7, 5)), Interleaving=True)(IMG)
    np.testing.assert_allclose(inter, IMG / 255.0)                            # channels last
    rgba = np.concatenate([IMG, np.full((5, 7, 1), 7, np.uint8)], axis=2)
    np.testing.assert_allclose(enc(rgba), x)                                  # alpha dropped
    gray = NetEncoder(("Image", (7, 5), "Grayscale"))
    np.testing.assert_allclose(gray(IMG)[0], IMG @ [0.299, 0.587, 0.114] / 255.0)
    np.testing.assert_allclose(enc(IMG[:, :, 0]), np.repeat(IMG[None, :, :, 0] / 255.0, 3, axis=0))
    # one image, a list, an array with the batch first
    assert enc([IMG, IMG]).shape == (2, 3, 5, 7)
    np.testing.assert_allclose(enc(np.stack([IMG, IMG]))[1], x)


def test_mean_and_variance_images():
    base = NetEncoder(("Image", (7, 5)))(IMG)
    scalar = NetEncoder(("Image", (7, 5)), MeanImage=0.5, VarianceImage=0.25)(IMG)
    np.testing.assert_allclose(scalar, (base - 0.5) / np.sqrt(0.25))
    m, v = [0.1, 0.2, 0.3], [0.5, 1.0, 2.0]
    per_channel = NetEncoder(("Image", (7, 5)), MeanImage=m, VarianceImage=v)(IMG)
    np.testing.assert_allclose(per_channel, (base - np.reshape(m, (3, 1, 1))) / np.sqrt(np.reshape(v, (3, 1, 1))))
    mean_img = R.random((5, 7, 3))
    whole = NetEncoder(("Image", (7, 5)), MeanImage=mean_img)(IMG)
    np.testing.assert_allclose(whole, base - mean_img.transpose(2, 0, 1))
    # an image decoder with the same statistics undoes them
    dec = NetDecoder("Image", MeanImage=m, VarianceImage=v)
    np.testing.assert_allclose(dec(per_channel), IMG / 255.0)


def test_resampling():
    """Resampling -> "Bilinear" is Pillow's antialiased bilinear filter, which torch's
    interpolate(antialias=True) reproduces; Automatic is Lanczos (ImageResize's default);
    "Nearest" on an integer enlargement repeats pixels; a bad name is refused."""
    import torch  # the test oracle; the test extra installs it
    F = torch.nn.functional
    cases = [((5, 7), (11, 3)), ((8, 8), (3, 5)), ((4, 6), (4, 13)), ((9, 2), (2, 9)), ((16, 12), (5, 4))]
    for (h0, w0), (h, w) in cases:
        a = R.random((h0, w0, 3))
        ours = NetEncoder(("Image", (w, h)), Resampling="Bilinear")(a)
        ref = F.interpolate(torch.from_numpy(a.transpose(2, 0, 1)[None]), size=(h, w), mode="bilinear",
                            align_corners=False, antialias=True)[0].numpy()
        np.testing.assert_allclose(ours, ref, atol=2e-6)
        lanczos = NetEncoder(("Image", (w, h)))(a)
        np.testing.assert_allclose(lanczos, images.resize(a.astype(np.float32), (h, w), "lanczos").transpose(2, 0, 1))
        assert np.abs(lanczos - ours).max() > 1e-4   # a different filter
    small = R.random((2, 3, 3))
    np.testing.assert_allclose(NetEncoder(("Image", (6, 4)), Resampling="Nearest")(small),
                               np.repeat(np.repeat(small, 2, 0), 2, 1).transpose(2, 0, 1), atol=1e-7)
    with pytest.raises(LayerGraphError, match='Resampling -> "Gaussian".*Automatic or one of "Nearest"'):
        NetEncoder(("Image", (6, 4)), Resampling="Gaussian")


def test_fit_and_fill():
    a = R.random((4, 8, 3))
    fit = NetEncoder(("Image", (8, 8)), Method="Fit", Interleaving=True)(a)
    assert fit.shape == (8, 8, 3)
    np.testing.assert_array_equal(fit[:2], 0)                                # black bands above and below
    np.testing.assert_array_equal(fit[6:], 0)
    np.testing.assert_allclose(fit[2:6], a)
    fill = NetEncoder(("Image", (4, 4)), Method="Fill", Interleaving=True)(a)
    np.testing.assert_allclose(fill, a[:, 2:6])                              # the middle, the sides cropped
    stretch = NetEncoder(("Image", (4, 4)), Interleaving=True)(a)
    np.testing.assert_allclose(stretch, images.resize(a.astype(np.float32), (4, 4), "lanczos"))


def test_pil_images_and_files(tmp_path):
    from PIL import Image  # Pillow: the test extra installs it
    enc = NetEncoder(("Image", (7, 5)))
    expected = enc(IMG)
    np.testing.assert_allclose(enc(Image.fromarray(IMG)), expected)
    path = tmp_path / "img.png"
    Image.fromarray(IMG).save(path)
    np.testing.assert_allclose(enc(str(path)), expected)
    np.testing.assert_allclose(enc([path, path])[1], expected)
    palette = Image.fromarray(IMG).convert("P")
    np.testing.assert_allclose(enc(palette), enc(np.asarray(palette.convert("RGB"))))
    with pytest.raises(LayerGraphError, match="could not be read"):
        enc(str(tmp_path / "missing.png"))


def test_image_decoder():
    dec = NetDecoder("Image")
    y = R.random((3, 4, 5))
    out = dec(y)
    assert out.shape == (4, 5, 3)
    np.testing.assert_allclose(out, y.transpose(1, 2, 0))
    np.testing.assert_allclose(dec(np.stack([y, y]))[1], out)                 # a batch gives a list
    np.testing.assert_allclose(dec(y * 3 - 1), np.clip(y * 3 - 1, 0, 1).transpose(1, 2, 0))   # clipped to [0, 1]
    g = R.random((1, 4, 5))
    np.testing.assert_allclose(dec(g), np.repeat(g.transpose(1, 2, 0), 3, axis=2))  # 1 channel made RGB
    np.testing.assert_allclose(NetDecoder(("Image", "Grayscale"))(g), g[0])          # h x w
    np.testing.assert_allclose(NetDecoder("Image", Interleaving=True)(y.transpose(1, 2, 0)), out)
    # round trip through an encoder of the same settings
    enc = NetEncoder(("Image", (7, 5)), MeanImage=0.4, VarianceImage=0.09)
    np.testing.assert_allclose(NetDecoder("Image", MeanImage=0.4, VarianceImage=0.09)(enc(IMG)), IMG / 255.0)
    with pytest.raises(LayerGraphError, match="not a property"):
        dec(y, "Decision2")
    with pytest.raises(LayerGraphError, match="compatible"):
        dec(R.random((2, 4, 5)))


# -- coders on nets --------------------------------------------------------------------------------
def image_net(**kw):
    return NetInitialize(NetChain([ConvolutionLayer(2, 3), Ramp, FlattenLayer(), LinearLayer(2), SoftmaxLayer()],
                                  Input=NetEncoder(("Image", (8, 6)), **kw), Output=NetDecoder(("Class", LABELS))),
                         RandomSeeding=4)


def test_net_with_image_encoder():
    net = image_net()
    assert net.compile().in_dims == {"Input": (3, 6, 8)}
    imgs = [R.integers(0, 256, (10, 12, 3), dtype=np.uint8) for _ in range(3)]
    encoded = NetEncoder(("Image", (8, 6)))(imgs)
    raw = NetReplacePart(net, {"Input": None})          # the same net without the encoder
    probs = raw(encoded, None)
    assert net(imgs[0]) == LABELS[int(np.argmax(probs[0]))]
    assert net(imgs) == [LABELS[int(np.argmax(p))] for p in probs]
    assert net(np.stack(imgs)) == net(imgs)
    np.testing.assert_allclose(net(imgs, None), probs, rtol=1e-6)
    assert NetExtract(net, "Input") == NetEncoder(("Image", (8, 6)))
    assert Information(net, "InputPorts") == {"Input": "image"}
    text = repr(net)
    assert "Input port:       image" in text and "array (size: 3×6×8)" in text


def test_interleaved_encoder_feeds_interleaved_layers():
    # channels last from the encoder, read as channels last by ConvolutionLayer[..., Interleaving -> True]
    first = NetInitialize(NetChain([ConvolutionLayer(2, 3)], Input=NetEncoder(("Image", (8, 6)))), RandomSeeding=1)
    last = NetChain([ConvolutionLayer(2, 3, Interleaving=True)], Input=NetEncoder(("Image", (8, 6)), Interleaving=True))
    last = NetReplacePart(last, {(1, "Weights"): NetExtract(first, (1, "Weights")),
                                 (1, "Biases"): NetExtract(first, (1, "Biases"))})
    img = R.random((7, 9, 3))
    np.testing.assert_allclose(last(img).transpose(2, 0, 1), first(img), rtol=1e-6)


def test_class_encoder_on_a_graph_port_and_string_specs():
    g = NetInitialize(NetGraph({"a": LinearLayer(3)}, [], Input=NetEncoder(("Class", ["u", "v"], "IndicatorVector"))),
                      RandomSeeding=1)
    w = NetExtract(g, ("a", "Weights"))
    np.testing.assert_allclose(g("v"), w[:, 1] + NetExtract(g, ("a", "Biases")), rtol=1e-6)
    assert Information(g, "InputPorts") == {"Input": "class"}
    chain = NetChain([FlattenLayer(), LinearLayer(), LogisticSigmoid], Input="Image", Output="Boolean")
    assert NetExtract(chain, "Input") == NetEncoder("Image") and NetExtract(chain, "Output") == NetDecoder("Boolean")
    assert "Output port:      boolean" in repr(chain)


def test_operations_keep_the_encoder():
    net = image_net()
    enc = NetEncoder(("Image", (8, 6)))
    assert NetTake(net, 2)._encoders == {"Input": enc}
    assert NetAppend(net, Ramp)._encoders == {"Input": enc}
    assert not NetDrop(net, 1)._encoders
    assert not NetPrepend(net, Ramp)._encoders
    assert NetGraph(net)._encoders == {"Input": enc}
    gray = NetEncoder(("Image", (8, 6), "Grayscale"))
    swapped = NetReplacePart(NetChain([Ramp], Input=enc), {"Input": gray})
    assert swapped.compile().in_dims == {"Input": (1, 6, 8)} and NetExtract(swapped, "Input") == gray


def test_training_through_an_image_encoder():
    # bright images are "pos", dark ones "neg"; uint8 arrays of another size, resized by the encoder
    n = 48
    bright = R.random(n) > 0.5
    imgs = [np.clip(R.normal(180 if b else 70, 30, (9, 11)), 0, 255).astype(np.uint8) for b in bright]
    labels = ["pos" if b else "neg" for b in bright]
    net = NetChain([ConvolutionLayer(2, 3), Ramp, FlattenLayer(), LinearLayer(), SoftmaxLayer()],
                   Input=NetEncoder(("Image", (6, 5), "Grayscale"), MeanImage=0.5),
                   Output=NetDecoder(("Class", LABELS)))
    result = NetTrain(net, list(zip(imgs, labels)), All, MaxTrainingRounds=15, BatchSize=8, LearningRate=0.01,
                      TrainingProgressReporting=None, RandomSeeding=2)
    losses = result["RoundLossList"]
    assert losses[-1] < 0.5 * losses[0]
    trained = result["TrainedNet"]
    assert trained._encoders == net._encoders
    assert np.mean(np.array(trained(imgs)) == np.array(labels)) > 0.9


def test_training_with_class_inputs_and_boolean_targets():
    words = ["red", "green", "blue"]
    xs = [words[i] for i in R.integers(0, 3, 60)]
    ys = [w == "green" for w in xs]
    net = NetChain([LinearLayer(), LogisticSigmoid], Input=NetEncoder(("Class", words, "IndicatorVector")),
                   Output=NetDecoder("Boolean"))
    trained = NetTrain(net, (xs, ys), MaxTrainingRounds=60, LearningRate=0.1, TrainingProgressReporting=None,
                       RandomSeeding=3)
    assert trained(["red", "green", "blue"]) == [False, True, False]
    with pytest.raises(LayerGraphError, match="either True or False"):
        NetTrain(net, (xs, ["yes"] * 60), MaxTrainingRounds=1, TrainingProgressReporting=None)


def test_training_on_image_targets():
    # images in, images out: the targets go through the Image decoder's matching encoder
    imgs = [R.integers(0, 256, (4, 4), dtype=np.uint8) for _ in range(32)]
    net = NetChain([ConvolutionLayer(1, 1), LogisticSigmoid], Input=NetEncoder(("Image", (4, 4), "Grayscale")),
                   Output=NetDecoder(("Image", "Grayscale")))
    result = NetTrain(net, (imgs, imgs), All, MaxTrainingRounds=30, LearningRate=0.05,
                      TrainingProgressReporting=None, RandomSeeding=5)
    assert result["RoundLossList"][-1] < result["RoundLossList"][0]
    out = result["TrainedNet"](imgs[0])
    assert out.shape == (4, 4) and 0 <= out.min() and out.max() <= 1


# -- bad input ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("make, match, tag", [
    (lambda: NetEncoder("Nope"), "not a supported specification", "NetEncoder::invspec"),
    (lambda: NetEncoder(("Image", (0, 3))), "ImageSize", "NetEncoder::invparam"),
    (lambda: NetEncoder(("Image", (1, 2, 3))), "ImageSize", "NetEncoder::invparam"),
    (lambda: NetEncoder(("Image", (4, 4), "RGB", 3)), "at most 2", "NetEncoder::invspec"),
    (lambda: NetEncoder(("Class", []),), "nonempty list", "NetEncoder::invspec"),
    (lambda: NetEncoder(("Class", ["a"], "OneHot")), "OutputForm", "NetEncoder::invparam"),
    (lambda: NetEncoder("Class"), "needs its Labels", "NetEncoder::invspec"),
    (lambda: NetEncoder("Image", Foo=1), "Foo is not a known parameter", "NetEncoder::optx"),
    (lambda: NetEncoder(("Image", 4, "RGB"), ColorSpace="RGB"), "ColorSpace is given twice", "NetEncoder::optx"),
    (lambda: NetEncoder("Image", ColorSpace="CMYK"), "ColorSpace -> \"CMYK\"", "NetEncoder::invparam"),
    (lambda: NetEncoder("Image", Method="Crop"), "Method -> \"Crop\"", "NetEncoder::invparam"),
    (lambda: NetEncoder("Image", Interleaving="yes"), "Interleaving", "NetEncoder::invparam"),
    (lambda: NetEncoder("Image", MeanImage=[0.5, 0.5]), "MeanImage", "NetEncoder::invparam"),
    (lambda: NetEncoder("Image", VarianceImage=0), "VarianceImage", "NetEncoder::invparam"),
    (lambda: NetEncoder("Image", MeanImage="dark"), "MeanImage", "NetEncoder::invparam"),
    (lambda: NetDecoder(("Image", "HSB")), "ColorSpace", "NetDecoder::invparam"),
    (lambda: NetDecoder("Boolean", InputDepth=1), "InputDepth is not a known parameter", "NetDecoder::optx"),
    (lambda: NetEncoder(), "1 expected", "NetEncoder::argx"),
])
def test_bad_specs(make, match, tag):
    with pytest.raises(LayerGraphError, match=match) as err:
        make()
    assert err.value.identifier == tag


def test_bad_inputs_name_the_port_and_leave_the_net_unchanged():
    net = image_net()
    img = R.integers(0, 256, (6, 8, 3), dtype=np.uint8)
    before = net(img, None)
    for bad, match in [(np.zeros(5), r"rank 2 .* received an array of dimensions \{5\}"),
                       (np.zeros((2, 6, 8, 3, 1)), "received an array of dimensions"),
                       (np.zeros((6, 8, 5)), "1 to 4 channels"),
                       (np.zeros((6, 8), dtype=np.int64), "uint8 .* or floats"),
                       (np.full((6, 8), np.nan), "finite"),
                       ("no/such/file.png", "could not be read"),
                       (42, "int is not an image")]:
        with pytest.raises(LayerGraphError, match=match) as err:
            net(bad)
        assert err.value.identifier == "NetEncoder::invinput" and 'port "Input"' in str(err.value)
    labels = NetInitialize(NetChain([LinearLayer(2)], Input=NetEncoder(("Class", ["a", "b"]))))
    with pytest.raises(LayerGraphError, match=r'port "Input" .*"c" is not one of the classes \{"a", "b"\}'):
        labels(["a", "c"])
    with pytest.raises(LayerGraphError, match="nonempty list"):
        NetTrain(net, (img, "pos"), MaxTrainingRounds=1, TrainingProgressReporting=None)
    with pytest.raises(LayerGraphError, match="NetEncoder belongs on an input port") as err:
        NetChain([Ramp], Input=2, Output=NetEncoder("Boolean"))
    assert err.value.identifier == "NetChain::invcoder"
    with pytest.raises(LayerGraphError, match="NetDecoder belongs on an output port"):
        NetGraph({"a": Ramp}, [], Input=NetDecoder("Boolean"))
    with pytest.raises(LayerGraphError, match="NetDecoder belongs on an output port"):
        NetReplacePart(net, {"Input": NetDecoder("Image")})
    with pytest.raises(LayerGraphError, match="compatible"):
        NetChain([ConvolutionLayer(2, 1)], Input=(1, 4, 4), Output=NetDecoder("Image"))   # 2 channels
    with pytest.raises(LayerGraphError, match="compatible"):
        NetChain([LinearLayer(2)], Input=3, Output=NetDecoder("Boolean"))
    np.testing.assert_array_equal(net(img, None), before)
    assert NetExtract(net, "Input") == NetEncoder(("Image", (8, 6)))
