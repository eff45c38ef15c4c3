"""minibatchqueue over the datastores: display, collate, MiniBatchFcn, formats, casts, the pass
functions (next, hasdata, reset, shuffle, partition), the end-of-data error, background readers."""
import numpy as np
import pytest

from layergraph import (LayerGraphError, arrayDatastore, augmentedImageDatastore, cat, categorical, combine, dims,
                        extractdata, hasdata, imageDataAugmenter, minibatchqueue, onehotencode, partition, reset, rng,
                        shuffle, transform)
from layergraph.matlab.dlarray import dlarray

N = 10


def _data():
    X = np.arange(6 * 5 * 1 * N, dtype=np.float64).reshape(6, 5, 1, N, order="F")
    T = categorical(np.array(["b", "a", "c", "a", "b", "c", "a", "b", "c", "a"]))
    return X, T


def _pass(mbq):
    out = []
    while hasdata(mbq):
        out.append(next(mbq))
    return out


def test_display_one_and_two_outputs():
    X, T = _data()
    one = minibatchqueue(arrayDatastore(X, IterationDimension=4))
    assert str(one) == "\n".join([
        "minibatchqueue with 1 output and properties:", "",
        "   Mini-batch creation:",
        "               MiniBatchSize: 128",
        "            PartialMiniBatch: 'return'",
        "                MiniBatchFcn: 'collate'",
        "    PreprocessingEnvironment: 'serial'", "",
        "   Outputs:",
        "                  OutputCast: {'single'}",
        "             OutputAsDlarray: 1",
        "             MiniBatchFormat: {''}",
        "           OutputEnvironment: {'auto'}", ""])
    two = minibatchqueue(augmentedImageDatastore([6, 5], X, T), MiniBatchSize=2, MiniBatchFormat=["SSBC", "BC"])
    text = str(two)
    assert text.startswith("minibatchqueue with 2 outputs and properties:")
    assert "                  OutputCast: {'single'  'single'}" in text
    assert "             OutputAsDlarray: [1 1]" in text
    assert "             MiniBatchFormat: {'SSBC'  'BC'}" in text
    assert "           OutputEnvironment: {'auto'  'auto'}" in text
    assert "               MiniBatchSize: 2" in text


def test_next_on_augmented_datastore_as_the_doc_example():
    """The doc's next example: 'SSBC' on grey images gives SSCB of size H x W x 1 x 2, the
    categorical responses 'BC' give CB of size 1 x 2 (category indices)."""
    X, T = _data()
    mbq = minibatchqueue(augmentedImageDatastore([6, 5], X, T), MiniBatchSize=2, MiniBatchFormat=["SSBC", "BC"])
    A, B = next(mbq)
    assert isinstance(A, dlarray) and dims(A) == "SSCB" and A.shape == (6, 5, 1, 2)
    assert dims(B) == "CB" and B.shape == (1, 2)
    assert A.dtype == np.float32 and B.dtype == np.float32
    np.testing.assert_array_equal(extractdata(A), X[:, :, :, :2].astype(np.float32))
    np.testing.assert_array_equal(extractdata(B), [[2, 1]])    # 'b', 'a' -> category indices 2, 1


def test_collate_arrays_and_partial_batches():
    X, _ = _data()
    ds = arrayDatastore(X, IterationDimension=4)
    batches = _pass(minibatchqueue(ds, MiniBatchSize=4, MiniBatchFormat="SSBC"))
    assert [b.shape for b in batches] == [(6, 5, 1, 4), (6, 5, 1, 4), (6, 5, 1, 2)]
    np.testing.assert_array_equal(np.concatenate([extractdata(b) for b in batches], axis=3), X.astype(np.float32))
    assert len(_pass(minibatchqueue(ds, MiniBatchSize=4, PartialMiniBatch="discard"))) == 2
    # a feature vector per observation (a column): C x N
    F = np.arange(3 * N, dtype=float).reshape(3, N)
    fb = next(minibatchqueue(arrayDatastore(F, IterationDimension=2), MiniBatchSize=N, MiniBatchFormat="CB"))
    assert dims(fb) == "CB" and fb.shape == (3, N)
    np.testing.assert_array_equal(extractdata(fb), F)
    # OutputType 'same': joined along the IterationDimension
    sb = next(minibatchqueue(arrayDatastore(F, IterationDimension=2, OutputType="same"), MiniBatchSize=4))
    np.testing.assert_array_equal(extractdata(sb), F[:, :4])


def test_minibatchfcn_receives_cells_and_gives_numoutputs():
    X, T = _data()
    seen = {}

    def pre(dataX, dataT):
        seen["types"] = (type(dataX), len(dataX), type(dataT))
        return cat(4, *dataX), onehotencode(cat(2, *dataT), 1)

    ds = combine(arrayDatastore(X, IterationDimension=4), arrayDatastore(T))
    mbq = minibatchqueue(ds, MiniBatchSize=3, MiniBatchFcn=pre, MiniBatchFormat=["SSCB", ""])
    A, B = next(mbq)
    assert seen["types"] == (list, 3, list)
    assert dims(A) == "SSCB" and A.shape == (6, 5, 1, 3)
    assert dims(B) == "" and B.shape == (3, 3)
    np.testing.assert_array_equal(extractdata(B), onehotencode(T[:3], 1))
    # one output from a two-variable datastore
    mbq1 = minibatchqueue(ds, 1, MiniBatchSize=3, MiniBatchFcn=lambda dx, dt: cat(4, *dx), MiniBatchFormat="SSCB")
    assert mbq1.NumOutputs == 1 and next(mbq1).shape == (6, 5, 1, 3)
    with pytest.raises(LayerGraphError, match="returned 1 output, but the minibatchqueue has 2"):
        next(minibatchqueue(ds, 2, MiniBatchFcn=lambda dx, dt: cat(4, *dx)))
    with pytest.raises(LayerGraphError, match="numOutputs is 1. With MiniBatchFcn \"collate\""):
        minibatchqueue(ds, 1)


def test_end_of_data_reset_shuffle_partition():
    X, _ = _data()
    mbq = minibatchqueue(arrayDatastore(X, IterationDimension=4), MiniBatchSize=4, OutputAsDlarray=False)
    first = _pass(mbq)
    assert all(isinstance(b, np.ndarray) for b in first)
    with pytest.raises(LayerGraphError) as err:
        next(mbq)
    assert str(err.value) == ("Unable to provide a mini-batch because end of data reached. Use reset or shuffle to "
                              "continue generating mini-batches from the data set.")
    reset(mbq)
    again = _pass(mbq)
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    rng(3)
    shuffle(mbq)
    shuffled = np.concatenate(_pass(mbq), axis=2)     # unformatted: 6 x 5 x N (the singleton C dropped)
    order = [int(v) for v in shuffled[0, 0, :] // (6 * 5)]
    assert sorted(order) == list(range(N)) and order != list(range(N))
    from layergraph.core.initializers import rng as global_rng
    rng(3)
    np.testing.assert_array_equal(order, global_rng().permutation(N))
    part = partition(mbq, 3, 2)       # observations 5..7 of the current (shuffled) order
    got = [int(v) for v in np.concatenate(_pass(part), axis=2)[0, 0, :] // 30]
    assert got == order[4:7]
    assert hasdata(mbq) is False     # partition leaves the original where it was


def test_casts_and_categorical_as_index():
    X, T = _data()
    mbq = minibatchqueue(augmentedImageDatastore([6, 5], X, T), MiniBatchSize=N, OutputCast=["double", "int32"],
                         OutputAsDlarray=[True, False])
    A, B = next(mbq)
    assert A.dtype == np.float64 and isinstance(B, np.ndarray) and B.dtype == np.int32
    np.testing.assert_array_equal(B.ravel(), T.codes + 1)


def test_options_are_checked_and_read_only():
    X, _ = _data()
    ds = arrayDatastore(X, IterationDimension=4)
    for kw, text in [({"MiniBatchSize": 0}, "'MiniBatchSize'"), ({"PartialMiniBatch": "keep"}, "'PartialMiniBatch'"),
                     ({"OutputCast": "half"}, "'OutputCast'"), ({"MiniBatchFormat": "SSXB"}, "'MiniBatchFormat'"),
                     ({"MiniBatchFormat": ["SSCB", "CB"]}, "has 1 output"),
                     ({"PreprocessingEnvironment": "gpu"}, "'PreprocessingEnvironment'"),
                     ({"OutputEnvironment": "gpu"}, "'OutputEnvironment'"), ({"MiniBatchFcn": 3}, "'MiniBatchFcn'")]:
        with pytest.raises(LayerGraphError, match=text):
            minibatchqueue(ds, **kw)
    with pytest.raises(LayerGraphError, match="minibatchqueue takes a datastore"):
        minibatchqueue(X)
    mbq = minibatchqueue(ds)
    with pytest.raises(LayerGraphError, match="read-only"):
        mbq.MiniBatchSize = 3
    with pytest.raises(LayerGraphError, match="Invalid MiniBatchFormat 'CB'"):
        next(minibatchqueue(ds, MiniBatchFormat="CB"))
    bad = transform(arrayDatastore(np.arange(4.0)), lambda c: [np.zeros(int(c[0][0]) + 1)])
    with pytest.raises(LayerGraphError, match="different sizes"):
        next(minibatchqueue(bad, MiniBatchSize=4))


@pytest.mark.parametrize("env", ["background", "parallel"])
def test_background_readers_give_the_serial_batches_with_augmentation(env, monkeypatch):
    from layergraph.data import sources
    monkeypatch.setattr(sources, "WORKERS", 2)     # "parallel": worker processes even on a small machine
    rng(0)
    X = np.random.default_rng(1).random((12, 12, 1, 9))
    aug = imageDataAugmenter(RandXTranslation=[-3, 3], RandYTranslation=[-3, 3])
    ds = augmentedImageDatastore([12, 12], X, DataAugmentation=aug)

    def run(e):
        rng(5)
        mbq = minibatchqueue(ds, MiniBatchSize=4, PreprocessingEnvironment=e, MiniBatchFormat="SSBC")
        out = [extractdata(b) for b in _pass(mbq)]
        shuffle(mbq)
        next(mbq)                                      # a reader stopped mid-pass by reset
        if e == "parallel":
            assert mbq._reader._pool is not None        # read by worker processes
        reset(mbq)
        return out + [extractdata(b) for b in _pass(mbq)]

    serial, other = run("serial"), run(env)
    assert sources._SOURCES == {}                       # the worker processes ended with their pass
    assert len(serial) == 6
    for a, b in zip(serial, other):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(serial[0], X[:, :, :, :4].astype(np.float32))   # augmented


def test_errors_in_the_minibatch_function_name_it():
    X, _ = _data()

    def broken(dx):
        raise ValueError("boom")

    with pytest.raises(LayerGraphError, match="@broken: boom"):
        next(minibatchqueue(arrayDatastore(X, IterationDimension=4), MiniBatchFcn=broken))
    with pytest.raises(LayerGraphError, match="@broken: boom"):
        next(minibatchqueue(arrayDatastore(X, IterationDimension=4), MiniBatchFcn=broken,
                            PreprocessingEnvironment="background"))


def test_cat():
    a, b = np.ones((2, 2)), np.zeros((2, 2))
    assert cat(3, a, b).shape == (2, 2, 2) and cat(1, a, b).shape == (4, 2) and cat(4, a, b).shape == (2, 2, 1, 2)
    c = cat(2, categorical(["x", "y"]), categorical(["y", "x"]))
    assert list(c.labels) == ["x", "y", "y", "x"]
    with pytest.raises(LayerGraphError, match="not consistent"):
        cat(1, np.ones((2, 2)), np.ones((2, 3)))


def test_image_datastore_from_files_and_augmented_labels(tmp_path):
    """imageDatastore: one variable (the image, as MATLAB's read gives); an augmentedImageDatastore
    over it adds the labels, which collate to category indices in the order of the categories."""
    from PIL import Image

    from layergraph import categories, imageDatastore
    g = np.random.default_rng(4)
    pixels = {}
    for k in range(6):
        label = "ab"[k % 2]
        (tmp_path / label).mkdir(exist_ok=True)
        a = g.integers(0, 255, (7, 5), dtype=np.uint8)
        path = tmp_path / label / f"im{k}.png"
        Image.fromarray(a).save(path)
        pixels[str(path)] = a
    imds = imageDatastore(str(tmp_path), IncludeSubfolders=True, LabelSource="foldernames")
    mbq = minibatchqueue(imds, MiniBatchSize=4, MiniBatchFormat="SSBC")
    assert mbq.NumOutputs == 1
    X = next(mbq)
    assert dims(X) == "SSCB" and X.shape == (7, 5, 1, 4)
    for j, f in enumerate(imds.Files[:4]):
        np.testing.assert_array_equal(extractdata(X)[:, :, 0, j], pixels[f].astype(np.float32))
    aug = augmentedImageDatastore([7, 5], imds)
    A, T = next(minibatchqueue(aug, MiniBatchSize=6, MiniBatchFormat=["SSBC", "BC"]))
    cats = categories(imds.Labels)
    want = [cats.index(str(v)) + 1 for v in imds.Labels.labels]
    np.testing.assert_array_equal(extractdata(T).ravel(), want)
