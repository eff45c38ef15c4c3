"""data/: image decoding, resizing and warps (images.py) and sources read ahead in mini-batches
(sources.py): order, the incomplete last batch, restarts, errors, and no threads left behind."""
import threading

import numpy as np
import pytest
from PIL import Image

from layergraph.data import images, sources
from layergraph.train.frontend import as_core, take
from layergraph.core.size import Size


class Numbers(sources.Source):
    n, shapes = 23, {"x": ((2,), np.float64)}

    def __init__(self, bad=None):
        self.bad = bad

    def read(self, indices, rng):
        if self.bad is not None and self.bad in indices:
            raise images.ImageReadError(f"file{self.bad}.png", "broken")
        return {"x": np.stack([np.array([i, -i], np.float64) for i in indices])}


def test_read_modes(tmp_path):
    rgba = np.random.default_rng(0).integers(0, 255, (4, 5, 4)).astype(np.uint8)
    Image.fromarray(rgba).save(tmp_path / "a.png")
    np.testing.assert_array_equal(images.read(tmp_path / "a.png"), rgba[:, :, :3])
    assert images.header(tmp_path / "a.png") == (4, 5, 3)
    gray = rgba[:, :, 0]
    Image.fromarray(gray).save(tmp_path / "g.png")
    assert images.read(tmp_path / "g.png").shape == (4, 5) and images.header(tmp_path / "g.png") == (4, 5, 1)
    Image.fromarray((gray.astype(np.uint16) * 200)).save(tmp_path / "w.png")
    wide = images.read(tmp_path / "w.png")
    assert wide.dtype == np.uint16 and np.array_equal(wide, gray.astype(np.uint16) * 200)
    Image.fromarray(rgba[:, :, :3]).convert("P").save(tmp_path / "p.png")
    assert images.read(tmp_path / "p.png").shape == (4, 5, 3)
    with pytest.raises(images.ImageReadError, match="nothing.png' as an image: the file does not exist"):
        images.read(tmp_path / "nothing.png")


def test_resize_and_warp():
    a = np.random.default_rng(1).integers(0, 255, (6, 9, 3)).astype(np.uint8)
    out = images.resize(a, (4, 5))
    assert out.dtype == np.uint8 and out.shape == (4, 5, 3)
    np.testing.assert_array_equal(out[:, :, 2], np.asarray(Image.fromarray(a[:, :, 2]).resize((5, 4),
                                                                                            Image.BILINEAR)))
    f = a.astype(np.float32) / 255
    assert images.resize(f, (12, 18)).dtype == np.float32
    np.testing.assert_array_equal(images.warp(a, np.eye(3)), a)
    shift = np.eye(3)
    shift[2, 0] = 1                      # one pixel right, row-vector convention
    moved = images.warp(a, shift, fill=[1, 2, 3])
    np.testing.assert_array_equal(moved[:, 1:], a[:, :-1])
    np.testing.assert_array_equal(moved[:, 0], np.tile([1, 2, 3], (6, 1)))


def test_batches_order_partial_and_arrays():
    col = Numbers().column("x")
    y = np.arange(23) * 10
    order = np.random.default_rng(2).permutation(23)
    got = list(sources.batches({"x": col, "y": y}, order, 5))
    assert len(got) == 4                                       # the incomplete last batch dropped
    for b, batch in enumerate(got):
        np.testing.assert_array_equal(batch["x"][:, 0], order[b * 5:(b + 1) * 5])
        np.testing.assert_array_equal(batch["y"], y[order[b * 5:(b + 1) * 5]])
    tail = list(sources.batches({"x": col}, None, 5, start=3, partial=True))
    np.testing.assert_array_equal(np.concatenate([t["x"][:, 0] for t in tail]), np.arange(15, 23))
    # arrays alone: the plain indexing of before, no thread
    before = threading.active_count()
    plain = list(sources.batches({"y": y}, order, 5))
    assert threading.active_count() == before and np.array_equal(plain[1]["y"], y[order[5:10]])
    # a Column stands in for an array: shape, subsets, conversion, the whole
    assert col.shape == (23, 2) and col.ndim == 2 and len(col) == 23
    np.testing.assert_array_equal(np.asarray(col)[:, 1], -np.arange(23))
    sub = take({"x": col}, np.array([4, 2]))["x"]
    np.testing.assert_array_equal(sub[:], [[4, -4], [2, -2]])
    conv = as_core(col, Size((), 2), np.float32)
    assert next(sources.batches({"x": conv}, None, 7))["x"].dtype == np.float32


def test_feed_restarts_and_errors_stop_the_reader():
    col = Numbers().column("x")
    order = np.arange(23)
    feed = sources.Feed({"x": col}, 5)
    np.testing.assert_array_equal(feed.batch(order, 0)["x"][:, 0], np.arange(5))
    np.testing.assert_array_equal(feed.batch(order, 1)["x"][:, 0], np.arange(5, 10))
    np.testing.assert_array_equal(feed.batch(order, 3)["x"][:, 0], np.arange(15, 20))   # a jump: a new reader
    feed.close()
    bad = Numbers(bad=12).column("x")
    stream = sources.batches({"x": bad}, order, 5)
    next(stream)
    next(stream)
    with pytest.raises(sources.SourceError, match="file12.png"):
        next(stream)
    for t in threading.enumerate():
        if t.name == "layergraph-prefetch":
            t.join(timeout=2)
    assert not any(t.name == "layergraph-prefetch" and t.is_alive() for t in threading.enumerate())


def test_data_imports_no_dialect():
    from tests.test_import_graph import import_graph
    g = import_graph()
    wrong = [(m, t) for m in g if m.startswith("layergraph.data") for t in g.successors(m)
             if t.split(".")[1] in ("matlab", "wolfram", "display")]
    assert wrong == []


def test_reader_processes_give_the_same_batches(monkeypatch):
    """With spare cores a training run's batches come from forked reader processes, reused
    across passes; the batches, their order and the errors are those of the thread."""
    import multiprocessing
    if "fork" not in multiprocessing.get_all_start_methods():
        pytest.skip("no fork on this platform")
    monkeypatch.setattr(sources, "WORKERS", 2)
    col = Numbers().column("x")
    order = np.random.default_rng(5).permutation(23)
    feed = sources.Feed({"x": col, "y": np.arange(23)}, 4)
    try:
        first = [feed.batch(order, b) for b in range(5)]
        pool = next(iter(feed._pools.values()))
        assert pool is not None
        again = [feed.batch(order, b) for b in range(5)]        # a new pass, the same pool
        assert next(iter(feed._pools.values())) is pool
        for a, b, k in zip(first, again, range(5)):
            np.testing.assert_array_equal(a["x"][:, 0], order[k * 4:(k + 1) * 4])
            np.testing.assert_array_equal(a["x"], b["x"])
            np.testing.assert_array_equal(a["y"], order[k * 4:(k + 1) * 4])
    finally:
        feed.close()
    assert feed._pools == {} and sources._SOURCES == {}
    bad = sources.Feed({"x": Numbers(bad=9).column("x")}, 4)
    try:
        with pytest.raises(sources.SourceError, match="file9.png"):
            for b in range(5):
                bad.batch(np.arange(23), b)
    finally:
        bad.close()
