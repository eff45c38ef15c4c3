# ruff: noqa: F405  (MATLAB-style names from the star import)
"""read's and readimage's second output (MATLAB's info struct: Filename, FileSize, Label), the
info a transform with IncludeInfo receives and returns, and AlternateFileSystemRoots: files found
under an equivalent root at construction, on assignment and after loading on a machine where the
first root is missing; bad values named, a failed assignment changing nothing."""
import os
import pickle
import shutil

import numpy as np
import pytest
from PIL import Image

from layergraph import LayerGraphError
from layergraph.matlab import *  # noqa: F403
from layergraph.matlab.datastore import _resolve_root


def write_pngs(root, labels=("cat", "dog"), per_label=3):
    """per_label small PNGs per label folder, each of its own size (so FileSize differs)."""
    for label in labels:
        os.makedirs(os.path.join(root, label), exist_ok=True)
        for k in range(per_label):
            side = 4 + k
            img = Image.fromarray((np.arange(side * side).reshape(side, side) * (k + 1) % 255).astype(np.uint8))
            img.save(os.path.join(root, label, f"img{k}.png"))
    return str(root)


@pytest.fixture
def folder(tmp_path):
    return write_pngs(tmp_path / "data")


# -- info --------------------------------------------------------------------------------------------
def test_read_info_one_file(folder):
    imds = imageDatastore(folder, 'IncludeSubfolders', True, 'LabelSource', 'foldernames')
    img, info = read(imds, nargout=2)
    assert set(info) == {"Filename", "FileSize", "Label"}
    assert info.Filename == imds.Files[0] and isinstance(info.Filename, str)
    assert info.FileSize == os.path.getsize(imds.Files[0])
    assert str(info.Label) == "cat"
    assert img.shape == (4, 4)
    # the one-output form reads the next file; info came from the file it read
    img2 = read(imds)
    assert img2.shape == (5, 5)


def test_read_info_several_files(folder):
    imds = imageDatastore(folder, 'IncludeSubfolders', True, 'LabelSource', 'foldernames', 'ReadSize', 4)
    data, info = imds.read(nargout=2)
    assert len(data) == 4 and info.Filename == imds.Files[:4]
    assert info.FileSize.shape == (4, 1)
    np.testing.assert_array_equal(info.FileSize[:, 0], [os.path.getsize(f) for f in imds.Files[:4]])
    assert list(info.Label.labels) == ["cat", "cat", "cat", "dog"]
    data, info = imds.read(nargout=2)   # the last two files: a partial read
    assert info.Filename == imds.Files[4:] and info.FileSize.shape == (2, 1)


def test_readimage_info_and_no_labels(folder):
    imds = imageDatastore(folder, 'IncludeSubfolders', True)
    img, info = readimage(imds, 5, nargout=2)
    assert info.Filename == imds.Files[4] and info.Label == [] and img.shape == (5, 5)
    assert imds.hasdata() and imds.read().shape == (4, 4)   # readimage leaves the read position


def test_bad_nargout(folder):
    imds = imageDatastore(folder, 'IncludeSubfolders', True)
    for bad in (3, 0, True, "2"):
        with pytest.raises(LayerGraphError, match="nargout"):
            read(imds, nargout=bad)
    assert imds.read().shape == (4, 4)   # the failed calls read nothing


def test_transform_include_info(folder):
    imds = imageDatastore(folder, 'IncludeSubfolders', True, 'LabelSource', 'foldernames')
    seen = []

    def fcn(data, info):
        seen.append(info)
        info = dict(info, Tag="doubled")
        return data * 2, info

    tds = transform(imds, fcn, 'IncludeInfo', True)
    data, info = read(tds, nargout=2)
    assert seen[0].Filename == imds.Files[0] and str(seen[0].Label) == "cat"
    assert info["Tag"] == "doubled" and info["Filename"] == imds.Files[0]
    np.testing.assert_array_equal(data, readimage(imds, 1).astype(data.dtype) * 2)
    # without IncludeInfo the info is the underlying datastore's
    plain = transform(imds, lambda x: x)
    _, info = read(plain, nargout=2)
    assert info.Filename == imds.Files[0]


def test_combine_info(folder):
    a = imageDatastore(folder, 'IncludeSubfolders', True)
    b = arrayDatastore(np.arange(6.0))
    _, info = read(combine(a, b), nargout=2)
    assert isinstance(info, list) and len(info) == 2
    assert info[0].Filename == a.Files[0] and dict(info[1]) == {}


# -- AlternateFileSystemRoots -----------------------------------------------------------------------
def test_construction_from_an_equivalent_root(folder, tmp_path):
    roots = ["Z:\\datasets", folder]
    imds = imageDatastore("Z:\\datasets", 'IncludeSubfolders', True, 'LabelSource', 'foldernames',
                          'AlternateFileSystemRoots', roots)
    assert len(imds.Files) == 6 and all(f.startswith(folder) for f in imds.Files)
    assert list(imds.Labels.labels) == ["cat"] * 3 + ["dog"] * 3
    assert imds.AlternateFileSystemRoots == roots
    assert f'AlternateFileSystemRoots: ["Z:\\datasets"    "{folder}"]' in str(imds)
    # a subfolder of the root maps too, with Windows separators
    sub = imageDatastore("Z:\\datasets\\dog", 'AlternateFileSystemRoots', roots)
    assert sub.Files == [os.path.join(folder, "dog", f"img{k}.png") for k in range(3)]


def test_loading_where_the_first_root_is_missing(tmp_path):
    here = write_pngs(tmp_path / "machine1" / "datasets")
    there = str(tmp_path / "machine2" / "datasets")
    imds = imageDatastore(here, 'IncludeSubfolders', True, 'LabelSource', 'foldernames',
                          'AlternateFileSystemRoots', [[here, there]])
    assert "AlternateFileSystemRoots: {1x1 cell}" in str(imds)
    saved = pickle.dumps(imds)
    shutil.move(here, there)          # the data now lives under the other root only
    loaded = pickle.loads(saved)
    assert loaded.Files == [f.replace(here, there) for f in imds.Files]
    assert loaded.read().shape == (4, 4)
    assert list(loaded.Labels.labels) == list(imds.Labels.labels)
    # without the roots, the loaded datastore keeps the old paths and says which file is missing
    plain = imageDatastore(there, 'IncludeSubfolders', True)
    shutil.move(there, here)
    with pytest.raises(LayerGraphError, match="img0.png"):
        pickle.loads(pickle.dumps(plain)).read()


def test_assigning_roots(tmp_path):
    here = write_pngs(tmp_path / "a" / "data")
    imds = imageDatastore(here, 'IncludeSubfolders', True)
    there = str(tmp_path / "b" / "data")
    shutil.copytree(here, there)
    imds.read()
    imds.AlternateFileSystemRoots = ["/nonexistent/data", there]
    assert imds.Files[0].startswith(here)   # existing files stay where they are
    assert imds.hasdata() and imds.read().shape == (4, 4)   # assignment resets the read position
    assert _resolve_root("/nonexistent/data/cat/img1.png", (("/nonexistent/data", there),)) == \
        os.path.join(there, "cat", "img1.png")
    assert _resolve_root("/elsewhere/cat/img1.png", (("/nonexistent/data", there),)) == "/elsewhere/cat/img1.png"


@pytest.mark.parametrize("bad, why", [
    (["only/one"], "at least two"),
    (["Z:\\datasets", "x"], "fewer than 2 characters"),
    (["/data/a", "/data/a/"], "given twice"),
    ([["/data", "/mnt/x"], ["/data/sub", "/mnt/y"]], "subfolders of each other"),
    ("Z:\\datasets", "not a list"),
    ([["/data", 3]], "not a list of root paths"),
])
def test_bad_roots(folder, bad, why):
    imds = imageDatastore(folder, 'IncludeSubfolders', True)
    before = (imds.Files, imds.AlternateFileSystemRoots, str(imds))
    with pytest.raises(LayerGraphError, match="AlternateFileSystemRoots") as err:
        imds.AlternateFileSystemRoots = bad
    assert why in str(err.value)
    assert (imds.Files, imds.AlternateFileSystemRoots, str(imds)) == before
    with pytest.raises(LayerGraphError, match=why):
        imageDatastore(folder, 'IncludeSubfolders', True, 'AlternateFileSystemRoots', bad)


def test_roots_must_cover_the_location(folder):
    with pytest.raises(LayerGraphError, match="at least one root path"):
        imageDatastore(folder, 'IncludeSubfolders', True, 'AlternateFileSystemRoots', ["/x/data", "/y/data"])
