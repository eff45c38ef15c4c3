"""Training the seed CNN from a folder of PNG files against training it from the same images
in memory (issue 15's goal: the folder at 90 % or more of the in-memory images/s).

    python benchmarks/bench_datastore.py [--rounds 3] [--repeats 3] [--threads 2] [--files 2560]

Each side runs in its own processes (benchmarks/_harness.py), alternating. Both write the
same folder of 32x32 RGB PNG files (one folder per class, as MATLAB's DigitDataset), then
time ``trainNetwork`` for 2 epochs of mini-batches of 128 after one warm-up run: "memory"
decodes every file into an H x W x C x N array first (not timed) and trains on the array;
"folder" trains on ``imageDatastore(folder, 'IncludeSubfolders', true, 'LabelSource',
'foldernames')``, so every epoch decodes the files again, ahead of the kernels (data/sources.py:
worker processes where the machine has cores to spare, else one background thread). The table
gives the median seconds per run and "memory / folder": the folder's images/s as a fraction of
the in-memory images/s.
"""
from __future__ import annotations

import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nets
from _harness import main, timed

EPOCHS, BATCH = 2, 128
FILES = int(os.environ.get("BENCH_DATASTORE_FILES", "2560"))
CASES = [[FILES]]


def _folder(root, n):
    """n PNG files of 32x32x3 smooth random images in root/<class>/, the class in the name."""
    import numpy as np
    from PIL import Image
    g = np.random.default_rng(0)
    for k in range(n):
        c = k % nets.CLASSES
        os.makedirs(os.path.join(root, f"c{c}"), exist_ok=True)
        base = g.random((8, 8, 3)) * 0.5 + c / (2 * nets.CLASSES)
        img = np.kron(base, np.ones((4, 4, 1))) + g.random((32, 32, 3)) * 0.1
        Image.fromarray(np.clip(img * 255, 0, 255).astype(np.uint8)).save(os.path.join(root, f"c{c}", f"{k}.png"))
    return root


def _layers():
    import layergraph as L
    return [*nets.matlab_layers("seed"), L.classificationLayer]


def _run(source_of, repeat, warmup, n):
    import layergraph as L
    with tempfile.TemporaryDirectory() as tmp:
        imds = L.imageDatastore(_folder(tmp, n), "IncludeSubfolders", True, "LabelSource", "foldernames")
        data = source_of(imds)
        options = nets.matlab_options(epochs=EPOCHS, batch=BATCH)
        return timed(lambda: L.trainNetwork(*data, _layers(), options), repeat, warmup)


def memory(case, repeat, warmup):
    import numpy as np

    def in_memory(imds):
        X = np.stack(imds.readall(), axis=3).astype(np.float32)
        return X, imds.Labels
    return _run(in_memory, repeat, warmup, case[0])


def folder(case, repeat, warmup):
    return _run(lambda imds: (imds,), repeat, warmup, case[0])


if __name__ == "__main__":
    main(os.path.abspath(__file__), {"memory": memory, "folder": folder}, CASES, "folder",
         lambda c: f"seed CNN, trainNetwork, {c[0]} PNG files 32x32x3, {EPOCHS} epochs of {BATCH}",
         repeat=3, warmup=1, rounds=3)
