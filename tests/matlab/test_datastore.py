# ruff: noqa: F405  (MATLAB-style names from the star import)
"""MATLAB's datastores (matlab/datastore.py) on folders of PNG files written from
scikit-learn's digits: listing, labels, printouts, splits, augmentation geometry, and training,
prediction and validation that stream from the files and equal the same images in memory."""
import os
import warnings

import numpy as np
import pytest
from PIL import Image
from sklearn.datasets import load_digits

from layergraph import LayerGraphError
from layergraph.matlab import *  # noqa: F403
from layergraph.matlab.datastore import _short_path

DIGITS = load_digits()


def write_digits(root, n=200, size=None, start=0):
    """n digits as 8-bit grayscale PNGs in root/<label>/digit<k>.png (pixel = value * 15)."""
    for k in range(start, start + n):
        folder = os.path.join(root, str(DIGITS.target[k]))
        os.makedirs(folder, exist_ok=True)
        img = Image.fromarray((DIGITS.images[k] * 15).astype(np.uint8))
        if size is not None:
            img = img.resize(size)
        img.save(os.path.join(folder, f"digit{k}.png"))
    return str(root)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return write_digits(tmp_path_factory.mktemp("digits"))


def net_layers():
    return LayerArray([imageInputLayer([8, 8, 1]), convolution2dLayer(3, 4, 'Padding', 1), batchNormalizationLayer,
                       reluLayer, fullyConnectedLayer(10), softmaxLayer, classificationLayer])


def in_memory(ds):
    return np.stack(ds.readall(), axis=-1)[:, :, None, :]


def same_weights(a, b):
    for la, lb in zip(a.Layers, b.Layers):
        for p in ("Weights", "Bias", "TrainedMean", "TrainedVariance", "Mean"):
            va, vb = getattr(la, p, None), getattr(lb, p, None)
            if va is not None or vb is not None:
                assert np.array_equal(va, vb), (la.Name, p)
    return True


# -- imageDatastore -----------------------------------------------------------------------------------
def test_listing_labels_and_printout(folder):
    imds = imageDatastore(folder, 'IncludeSubfolders', True, 'LabelSource', 'foldernames')
    assert len(imds.Files) == 200 and imds.Files == sorted(imds.Files)
    assert [os.path.basename(os.path.dirname(f)) for f in imds.Files] == list(imds.Labels.labels)
    assert imds.Labels.categories == [str(d) for d in range(10)]
    text = str(imds)
    assert text.startswith("  ImageDatastore with properties:\n\n                       Files: {\n")
    # a path longer than the display's width shows as ' .../' and its last folders (as under pytest-xdist)
    assert f"                              '{_short_path(imds.Files[0])}';\n" in text
    assert "                               ... and 197 more\n                              }\n" in text
    assert "                      Labels: [0; 0; 0 ... and 197 more categorical]\n" in text
    assert text.endswith("    AlternateFileSystemRoots: {}\n                    ReadSize: 1\n"
                         "                     ReadFcn: @readDatastoreImage\n")
    # without IncludeSubfolders the top folder has no image files
    with pytest.raises(LayerGraphError, match="contains no files with the extensions"):
        imageDatastore(folder)
    only = imageDatastore(os.path.join(folder, "3"))
    assert len(only.Files) == sum(DIGITS.target[:200] == 3) and list(only.Labels) == []
    wild = imageDatastore(os.path.join(folder, "*", "digit1*.png"))
    assert all(os.path.basename(f).startswith("digit1") for f in wild.Files)


def test_count_read_reset_and_functions(folder):
    imds = imageDatastore(folder, 'IncludeSubfolders', True, 'LabelSource', 'foldernames')
    t = countEachLabel(imds)
    assert t.columns == ("Label", "Count")
    assert [int(c) for c in t.Count] == [int(np.sum(DIGITS.target[:200] == d)) for d in range(10)]
    assert "    Label    Count\n    _____    _____\n\n    0        " in str(t)
    first = read(imds)
    assert first.dtype == np.uint8 and first.shape == (8, 8)
    np.testing.assert_array_equal(first, np.asarray(Image.open(imds.Files[0])))
    while hasdata(imds):
        read(imds)
    with pytest.raises(LayerGraphError, match="No more data to read"):
        read(imds)
    reset(imds)
    np.testing.assert_array_equal(read(imds), first)
    np.testing.assert_array_equal(readimage(imds, 2), np.asarray(Image.open(imds.Files[1])))
    np.testing.assert_array_equal(preview(imds), first)
    imds.ReadSize = 5
    reset(imds)
    assert len(read(imds)) == 5
    assert len(readall(imds)) == 200
    sub = subset(imds, [3, 1])
    assert sub.Files == [imds.Files[2], imds.Files[0]] and list(sub.Labels) == [imds.Labels[2], imds.Labels[0]]
    parts = [partition(imds, 3, k) for k in (1, 2, 3)]
    assert sum((p.Files for p in parts), []) == imds.Files and numpartitions(imds) == 200
    rng(5)
    s1 = shuffle(imds)
    rng(5)
    s2 = shuffle(imds)
    assert s1.Files == s2.Files != imds.Files
    assert [os.path.basename(os.path.dirname(f)) for f in s1.Files] == list(s1.Labels.labels)
    custom = imageDatastore(folder, 'IncludeSubfolders', True, 'ReadFcn', lambda f: np.asarray(Image.open(f)) // 2)
    np.testing.assert_array_equal(read(custom), first // 2)
    with pytest.raises(LayerGraphError, match="contains no files with the extensions .jpg"):
        imageDatastore(folder, 'IncludeSubfolders', True, 'FileExtensions', '.jpg')


def test_split_each_label(folder):
    imds = imageDatastore(folder, 'IncludeSubfolders', True, 'LabelSource', 'foldernames')
    counts = {str(d): int(np.sum(DIGITS.target[:200] == d)) for d in range(10)}
    a, b = splitEachLabel(imds, 0.7)
    for d, c in counts.items():
        files = [f for f in imds.Files if os.path.basename(os.path.dirname(f)) == d]
        got = [f for f in a.Files if os.path.basename(os.path.dirname(f)) == d]
        assert got == files[:int(np.floor(0.7 * c))]          # rounded down, the first files
    assert sorted(a.Files + b.Files) == sorted(imds.Files) and not set(a.Files) & set(b.Files)
    x, y, z = splitEachLabel(imds, 5, 3)
    assert [int(c) for c in countEachLabel(x).Count] == [5] * 10
    assert [int(c) for c in countEachLabel(y).Count] == [3] * 10
    assert len(z.Files) == 200 - 80
    rng(1)
    r1, _ = splitEachLabel(imds, 10, 'randomized')
    rng(1)
    r2, _ = splitEachLabel(imds, 10, 'randomize')
    assert r1.Files == r2.Files and [int(c) for c in countEachLabel(r1).Count] == [10] * 10
    only, rest = splitEachLabel(imds, 2, 'Include', ['1', '2'])
    assert only.Labels.categories == ['1', '2'] and len(only.Files) == 4
    with pytest.raises(LayerGraphError, match="cannot take 50 files of label"):
        splitEachLabel(imds, 50)
    with pytest.raises(LayerGraphError, match="all fractions"):
        splitEachLabel(imds, 0.5, 3)
    with pytest.raises(LayerGraphError, match="Labels property of the datastore is empty"):
        splitEachLabel(imageDatastore(os.path.join(folder, "1")), 0.5)


def test_bad_input_names_the_file_or_folder(tmp_path, folder):
    with pytest.raises(LayerGraphError, match="Cannot find files or folders matching: '.*nowhere'"):
        imageDatastore(str(tmp_path / "nowhere"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(LayerGraphError, match="empty' contains no files"):
        imageDatastore(str(tmp_path / "empty"))
    note = tmp_path / "notes.txt"
    note.write_text("hello")
    with pytest.raises(LayerGraphError, match="non-standard file extensions: '.*notes.txt'"):
        imageDatastore(str(note))
    imds = imageDatastore(folder, 'IncludeSubfolders', True, 'LabelSource', 'foldernames')
    with pytest.raises(LayerGraphError, match="Expected Labels to have 200 elements"):
        imds.Labels = ["a", "b"]
    # not an image, under an image extension: named before training starts
    bad = tmp_path / "bad"
    write_digits(bad, 30)
    fake = bad / "1" / "fake.png"
    fake.write_text("not a png")
    ds = imageDatastore(str(bad), 'IncludeSubfolders', True, 'LabelSource', 'foldernames')
    opts = trainingOptions('sgdm', 'MaxEpochs', 1, 'MiniBatchSize', 8, 'Verbose', False)
    with pytest.raises(LayerGraphError, match="fake.png"):
        trainNetwork(ds, net_layers(), opts)
    # mixed sizes without a resize
    fake.unlink()
    Image.fromarray(np.zeros((9, 8), np.uint8)).save(bad / "2" / "big.png")
    ds = imageDatastore(str(bad), 'IncludeSubfolders', True, 'LabelSource', 'foldernames')
    with pytest.raises(LayerGraphError, match="big.png' holds an image of size 9x8x1.*augmentedImageDatastore"):
        trainNetwork(ds, net_layers(), opts)
    # labels that do not match the network
    (bad / "2" / "big.png").unlink()
    ds = imageDatastore(str(bad), 'IncludeSubfolders', True, 'LabelSource', 'foldernames')
    layers = net_layers()
    layers = LayerArray([*list(layers)[:4], fullyConnectedLayer(3), softmaxLayer, classificationLayer])
    with pytest.raises(LayerGraphError, match=r"output size \(3\) of the last layer does not match the number of "
                                              r"classes \(10\)"):
        trainNetwork(ds, layers, opts)


def test_corrupt_file_during_training_stops_with_its_name(tmp_path):
    root = write_digits(tmp_path / "d", 64)
    imds = imageDatastore(root, 'IncludeSubfolders', True, 'LabelSource', 'foldernames')
    victim = imds.Files[40]
    assert os.path.basename(victim) == "digit16.png"
    data = open(victim, "rb").read()
    with open(victim, "wb") as f:        # the header survives, the pixels do not
        f.write(data[:41] + b"\xff" * (len(data) - 41))
    opts = trainingOptions('sgdm', 'MaxEpochs', 3, 'MiniBatchSize', 16, 'Verbose', False, 'Shuffle', 'never')
    # the normalization statistics read every file first: the error comes before training
    with pytest.raises(LayerGraphError, match="digit16.png' as an image"):
        trainNetwork(imds, net_layers(), opts)
    layers = LayerArray([imageInputLayer([8, 8, 1], 'Normalization', 'none'), *list(net_layers())[1:]])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        net, info = trainNetwork(imds, layers, opts)
    assert os.path.basename(victim) in info.StopReason and "iteration 3" in info.StopReason
    assert any(os.path.basename(victim) in str(w.message) for w in caught)
    assert len(info.TrainingLoss) == 2 and type(net).__name__ == "SeriesNetwork"


# -- training and prediction ---------------------------------------------------------------------------
def test_training_from_files_equals_training_in_memory(folder):
    imds = imageDatastore(folder, 'IncludeSubfolders', True, 'LabelSource', 'foldernames')
    rng(3)
    train, val = splitEachLabel(imds, 0.75, 'randomized')
    layers = net_layers()

    def options(validation):
        return trainingOptions('sgdm', 'MaxEpochs', 3, 'MiniBatchSize', 16, 'Verbose', False,
                               'Shuffle', 'every-epoch', 'ValidationData', validation, 'ValidationFrequency', 5)
    rng(0)
    net_ds, info_ds = trainNetwork(train, layers, options(val))
    rng(0)
    net_mem, info_mem = trainNetwork(in_memory(train), train.Labels, layers, options((in_memory(val), val.Labels)))
    assert same_weights(net_ds, net_mem)
    np.testing.assert_array_equal(info_ds.TrainingLoss, info_mem.TrainingLoss)
    np.testing.assert_array_equal(info_ds.ValidationLoss, info_mem.ValidationLoss)
    labels, scores = classify(net_ds, val)
    labels_mem, scores_mem = classify(net_mem, in_memory(val))
    np.testing.assert_array_equal(scores, scores_mem)
    np.testing.assert_array_equal(labels, labels_mem)
    np.testing.assert_array_equal(predict(net_ds, val, 'MiniBatchSize', 7),
                                  predict(net_mem, in_memory(val), 'MiniBatchSize', 7))
    np.testing.assert_array_equal(activations(net_ds, val, net_ds.Layers[3].Name),
                                  activations(net_mem, in_memory(val), net_mem.Layers[3].Name))
    assert "ValidationData: [1x1 matlab.io.datastore.ImageDatastore]" in str(options(val))


def test_reader_processes_train_the_same(folder, monkeypatch):
    """Forked reader processes (a machine with spare cores), an augmenting datastore with a
    lambda among its functions: the weights of the thread's run."""
    import multiprocessing

    from layergraph.data import sources
    if "fork" not in multiprocessing.get_all_start_methods():
        pytest.skip("no fork on this platform")
    imds = imageDatastore(folder, 'IncludeSubfolders', True, 'LabelSource', 'foldernames')
    aug = augmentedImageDatastore([8, 8], transform(imds, lambda im: im).UnderlyingDatastores[0],
                                  'DataAugmentation', imageDataAugmenter('RandRotation', lambda: 10.0,
                                                                         'RandXTranslation', [-1, 1]))
    opts = trainingOptions('sgdm', 'MaxEpochs', 2, 'MiniBatchSize', 32, 'Verbose', False, 'Shuffle', 'every-epoch')
    started = []
    real = sources._Pool.of
    monkeypatch.setattr(sources._Pool, "of", staticmethod(lambda s, w: started.append(real(s, w)) or started[-1]))
    runs, pools = [], []
    for workers in (0, 2):
        monkeypatch.setattr(sources, "WORKERS", workers)
        started.clear()
        rng(0)
        runs.append(trainNetwork(aug, net_layers(), opts))
        pools.append(list(started))
    assert all(p is None for p in pools[0]) and all(p is not None for p in pools[1])  # threads, then processes
    assert len(pools[1]) >= 3               # input statistics, the training run, population statistics
    assert same_weights(runs[0][0], runs[1][0])
    np.testing.assert_array_equal(runs[0][1].TrainingLoss, runs[1][1].TrainingLoss)


def test_prefetch_reads_ahead_on_another_thread(folder, monkeypatch):
    """The batches of a source come from a reader thread (where no worker processes read), at
    most DEPTH ahead."""
    import threading
    import time
    from layergraph.data import sources
    monkeypatch.setattr(sources, "WORKERS", 0)

    seen = []

    class Slow(sources.Source):
        n, shapes = 40, {"x": ((1,), np.float32)}

        def read(self, indices, rng):
            seen.append((threading.current_thread().name, time.perf_counter()))
            return {"x": np.asarray(indices, np.float32)[:, None]}

    col = Slow().column("x")
    order = np.random.default_rng(0).permutation(40)
    stream = sources.batches({"x": col, "y": np.arange(40)}, order, 4)
    first = next(stream)
    time.sleep(0.2)                       # the reader fills its queue meanwhile
    assert sources.DEPTH <= len(seen) <= sources.DEPTH + 2    # ahead of the consumer, but bounded
    assert all(name == "layergraph-prefetch" for name, _ in seen)
    rest = list(stream)
    got = np.concatenate([first["x"][:, 0]] + [b["x"][:, 0] for b in rest])
    np.testing.assert_array_equal(got, order)
    np.testing.assert_array_equal(np.concatenate([first["y"]] + [b["y"] for b in rest]), order)


# -- imageDataAugmenter and augmentedImageDatastore ------------------------------------------------------
def test_augmenter_defaults_and_printout():
    aug = imageDataAugmenter()
    assert str(aug) == (
        "  imageDataAugmenter with properties:\n\n"
        "           FillValue: 0\n     RandXReflection: 0\n     RandYReflection: 0\n"
        "        RandRotation: [0 0]\n           RandScale: [1 1]\n          RandXScale: [1 1]\n"
        "          RandYScale: [1 1]\n          RandXShear: [0 0]\n          RandYShear: [0 0]\n"
        "    RandXTranslation: [0 0]\n    RandYTranslation: [0 0]\n")
    shown = str(imageDataAugmenter('RandXScale', [0.9, 1.1], 'RandXTranslation', [-2, 2]))
    assert "          RandXScale: [0.9000 1.1000]\n" in shown and "    RandXTranslation: [-2 2]\n" in shown
    with pytest.raises(LayerGraphError, match="RandScale cannot be combined"):
        imageDataAugmenter('RandScale', [0.5, 2], 'RandXScale', [1, 2])
    with pytest.raises(LayerGraphError, match="'RandXShear'"):
        imageDataAugmenter('RandXShear', [-95, 0])
    with pytest.raises(LayerGraphError, match="Unrecognized property 'RandFlip'"):
        imageDataAugmenter().RandFlip = True


def test_augmentation_geometry():
    R = np.random.default_rng(0)
    img = R.integers(1, 255, (7, 7)).astype(np.uint8)
    gen = np.random.default_rng

    def fixed(**kw):
        return imageDataAugmenter(**kw)
    # reflections: a flip when the draw says so, and it is drawn before anything else
    flip = fixed(RandXReflection=True).augment(img, gen(0))
    assert np.array_equal(flip, img[:, ::-1]) == (gen(0).random() < 0.5)
    both = fixed(RandXReflection=True, RandYReflection=True)
    g = gen(4)
    u1, u2 = g.random(), g.random()
    want = img[:, ::-1] if u1 < 0.5 else img
    want = want[::-1] if u2 < 0.5 else want
    np.testing.assert_array_equal(both.augment(img, gen(4)), want)
    # a rotation of 90 degrees about the centre is np.rot90 (counterclockwise on the screen)
    np.testing.assert_array_equal(fixed(RandRotation=[90, 90]).augment(img, gen(0)), np.rot90(img))
    # an integer translation shifts, and what comes in from outside is FillValue
    moved = fixed(RandXTranslation=[2, 2], RandYTranslation=[-1, -1], FillValue=7).augment(img, gen(0))
    want = np.full_like(img, 7)
    want[:6, 2:] = img[1:, :5]
    np.testing.assert_array_equal(moved, want)
    # rotation first, then translation: a point's path, by hand, through the bilinear warp
    aug = fixed(RandRotation=[90, 90], RandXTranslation=[1, 1])
    np.testing.assert_array_equal(aug.augment(img, gen(0)), fixed(RandXTranslation=[1, 1]).augment(np.rot90(img),
                                                                                                  gen(0)))
    # a scale about the centre keeps the centre pixel, and a float image is interpolated bilinearly
    f = np.arange(25, dtype=np.float64).reshape(5, 5)
    half = fixed(RandScale=[2, 2]).augment(f, gen(0))
    assert half[2, 2] == f[2, 2] and half[2, 3] == pytest.approx((f[2, 2] + f[2, 3]) / 2)
    # the same transform for every image of a cell
    pair = fixed(RandRotation=[-30, 30]).augment([img, img], gen(2))
    np.testing.assert_array_equal(pair[0], pair[1])


def test_augmented_datastore(folder, tmp_path):
    imds = imageDatastore(folder, 'IncludeSubfolders', True, 'LabelSource', 'foldernames')
    aug = augmentedImageDatastore([12, 10], imds, 'ColorPreprocessing', 'gray2rgb')
    assert str(aug) == ("  augmentedImageDatastore with properties:\n\n"
                        "         NumObservations: 200\n           MiniBatchSize: 128\n"
                        "        DataAugmentation: 'none'\n      ColorPreprocessing: 'gray2rgb'\n"
                        "              OutputSize: [12 10]\n          OutputSizeMode: 'resize'\n"
                        "    DispatchInBackground: 0\n")
    t = read(aug)
    assert len(t) == 128 and t.columns == ("input", "response")
    assert t.input[0].shape == (12, 10, 3) and t.input[0].dtype == np.uint8
    assert str(t.response[0]) == str(imds.Labels[0])
    src = np.asarray(Image.open(imds.Files[0]))
    want = np.asarray(Image.fromarray(src).resize((10, 12), Image.BILINEAR))
    np.testing.assert_array_equal(t.input[0][:, :, 1], want)
    assert len(read(aug)) == 72 and not hasdata(aug)
    crop = augmentedImageDatastore([4, 6], imds, 'OutputSizeMode', 'centercrop')
    np.testing.assert_array_equal(read(crop).input[0], src[2:6, 1:7])
    with pytest.raises(LayerGraphError, match="crop size 9x6 is larger"):
        read(augmentedImageDatastore([9, 6], imds, 'OutputSizeMode', 'centercrop'))
    X = in_memory(imds)
    arr = augmentedImageDatastore([8, 8], X, imds.Labels)
    assert arr.NumObservations == 200
    # training through an augmenting datastore is deterministic for a seed
    big = write_digits(tmp_path / "big", 60, size=(10, 10))
    ds = imageDatastore(big, 'IncludeSubfolders', True, 'LabelSource', 'foldernames')
    augmenter = imageDataAugmenter('RandRotation', [-15, 15], 'RandXTranslation', [-1, 1])
    train = augmentedImageDatastore([8, 8], ds, 'DataAugmentation', augmenter)
    opts = trainingOptions('sgdm', 'MaxEpochs', 2, 'MiniBatchSize', 16, 'Verbose', False, 'Shuffle', 'every-epoch')
    rng(0)
    a, ia = trainNetwork(train, net_layers(), opts)
    rng(0)
    b, ib = trainNetwork(train, net_layers(), opts)
    assert same_weights(a, b) and np.all(np.isfinite(ia.TrainingLoss))


# -- arrayDatastore, combine, transform ---------------------------------------------------------------------
def test_array_combine_transform(folder):
    imds = imageDatastore(folder, 'IncludeSubfolders', True, 'LabelSource', 'foldernames')
    X = in_memory(imds)
    adsX = arrayDatastore(X, 'IterationDimension', 4)
    first = read(adsX)
    assert isinstance(first, list) and first[0].shape == (8, 8, 1, 1)
    same = arrayDatastore(np.arange(10).reshape(5, 2), 'OutputType', 'same', 'ReadSize', 2)
    np.testing.assert_array_equal(read(same), [[0, 1], [2, 3]])
    adsY = arrayDatastore(imds.Labels)
    cds = combine(adsX, adsY)
    row = read(cds)
    assert len(row) == 2 and row[1].labels[0] == imds.Labels[0]
    tds = transform(imds, lambda im: [im.astype(np.float32) / 2])
    np.testing.assert_array_equal(read(tds)[0], readimage(imds, 1) / 2)
    assert "UnderlyingDatastores: {1x1 matlab.io.datastore.ArrayDatastore; 1x1 matlab.io.datastore." \
           "ArrayDatastore}" in str(cds)
    opts = trainingOptions('sgdm', 'MaxEpochs', 2, 'MiniBatchSize', 16, 'Verbose', False, 'Shuffle', 'every-epoch')
    rng(0)
    a, ia = trainNetwork(cds, net_layers(), opts)
    rng(0)
    b, ib = trainNetwork(X, imds.Labels, net_layers(), opts)
    assert same_weights(a, b)
    np.testing.assert_array_equal(ia.TrainingLoss, ib.TrainingLoss)
    with pytest.raises(LayerGraphError, match="must give the predictors and the responses"):
        trainNetwork(adsX, net_layers(), opts)


def test_read_progress_and_verbose_training(folder, capsys):
    from io import StringIO

    from rich.console import Console

    from layergraph.display.reading import ReadProgress
    out = StringIO()
    bar = ReadProgress("Reading the training data", console=Console(file=out, force_terminal=True, width=100))
    for k in range(1, 5):
        bar(k * 10, 40)
    assert "Reading the training data" in out.getvalue() and "40/40" in out.getvalue()
    assert bar._bar is None                                    # closed at the end of the pass
    imds = imageDatastore(folder, 'IncludeSubfolders', True, 'LabelSource', 'foldernames')
    opts = trainingOptions('sgdm', 'MaxEpochs', 1, 'MiniBatchSize', 50, 'VerboseFrequency', 1)
    trainNetwork(imds, net_layers(), opts)
    text = capsys.readouterr().out
    assert "Initializing input data normalization." in text and "|  Epoch  |  Iteration  |" in text
    assert "Training finished: Max epochs completed." in text
