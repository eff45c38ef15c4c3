"""MATLAB's datastores: imageDatastore, augmentedImageDatastore, imageDataAugmenter,
arrayDatastore, combine and transform, each with MATLAB's functions and printout.

Every datastore here reads by observation: ``_native(i, rng)`` is what ``read`` gives for
observation i alone (an image for an imageDatastore, a one-row table for an augmented one, a
1 x 1 cell for an arrayDatastore), and ``_columns`` turns such a read into the row that
trainNetwork sees (predictors, then responses). ``read``/``hasdata``/``reset`` walk the
observations in order; trainNetwork, predict and classify read them by index through a
``data.sources.Source`` (``source``), in mini-batches read ahead of the kernels.

Random draws (shuffle, splitEachLabel 'randomized', augmentation in ``read``) come from
layergraph's ``rng`` (MATLAB's global generator); in training, augmentation draws come from a
generator that the run's seed fixes (``data/sources.py``).
"""
from __future__ import annotations

import glob
import math
import os

import numpy as np

from ..core import conventions as cv
from ..core.errors import LayerGraphError
from ..core.initializers import rng as global_rng
from ..data import images
from ..data.sources import Source
from ..display.matlab_format import format_size, format_value
from .args import parse
from .categorical import Categorical
from .table import Struct, Table


# imformats' extensions (MATLAB's default FileExtensions); Pillow decodes most of them, and a
# file it cannot decode is reported by name
IMFORMATS = (".bmp", ".cur", ".fts", ".fits", ".gif", ".hdf", ".ico", ".j2c", ".j2k", ".jp2", ".jpf", ".jpx",
             ".jpg", ".jpeg", ".pbm", ".pcx", ".pgm", ".png", ".pnm", ".ppm", ".ras", ".tif", ".tiff", ".xwd")
PATH_WIDTH = 60   # a longer path is shown as ' ...' and its last folders, as MATLAB shortens them


def readDatastoreImage(filename):
    """The default ReadFcn: the image's pixels as imread gives them (uint8 H x W or H x W x 3)."""
    return images.read(filename)


class Label:
    """One categorical value in a table (countEachLabel's Label, a read's response): shown as
    MATLAB shows a categorical, equal to its text."""

    def __init__(self, text):
        self.text = str(text)

    def __str__(self):
        return self.text

    __repr__ = __str__

    def __eq__(self, other):
        return self.text == (other.text if isinstance(other, Label) else str(other))

    def __hash__(self):
        return hash(self.text)


def _is_datastore(value) -> bool:
    return isinstance(value, _Datastore)


def _as_list(value) -> list:
    if isinstance(value, (str, os.PathLike)):
        return [value]
    if isinstance(value, (list, tuple, np.ndarray)):
        return list(value)
    raise LayerGraphError(f"Invalid location: {value!r}. Expected a folder or file name, or a list of them.",
                          "MATLAB:datastoreio:pathlookup:invalidFilesInput")


class _Datastore:
    """What every datastore here shares: the read position and the functions on it."""

    class_name = "Datastore"
    random = False            # whether reading draws random numbers (augmentation)

    def __init__(self):
        self._pos = 0

    # -- what a subclass gives ---------------------------------------------------------------
    def _n(self) -> int:
        raise NotImplementedError

    def _native(self, i: int, rng):
        """``read``'s output for observation i alone."""
        raise NotImplementedError

    def _columns(self, native) -> tuple:
        """One observation's row for training: predictors, then responses."""
        return _columns_of(native)

    def _describe(self, i: int) -> str:
        """How an error names observation i."""
        return f"observation {i + 1}"

    def _read_size(self) -> int:
        return 1

    def _group(self, natives: list):
        """``read``'s output for several observations."""
        return natives[0] if len(natives) == 1 else natives

    def _copy(self):
        new = object.__new__(type(self))
        new.__dict__.update(self.__dict__)
        new._pos = 0
        return new

    # -- MATLAB's functions --------------------------------------------------------------------
    def hasdata(self) -> bool:
        return self._pos < self._n()

    def reset(self) -> None:
        self._pos = 0

    def _info(self, idx: list[int]):
        """``read``'s second output for the observations ``idx`` (MATLAB's info struct). A datastore
        that documents no fields gives an empty struct (choice: docs/modern_api.md)."""
        return Struct()

    def read(self, nargout: int = 1):
        """The next ReadSize observations; ``data, info = ds.read(nargout=2)`` is MATLAB's
        ``[data, info] = read(ds)`` (the MATLAB Engine's keyword for a second output)."""
        nargout = _check_nargout(nargout, "read")
        if not self.hasdata():
            raise LayerGraphError("No more data to read. Use the reset method to reset the datastore to the start "
                                  "of the data. Before calling read, check if data is available to read by using "
                                  "the hasdata method.", "MATLAB:datastoreio:splittabledatastore:noMoreData")
        stop = min(self._pos + self._read_size(), self._n())
        natives, info = self._natives_info(list(range(self._pos, stop)), global_rng(), nargout == 2)
        self._pos = stop
        return (self._group(natives), info) if nargout == 2 else self._group(natives)

    def _natives_info(self, idx, rng, with_info):
        """The reads of observations ``idx`` and (``with_info``) their info."""
        return [self._native(i, rng) for i in idx], (self._info(idx) if with_info else None)

    def readall(self):
        """Every observation, from the start (the read position is left as it was)."""
        natives = [self._native(i, global_rng()) for i in range(self._n())]
        return self._all(natives)

    def _all(self, natives):
        return natives

    def preview(self):
        """The first observation, the read position left as it was."""
        if self._n() == 0:
            raise LayerGraphError("The datastore is empty.", "MATLAB:datastoreio:datastore:emptyDatastore")
        return self._group([self._native(0, global_rng())])

    def numpartitions(self, *args) -> int:
        return self._n()

    def transform(self, fcn, *args, **kwargs):
        return transform(self, fcn, *args, **kwargs)

    def combine(self, *others):
        return combine(self, *others)

    @property
    def NumObservations(self) -> int:
        return self._n()

    def __len__(self):
        return self._n()

    def __repr__(self):
        return str(self)


def _check_nargout(nargout, function) -> int:
    if isinstance(nargout, (bool, np.bool_)) or nargout not in (1, 2):
        raise LayerGraphError(f"Invalid value for 'nargout' of {function}: {nargout!r}. {function} has one or two "
                              f"outputs (data, info = {function}(..., nargout=2)).", "MATLAB:TooManyOutputs")
    return int(nargout)


def _columns_of(native) -> tuple:
    """A read's output as a row: a table's row, a cell's elements, or the value alone."""
    if isinstance(native, Table):
        if len(native) != 1:
            raise LayerGraphError(f"Expected one row per observation, but the read gave a {len(native)}-row table.")
        return tuple(native[0])
    if isinstance(native, (list, tuple)):
        return tuple(native)
    return (native,)


def _check_read_size(value, name="ReadSize") -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer, float)) \
            or value != int(value) or value < 1:
        raise LayerGraphError(f"Invalid value for '{name}': {value!r}. Expected a positive integer scalar.",
                              "MATLAB:InputParser:ArgumentFailedValidation")
    return int(value)


def _logical(value, name) -> bool:
    if isinstance(value, (bool, np.bool_)) or (isinstance(value, (int, np.integer)) and value in (0, 1)):
        return bool(value)
    raise LayerGraphError(f"Invalid value for '{name}': {value!r}. Expected true or false.",
                          "MATLAB:InputParser:ArgumentFailedValidation")


def _choice(value, name, allowed):
    if isinstance(value, str):
        hits = [a for a in allowed if a.lower().startswith(value.lower())] if value else []
        if value.lower() in allowed:
            return value.lower()
        if len(hits) == 1:
            return hits[0]
    raise LayerGraphError(f"Invalid value for '{name}': {value!r}. Expected one of: "
                          f"{', '.join(repr(a) for a in allowed)}.", "MATLAB:InputParser:ArgumentFailedValidation")


# -- imageDatastore ---------------------------------------------------------------------------------
def _extensions(value) -> tuple:
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, (list, tuple)) or not all(isinstance(v, str) for v in values) or not values:
        raise LayerGraphError(f"Invalid value for 'FileExtensions': {value!r}. Expected a character vector such "
                              "as '.png', or a cell array of them.", "MATLAB:datastoreio:pathlookup:invalidFileExts")
    bad = [v for v in values if v and not v.startswith(".")]
    if bad:
        raise LayerGraphError(f"Invalid value for 'FileExtensions': '{bad[0]}'. Extensions start with a period "
                              "('.png').", "MATLAB:datastoreio:pathlookup:invalidFileExts")
    return tuple(v.lower() for v in values)


def _matches(path, exts) -> bool:
    ext = os.path.splitext(path)[1].lower()
    return ext in exts


def _list_files(locations, subfolders, exts) -> list[str]:
    files = []
    for loc in locations:
        loc = os.fspath(loc)
        if not isinstance(loc, str) or not loc:
            raise LayerGraphError(f"Invalid location: {loc!r}. Expected a folder or file name.",
                                  "MATLAB:datastoreio:pathlookup:invalidFilesInput")
        hits = sorted(glob.glob(loc)) if glob.has_magic(loc) else ([loc] if os.path.exists(loc) else [])
        if not hits:
            raise LayerGraphError(f"Cannot find files or folders matching: '{loc}'.",
                                  "MATLAB:datastoreio:pathlookup:fileNotFound")
        found = []
        for hit in hits:
            hit = os.path.abspath(hit)
            if os.path.isdir(hit):
                if subfolders:
                    inside = [os.path.join(root, f) for root, _, names in os.walk(hit) for f in names]
                else:
                    inside = [os.path.join(hit, f) for f in os.listdir(hit)]
                found += [f for f in inside if os.path.isfile(f) and _matches(f, exts)]
            elif _matches(hit, exts):
                found.append(hit)
            elif not glob.has_magic(loc):
                raise LayerGraphError(f"Input folder or file contains non-standard file extensions: '{hit}'. Use "
                                      "the 'FileExtensions' name-value pair to include non-standard file "
                                      "extensions.", "MATLAB:datastoreio:pathlookup:nonStandardExtension")
        if not found:
            where = "or its subfolders " if subfolders else ""
            raise LayerGraphError(f"The location '{loc}' {where}contains no files with the extensions "
                                  f"{', '.join(exts[:6])}{', ...' if len(exts) > 6 else ''}"
                                  f"{'' if subfolders else ' (IncludeSubfolders is false)'}.",
                                  "MATLAB:datastoreio:pathlookup:emptyFolderNoSuggestion")
        files += sorted(found)
    return files


def _label_vector(labels, n):
    """Labels as stored: a Categorical, a list of strings (cellstr) or a numeric/logical vector."""
    if labels is None or (isinstance(labels, (list, tuple)) and len(labels) == 0):
        return None
    if isinstance(labels, Categorical):
        out = labels
    elif isinstance(labels, (list, tuple)) and all(isinstance(v, str) for v in labels):
        out = list(labels)
    else:
        arr = np.asarray(labels)
        if arr.dtype.kind not in "biuf" or arr.ndim > 1 and sum(d > 1 for d in arr.shape) > 1:
            raise LayerGraphError("Labels must be a cell array of character vectors or a vector of numeric, "
                                  "logical, or categorical type.", "MATLAB:datastoreio:imagedatastore:labelsNotCellstr")
        out = arr.ravel()
    if len(out) != n:
        raise LayerGraphError(f"Expected Labels to have {n} elements (one per file), but it has {len(out)}.",
                              "MATLAB:imageDatastore:incorrectNumel")
    return out


def _subset_labels(labels, idx):
    if labels is None:
        return None
    if isinstance(labels, Categorical):
        picked = labels[np.asarray(idx, dtype=np.intp)]
        used = sorted(set(picked.codes.tolist()))      # removecats: only the categories still present
        cats = [labels.categories[c] for c in used]
        return Categorical(np.array(labels.categories, dtype=object)[picked.codes].tolist(), cats) if used \
            else Categorical([], [])
    if isinstance(labels, list):
        return [labels[i] for i in idx]
    return labels[np.asarray(idx, dtype=np.intp)]


def _short_path(path: str) -> str:
    if len(path) <= PATH_WIDTH:
        return path
    parts = path.split(os.sep)
    tail = parts[-1]
    for part in reversed(parts[:-1]):
        if len(part) + 1 + len(tail) + 4 > PATH_WIDTH:
            break
        tail = part + os.sep + tail
    return f" ...{os.sep}{tail}"


def _labels_text(labels) -> str:
    n = len(labels)
    if isinstance(labels, list):
        shown = "; ".join(f"'{v}'" for v in labels[:3])
        return "{" + shown + (f" ... and {n - 3} more}}" if n > 3 else "}")
    values = list(labels.labels) if isinstance(labels, Categorical) else [format_value(v) for v in labels]
    kind = "categorical" if isinstance(labels, Categorical) else (
        "logical" if np.asarray(labels).dtype == np.bool_ else "double")
    shown = "; ".join(str(v) for v in values[:3])
    return f"[{shown}" + (f" ... and {n - 3} more {kind}]" if n > 3 else "]")


def _files_lines(files, indent: int) -> list[str]:
    pad = " " * indent
    shown = files[:3]
    lines = ["{"]
    for k, f in enumerate(shown):
        lines.append(f"{pad}'{_short_path(f)}'" + (";" if k < len(shown) - 1 else ""))
    if len(files) > 3:
        lines.append(f"{pad} ... and {len(files) - 3} more")
    lines.append(f"{pad}}}")
    return lines


def _property_block(header: str, rows: list[tuple[str, object]]) -> str:
    """MATLAB's object display: names right-aligned on the longest, multi-line values indented."""
    width = max(len(k) for k, _ in rows)
    out = [f"  {header} with properties:", ""]
    for name, value in rows:
        lines = value if isinstance(value, list) else [value]
        out.append(f"    {name.rjust(width)}: {lines[0]}")
        out += lines[1:]
    return "\n".join(out) + "\n"


class ImageDatastore(_Datastore):
    """MATLAB's ImageDatastore; make one with ``imageDatastore(location, ...)``."""

    class_name = "matlab.io.datastore.ImageDatastore"

    def __init__(self, files, labels, read_size, read_fcn, default_fcn, roots=((), ())):
        super().__init__()
        self._files = list(files)
        self._labels = _label_vector(labels, len(self._files))
        self._read_size_value = read_size
        self._read_fcn = read_fcn
        self._default_fcn = default_fcn
        self._roots_value, self._roots = roots

    def __setstate__(self, state):
        """After loading (pickle) on another machine, the files move to the equivalent root that
        exists there, as MATLAB's datastores do when they are loaded."""
        self.__dict__.update(state)
        self._roots_value, self._roots = self.__dict__.get("_roots_value", ()), self.__dict__.get("_roots", ())
        self._files = [_resolve_root(f, self._roots) for f in self._files]

    # -- properties ----------------------------------------------------------------------------
    @property
    def Files(self) -> list[str]:
        return list(self._files)

    @Files.setter
    def Files(self, files):
        files = [_resolve_root(os.fspath(f), self._roots) for f in _as_list(files)]
        missing = [f for f in files if not os.path.isfile(f)]
        if missing:
            raise LayerGraphError(f"Cannot find files or folders matching: '{missing[0]}'.",
                                  "MATLAB:datastoreio:pathlookup:fileNotFound")
        changed = len(files) != len(self._files)
        self._files = [os.path.abspath(f) for f in files]
        if changed:  # MATLAB empties the labels when the number of files changes
            self._labels = None
        self.reset()

    @property
    def Labels(self):
        return self._labels if self._labels is not None else []

    @Labels.setter
    def Labels(self, labels):
        self._labels = _label_vector(labels, len(self._files))

    @property
    def ReadSize(self) -> int:
        return self._read_size_value

    @ReadSize.setter
    def ReadSize(self, value):
        self._read_size_value = _check_read_size(value)

    @property
    def ReadFcn(self):
        return self._read_fcn

    @ReadFcn.setter
    def ReadFcn(self, fcn):
        if not callable(fcn):
            raise LayerGraphError(f"Invalid value for 'ReadFcn': {fcn!r}. Expected a function handle.",
                                  "MATLAB:datastoreio:customreaddatastore:invalidReadFcn")
        self._read_fcn, self._default_fcn = fcn, fcn is readDatastoreImage

    @property
    def AlternateFileSystemRoots(self):
        """The rows of equivalent root paths, as they were given (a list of strings for one row)."""
        return self._roots_value if self._roots else []

    @AlternateFileSystemRoots.setter
    def AlternateFileSystemRoots(self, value):
        shown, rows = _check_roots(value)
        files = [_resolve_root(f, rows) for f in self._files]
        self._roots_value, self._roots, self._files = shown, rows, files
        self.reset()

    # -- reading --------------------------------------------------------------------------------
    def _n(self):
        return len(self._files)

    def _read_size(self):
        return self._read_size_value

    def _describe(self, i):
        return f"file '{self._files[i]}'"

    def _native(self, i, rng=None):
        path = self._files[i]
        if self._default_fcn:
            return images.read(path)
        try:
            return self._read_fcn(path)
        except LayerGraphError:
            raise
        except Exception as err:  # the user's ReadFcn failed: say on which file
            raise LayerGraphError(f"Error using ReadFcn @{getattr(self._read_fcn, '__name__', 'ReadFcn')} for file "
                                  f"'{path}': {err}", "MATLAB:datastoreio:customreaddatastore:readFcnError") from None

    def _columns(self, native):
        return (native,)

    def _label(self, i):
        if self._labels is None:
            return None
        if isinstance(self._labels, Categorical):
            return Label(self._labels[i])
        return self._labels[i]

    def _row(self, i, rng):
        """(image, label) for training, or (image,) without labels."""
        image = self._native(i, rng)
        return (image,) if self._labels is None else (image, self._label(i))

    def _responses(self):
        return self._labels

    def readimage(self, k, nargout: int = 1):
        """The k-th image (1-based); ``img, info = imds.readimage(k, nargout=2)`` is MATLAB's
        ``[img, info] = readimage(imds, k)`` (info: Filename, FileSize, Label)."""
        nargout = _check_nargout(nargout, "readimage")
        i = _one_index(k, self._n()) - 1
        image = self._native(i)
        return (image, self._info_of([i], single=True)) if nargout == 2 else image

    def _info(self, idx):
        return self._info_of(idx, single=self._read_size_value == 1)

    def _info_of(self, idx, single: bool):
        """MATLAB's info struct: Filename (the file, or a list of them when ReadSize > 1), FileSize
        in bytes (a number, or a column of them), Label (the label(s); [] without labels)."""
        files = [self._files[i] for i in idx]
        sizes = np.array([float(os.path.getsize(f)) for f in files]).reshape(-1, 1)
        if self._labels is None:
            label = []
        elif single:
            label = self._label(idx[0])
        else:
            label = _subset_labels(self._labels, idx)
        if single:
            return Struct(Filename=files[0], FileSize=float(sizes[0, 0]), Label=label)
        return Struct(Filename=files, FileSize=sizes, Label=label)

    def readall(self):
        return [self._native(i) for i in range(self._n())]

    def _group(self, natives):
        return natives[0] if self._read_size_value == 1 else natives

    # -- new datastores ------------------------------------------------------------------------
    def _with_indices(self, idx) -> "ImageDatastore":
        new = self._copy()
        new._files = [self._files[i] for i in idx]
        new._labels = _subset_labels(self._labels, idx)
        return new

    def shuffle(self) -> "ImageDatastore":
        """A copy with the files (and their labels) in random order (rng)."""
        return self._with_indices(global_rng().permutation(self._n()))

    def subset(self, indices) -> "ImageDatastore":
        """A datastore of the files at ``indices`` (1-based, or a logical mask)."""
        return self._with_indices(_indices(indices, self._n()))

    def partition(self, n, index) -> "ImageDatastore":
        """Part ``index`` (1-based) of ``n`` contiguous parts of nearly equal size."""
        n = _check_read_size(n, "N")
        index = _check_read_size(index, "index")
        if index > n:
            raise LayerGraphError(f"Expected index to be at most N = {n}; it is {index}.",
                                  "MATLAB:datastoreio:splittabledatastore:invalidPartitionIndex")
        return self._with_indices(np.array_split(np.arange(self._n()), n)[index - 1])

    def countEachLabel(self) -> Table:
        """A table of each label and its number of files."""
        labels = self._require_labels("countEachLabel")
        groups = _groups(labels)
        return Table(("Label", "Count"), [(Label(name) if isinstance(labels, Categorical) else name, len(idx))
                                          for name, idx in groups])

    def _require_labels(self, function):
        if self._labels is None:
            raise LayerGraphError(f"{function} needs labels: the Labels property of the datastore is empty. Set "
                                  "Labels, or create the datastore with 'LabelSource', 'foldernames'.",
                                  "MATLAB:datastoreio:imagedatastore:emptyLabels")
        return self._labels

    def splitEachLabel(self, *args, **kwargs):
        return splitEachLabel(self, *args, **kwargs)

    def __str__(self):
        rows = []
        width = len("AlternateFileSystemRoots")
        if self._files:
            rows.append(("Files", _files_lines(self._files, 4 + width + 2)))
        else:
            rows.append(("Files", "{}"))
        if self._labels is not None and len(self._labels) > 1:
            rows.append(("Labels", _labels_text(self._labels)))
        elif self._labels is not None:
            rows.append(("Labels", format_value(list(map(str, self._labels)))))
        else:
            rows.append(("Labels", "{}"))
        rows += [("AlternateFileSystemRoots", _roots_text(self._roots_value, self._roots)),
                 ("ReadSize", str(self._read_size_value)),
                 ("ReadFcn", format_value(self._read_fcn))]
        return _property_block("ImageDatastore", rows)


def _one_index(k, n) -> int:
    if isinstance(k, (bool, np.bool_)) or not isinstance(k, (int, np.integer)) or not 1 <= k <= n:
        raise LayerGraphError(f"Invalid index {k!r}: expected an integer from 1 to {n}.",
                              "MATLAB:datastoreio:imagedatastore:invalidIndex")
    return int(k)


def _indices(indices, n) -> np.ndarray:
    arr = np.asarray(indices)
    if arr.dtype == np.bool_:
        if arr.size != n:
            raise LayerGraphError(f"A logical index must have {n} elements (one per file); it has {arr.size}.",
                                  "MATLAB:datastoreio:datastore:invalidIndices")
        return np.flatnonzero(arr.ravel())
    if arr.dtype.kind not in "iuf" or np.any(arr != np.round(arr)) or np.any(arr < 1) or np.any(arr > n):
        raise LayerGraphError(f"Invalid indices: expected integers from 1 to {n} (1-based) or a logical vector.",
                              "MATLAB:datastoreio:datastore:invalidIndices")
    return arr.ravel().astype(np.intp) - 1


def _groups(labels) -> list[tuple[str, np.ndarray]]:
    """[(label, indices)] in the order of the categories (sorted values otherwise)."""
    if isinstance(labels, Categorical):
        return [(c, np.flatnonzero(labels.codes == k)) for k, c in enumerate(labels.categories)
                if np.any(labels.codes == k)]
    values = np.asarray(labels)
    return [(v if isinstance(v, str) else v.item(), np.flatnonzero(values == v)) for v in np.unique(values)]


def imageDatastore(location, *args, **kwargs) -> ImageDatastore:
    """``imageDatastore(location, 'IncludeSubfolders', tf, 'FileExtensions', exts, 'LabelSource',
    'none'|'foldernames', 'Labels', labels, 'ReadSize', n, 'ReadFcn', fcn)``: the image files in
    folders (subfolders with IncludeSubfolders), files or wildcards, sorted by path within each
    location; 'foldernames' makes Labels a categorical of each file's folder name."""
    opts = parse("imageDatastore", args, kwargs, (), 0,
                 ["IncludeSubfolders", "FileExtensions", "LabelSource", "Labels", "ReadSize", "ReadFcn",
                  "AlternateFileSystemRoots"])
    subfolders = _logical(opts.get("IncludeSubfolders", False), "IncludeSubfolders")
    exts = _extensions(opts["FileExtensions"]) if "FileExtensions" in opts else IMFORMATS
    source = _choice(opts.get("LabelSource", "none"), "LabelSource", ("none", "foldernames"))
    read_size = _check_read_size(opts.get("ReadSize", 1))
    fcn = opts.get("ReadFcn", readDatastoreImage)
    if not callable(fcn):
        raise LayerGraphError(f"Invalid value for 'ReadFcn': {fcn!r}. Expected a function handle.",
                              "MATLAB:datastoreio:customreaddatastore:invalidReadFcn")
    shown, rows = _check_roots(opts.get("AlternateFileSystemRoots", []))
    if rows:
        _check_roots_cover(_as_list(location), rows)
    files = _list_files([_resolve_root(os.fspath(loc), rows) for loc in _as_list(location)], subfolders, exts)
    labels = opts.get("Labels")
    if labels is None and source == "foldernames":
        labels = Categorical([os.path.basename(os.path.dirname(f)) for f in files])
    return ImageDatastore(files, labels, read_size, fcn, fcn is readDatastoreImage, (shown, rows))


# -- AlternateFileSystemRoots ----------------------------------------------------------------------------
def _root_key(path: str) -> str:
    """A root or a path compared across systems: either separator, no trailing one; a Windows
    drive ('Z:') compared without case."""
    key = path.replace("\\", "/").rstrip("/")
    return key[0].lower() + key[1:] if len(key) >= 2 and key[1] == ":" else key


def _roots_error(value, why: str):
    return LayerGraphError(f"Invalid value for 'AlternateFileSystemRoots': {value!r}. {why} Expected a string "
                           'vector of equivalent root paths, such as ["Z:\\datasets", "/mynetwork/datasets"], or a '
                           "cell array (list) of such rows.",
                           "MATLAB:datastoreio:filebaseddatastore:invalidAlternateRootsSpecification")


def _check_roots(value) -> tuple:
    """(the value as given, its rows as tuples of roots) for 'AlternateFileSystemRoots': one row
    (a list of strings) or several (a list of lists); each row two or more roots of two or more
    characters; every root unique and none inside another."""
    if value is None or (isinstance(value, (list, tuple, np.ndarray)) and len(value) == 0):
        return [], ()
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, str) or not isinstance(value, (list, tuple)):
        raise _roots_error(value, "It is not a list of root paths.")
    rows = [value] if all(isinstance(v, str) for v in value) else list(value)
    out = []
    for row in rows:
        if isinstance(row, np.ndarray):
            row = row.tolist()
        if isinstance(row, str) or not isinstance(row, (list, tuple)) or \
                not all(isinstance(r, (str, os.PathLike)) for r in row):
            raise _roots_error(value, f"The row {row!r} is not a list of root paths.")
        row = tuple(os.fspath(r) for r in row)
        if len(row) < 2:
            raise _roots_error(value, f"The row {list(row)!r} gives {len(row)} root path; each row must give at "
                                      "least two equivalent root paths.")
        short = [r for r in row if len(r) < 2]
        if short:
            raise _roots_error(value, f"The root path {short[0]!r} has fewer than 2 characters.")
        out.append(row)
    keys = [_root_key(r) for row in out for r in row]
    for k, a in enumerate(keys):
        for b in keys[k + 1:]:
            if a == b:
                raise _roots_error(value, f"The root path '{a}' is given twice.")
            if b.startswith(a + "/") or a.startswith(b + "/"):
                raise _roots_error(value, f"The root paths '{a}' and '{b}' are subfolders of each other.")
    return value, tuple(out)


def _exists(path: str) -> bool:
    return bool(glob.glob(path)) if glob.has_magic(path) else os.path.exists(path)


def _resolve_root(path: str, rows) -> str:
    """``path`` itself if it exists here or no root matches it; otherwise the same path under the
    first equivalent root of its row where it exists (joined with this system's separator)."""
    if not rows or _exists(path):
        return path
    key = _root_key(path)
    for row in rows:
        for root in row:
            rk = _root_key(root)
            if key != rk and not key.startswith(rk + "/"):
                continue
            rest = [p for p in key[len(rk):].split("/") if p]
            for alt in row:
                candidate = os.path.join(alt, *rest) if rest else alt
                if alt != root and _exists(candidate):
                    return candidate if glob.has_magic(candidate) else os.path.abspath(candidate)
            return path
    return path


def _check_roots_cover(locations, rows):
    """MATLAB's rule: at least one root path points to where the files are."""
    keys = [_root_key(os.path.abspath(os.fspath(loc)) if os.path.exists(os.fspath(loc)) else os.fspath(loc))
            for loc in locations]
    for row in rows:
        for root in row:
            rk = _root_key(root)
            if any(k == rk or k.startswith(rk + "/") for k in keys):
                return
    raise LayerGraphError(f"'AlternateFileSystemRoots' must have at least one root path that the location "
                          f"{', '.join(repr(os.fspath(loc)) for loc in locations)} lies under.",
                          "MATLAB:datastoreio:filebaseddatastore:invalidAlternateRootsSpecification")


def _roots_text(value, rows) -> str:
    """The display: a string row as MATLAB shows a string array, several rows as a cell's size."""
    if not rows:
        return "{}"
    if len(rows) == 1 and all(isinstance(v, str) for v in value):
        return "[" + "    ".join(f'"{r}"' for r in rows[0]) + "]"
    return f"{{{len(rows)}x1 cell}}"


def splitEachLabel(imds: ImageDatastore, *args, **kwargs):
    """``[ds1, ..., dsN+1] = splitEachLabel(imds, p1, ..., pN, 'randomized', 'Include', labels,
    'Exclude', labels)``: per label, the first floor(p * count) files (fractions p < 1) or the
    first p files (counts) in datastore order, or a random choice with 'randomized' (rng); the
    last datastore gets the rest of each label. Each datastore keeps the files in their order."""
    if not isinstance(imds, ImageDatastore):
        raise LayerGraphError("splitEachLabel needs an ImageDatastore as its first argument.",
                              "MATLAB:datastoreio:imagedatastore:invalidInput")
    labels = imds._require_labels("splitEachLabel")
    args = list(args)
    props = []
    while args and not isinstance(args[0], str):
        props.append(args.pop(0))
    randomized = False
    if args and isinstance(args[0], str) and len(args[0]) >= 4 and "randomized".startswith(args[0].lower()):
        randomized = True
        args.pop(0)
    opts = parse("splitEachLabel", tuple(args), kwargs, (), 0, ["Include", "Exclude"])
    if not props:
        raise LayerGraphError("splitEachLabel needs the proportions or numbers of files to split off: "
                              "splitEachLabel(imds, p) or splitEachLabel(imds, p1, ..., pN).",
                              "MATLAB:datastoreio:imagedatastore:invalidSplitInput")
    values = []
    for p in props:
        if isinstance(p, (bool, np.bool_)) or not isinstance(p, (int, float, np.integer, np.floating)) \
                or not math.isfinite(p) or p <= 0:
            raise LayerGraphError(f"Invalid proportion {p!r}: expected a fraction in (0, 1) or a positive "
                                  "integer number of files.", "MATLAB:datastoreio:imagedatastore:invalidSplitInput")
        values.append(float(p))
    fractions = all(v < 1 for v in values)
    if not fractions and not all(v >= 1 and v == int(v) for v in values):
        raise LayerGraphError("The proportions must be either all fractions in (0, 1) or all positive integer "
                              f"numbers of files; received {', '.join(format_value(v) for v in values)}.",
                              "MATLAB:datastoreio:imagedatastore:invalidSplitInput")
    if fractions and sum(values) > 1:
        raise LayerGraphError(f"The proportions sum to {sum(values):g}, more than 1.",
                              "MATLAB:datastoreio:imagedatastore:invalidSplitInput")
    groups = _groups(labels)
    names = [name for name, _ in groups]
    if "Include" in opts and "Exclude" in opts:
        raise LayerGraphError("Specify either 'Include' or 'Exclude', not both.",
                              "MATLAB:datastoreio:imagedatastore:includeExclude")
    for key in ("Include", "Exclude"):
        if key in opts:
            chosen = opts[key]
            chosen = [chosen] if isinstance(chosen, (str, int)) else list(chosen)
            text = {str(c) for c in chosen}
            unknown = sorted(text - {str(n) for n in names})
            if unknown:
                raise LayerGraphError(f"'{key}' names labels that are not in the datastore: {', '.join(unknown)}. "
                                      f"Labels: {', '.join(map(str, names))}.",
                                      "MATLAB:datastoreio:imagedatastore:invalidLabel")
            groups = [g for g in groups if (str(g[0]) in text) == (key == "Include")]
    parts = [[] for _ in range(len(values) + 1)]
    gen = global_rng()
    for name, idx in groups:
        count = len(idx)
        sizes = [int(math.floor(v * count)) if fractions else int(v) for v in values]
        if sum(sizes) > count:
            raise LayerGraphError(f"splitEachLabel cannot take {sum(sizes)} files of label '{name}', which has "
                                  f"{count}.", "MATLAB:datastoreio:imagedatastore:notEnoughFiles")
        chosen = idx[gen.permutation(count)] if randomized else idx
        start = 0
        for k, size in enumerate(sizes):
            parts[k].append(chosen[start:start + size])
            start += size
        parts[-1].append(chosen[start:])
    out = [imds._with_indices(np.sort(np.concatenate(p)) if p else np.zeros(0, np.intp)) for p in parts]
    return tuple(out)


def countEachLabel(imds) -> Table:
    return imds.countEachLabel()


# -- imageDataAugmenter -----------------------------------------------------------------------------
_RANGES = ("RandRotation", "RandScale", "RandXScale", "RandYScale", "RandXShear", "RandYShear",
           "RandXTranslation", "RandYTranslation")


class ImageDataAugmenter:
    """MATLAB's imageDataAugmenter: one random affine transform per image.

    Draws, in MATLAB's order (R2017b's makeAffineTransform), each uniform in its range
    (``diff(range) * rand + range(1)``, a draw made even for a [0 0] range): X reflection and
    Y reflection (only when enabled; -1 with probability 1/2), rotation, X scale and Y scale
    (one isotropic draw instead when RandScale is set), X shear, Y shear, X translation,
    Y translation. A range may be a function returning the value. The transform, in the
    row-vector convention, is T = Rot * Shear * Scale * Refl * Trans, the first four about the
    image centre ((W-1)/2, (H-1)/2): rotation first, translation last. The warp is bilinear,
    the output the input's size, pixels from outside the image FillValue."""

    class_name = "imageDataAugmenter"
    _DEFAULTS = {"FillValue": 0.0, "RandXReflection": False, "RandYReflection": False, "RandRotation": [0, 0],
                 "RandScale": [1, 1], "RandXScale": [1, 1], "RandYScale": [1, 1], "RandXShear": [0, 0],
                 "RandYShear": [0, 0], "RandXTranslation": [0, 0], "RandYTranslation": [0, 0]}

    def __init__(self, **props):
        self.__dict__["_p"] = dict(self._DEFAULTS)
        for k, v in props.items():
            setattr(self, k, v)
        scale_set = not _is_default_range(self._p["RandScale"], [1, 1])
        xy_set = any(not _is_default_range(self._p[k], [1, 1]) for k in ("RandXScale", "RandYScale"))
        if scale_set and xy_set:
            raise LayerGraphError("RandScale cannot be combined with RandXScale or RandYScale: use RandScale for an "
                                  "isotropic scale, or RandXScale and RandYScale for independent ones.",
                                  "nnet_cnn:imageDataAugmenter:randScalePreferred")

    def __getattr__(self, name):
        p = self.__dict__.get("_p", {})
        if name in p:
            v = p[name]
            return np.array(v, dtype=float) if isinstance(v, list) else v
        raise AttributeError(f"Unrecognized property '{name}' for class 'imageDataAugmenter'.")

    def __setattr__(self, name, value):
        if name not in self._DEFAULTS:
            raise LayerGraphError(f"Unrecognized property '{name}' for class 'imageDataAugmenter'. Properties: "
                                  f"{', '.join(self._DEFAULTS)}.", "MATLAB:noPublicFieldForClass")
        self._p[name] = _check_augmenter(name, value)

    def _draw(self, rng, name):
        v = self._p[name]
        if callable(v):
            return float(v())
        lo, hi = v
        return (hi - lo) * rng.random() + lo

    def transform_matrix(self, height, width, rng) -> np.ndarray:
        """The 3 x 3 forward transform (row-vector convention) for one image, drawn from ``rng``."""
        p = self._p
        # sign(rand - 0.5), drawn only for an enabled reflection
        xr = (-1.0 if rng.random() < 0.5 else 1.0) if p["RandXReflection"] else 1.0
        yr = (-1.0 if rng.random() < 0.5 else 1.0) if p["RandYReflection"] else 1.0
        theta = self._draw(rng, "RandRotation")
        if not _is_default_range(p["RandScale"], [1, 1]):
            sx = sy = self._draw(rng, "RandScale")
        else:
            sx, sy = self._draw(rng, "RandXScale"), self._draw(rng, "RandYScale")
        shx = self._draw(rng, "RandXShear")
        shy = self._draw(rng, "RandYShear")
        tx, ty = self._draw(rng, "RandXTranslation"), self._draw(rng, "RandYTranslation")
        c, s = _cosd(theta), _sind(theta)
        rot = np.array([[c, -s, 0], [s, c, 0], [0, 0, 1.0]])
        shear = np.array([[1, _tand(shy), 0], [_tand(shx), 1, 0], [0, 0, 1.0]])
        scale = np.diag([sx, sy, 1.0])
        refl = np.diag([xr, yr, 1.0])
        cx, cy = (width - 1) / 2, (height - 1) / 2
        to_centre = np.array([[1, 0, 0], [0, 1, 0], [-cx, -cy, 1.0]])
        back = np.array([[1, 0, 0], [0, 1, 0], [cx, cy, 1.0]])
        trans = np.array([[1, 0, 0], [0, 1, 0], [tx, ty, 1.0]])
        return to_centre @ rot @ shear @ scale @ refl @ back @ trans

    def augment(self, images_, rng=None):
        """One image augmented, or a list of images with the same random transform each."""
        rng = global_rng() if rng is None else rng
        many = isinstance(images_, (list, tuple))
        items = list(images_) if many else [images_]
        first = np.asarray(items[0])
        T = self.transform_matrix(first.shape[0], first.shape[1], rng)
        out = [self._warp(np.asarray(a), T) for a in items]
        return out if many else out[0]

    def _warp(self, a, T):
        if np.allclose(T, np.eye(3)):
            return a
        if isinstance(a, Categorical):
            raise LayerGraphError("Augmenting categorical images is not supported by layergraph.")
        return images.warp(a, T, self._p["FillValue"])

    def __str__(self):
        rows = []
        for k in self._DEFAULTS:
            v = self._p[k]
            if isinstance(v, (bool, np.bool_)):
                shown = "1" if v else "0"
            elif callable(v):
                shown = format_value(v)
            else:
                shown = format_value(np.asarray(v, dtype=float))
            rows.append((k, shown))
        return _property_block("imageDataAugmenter", rows)

    __repr__ = __str__


def _sind(deg) -> float:
    """MATLAB's sind: exact at multiples of 90 degrees (so a quarter turn moves whole pixels)."""
    r = math.fmod(deg, 360.0)
    if r % 90 == 0:
        return (0.0, 1.0, 0.0, -1.0)[int(r // 90) % 4]
    return math.sin(math.radians(r))


def _cosd(deg) -> float:
    return _sind(deg + 90.0)


def _tand(deg) -> float:
    """MATLAB's tand for a shear angle in (-90, 90): exact at +-45 degrees."""
    return {45.0: 1.0, -45.0: -1.0}.get(float(deg), math.tan(math.radians(deg)))


def _is_default_range(v, d) -> bool:
    return not callable(v) and list(np.asarray(v, dtype=float).ravel()) == d


def _check_augmenter(name, value):
    if name == "FillValue":
        arr = np.asarray(value, dtype=float) if not isinstance(value, str) else None
        if arr is None or arr.ndim > 1 or arr.size not in (1, 3) or not np.all(np.isfinite(arr)):
            raise LayerGraphError(f"Invalid value for 'FillValue': {value!r}. Expected a numeric scalar or a "
                                  "3-element vector (one value per channel).",
                                  "nnet_cnn:imageDataAugmenter:invalidFillValue")
        return float(arr) if arr.size == 1 else arr.tolist()
    if name in ("RandXReflection", "RandYReflection"):
        return _logical(value, name)
    if callable(value):
        return value
    try:
        arr = np.asarray(value, dtype=float).ravel()
    except (TypeError, ValueError):
        arr = np.zeros(0)
    if arr.size != 2 or not np.all(np.isfinite(arr)) or arr[1] < arr[0]:
        raise LayerGraphError(f"Invalid value for '{name}': {value!r}. Expected a 2-element vector [min max] with "
                              "min <= max, or a function handle.", "nnet_cnn:imageDataAugmenter:invalidRange")
    if name in ("RandXShear", "RandYShear") and (arr[0] <= -90 or arr[1] >= 90):
        raise LayerGraphError(f"Invalid value for '{name}': shear angles must be in (-90, 90) degrees.",
                              "nnet_cnn:imageDataAugmenter:invalidShearRange")
    if name in ("RandScale", "RandXScale", "RandYScale") and arr[0] <= 0:
        raise LayerGraphError(f"Invalid value for '{name}': scale factors must be positive.",
                              "nnet_cnn:imageDataAugmenter:invalidScaleRange")
    return arr.tolist()


def imageDataAugmenter(*args, **kwargs) -> ImageDataAugmenter:
    """``imageDataAugmenter('RandRotation', [-20 20], 'RandXReflection', true, ...)``."""
    opts = parse("imageDataAugmenter", args, kwargs, (), 0, list(ImageDataAugmenter._DEFAULTS))
    return ImageDataAugmenter(**opts)


def augment(augmenter, images_):
    """``augment(augmenter, I)``: I augmented (a cell of images: the same transform for each)."""
    return augmenter.augment(images_)


# -- augmentedImageDatastore -----------------------------------------------------------------------------
def _gray2rgb(a):
    return np.repeat(a[:, :, None] if a.ndim == 2 else a, 3, axis=2) if (a.ndim == 2 or a.shape[2] == 1) else a


def _rgb2gray(a):
    """MATLAB's rgb2gray: 0.2989 R + 0.5870 G + 0.1140 B, rounded for integer images."""
    if a.ndim != 3 or a.shape[2] != 3:
        return a
    g = a.astype(np.float64) @ np.array([0.298936021293775, 0.587043074451121, 0.114020904255103])
    if a.dtype.kind in "ui":
        info = np.iinfo(a.dtype)
        return np.clip(np.rint(g), info.min, info.max).astype(a.dtype)
    return g.astype(a.dtype)


class AugmentedImageDatastore(_Datastore):
    """MATLAB's augmentedImageDatastore: per image, colour preprocessing, then augmentation,
    then resizing or cropping to OutputSize; ``read`` gives a table of MiniBatchSize rows with
    the variables ``input`` and (with responses) ``response``."""

    class_name = "augmentedImageDatastore"

    def __init__(self, size, base, responses, color, augmenter, mode, background):
        super().__init__()
        self.OutputSize = size
        self._base, self._responses_value = base, responses
        self.ColorPreprocessing, self.DataAugmentation, self.OutputSizeMode = color, augmenter, mode
        self.DispatchInBackground = background
        self.MiniBatchSize = 128
        self._channels = None
        self.random = augmenter != "none" or mode == "randcrop"

    def __setattr__(self, name, value):
        if name == "MiniBatchSize":
            value = _check_read_size(value, "MiniBatchSize")
        object.__setattr__(self, name, value)

    def _n(self):
        return self._base[1]

    def _read_size(self):
        return self.MiniBatchSize

    def _describe(self, i):
        kind, _, data = self._base
        return f"file '{data.Files[i]}'" if kind == "imds" else f"image {i + 1}"

    def _image(self, i):
        kind, _, data = self._base
        if kind == "imds":
            return data._native(i)
        if kind == "files":
            return images.read(data[i])
        return data[..., i] if data.ndim == 4 else data[:, :, i]

    def _response(self, i):
        r = self._responses_value
        if r is None:
            return None
        return Label(r[i]) if isinstance(r, Categorical) else r[i]

    def _responses(self):
        return self._responses_value

    def _transform(self, a, i, rng):
        a = np.asarray(a)
        if self.ColorPreprocessing == "gray2rgb":
            a = _gray2rgb(a)
        elif self.ColorPreprocessing == "rgb2gray":
            a = _rgb2gray(a)
        c = 1 if a.ndim == 2 else a.shape[2]
        if self.ColorPreprocessing == "none":
            if self._channels is None:
                object.__setattr__(self, "_channels", c)
            elif c != self._channels:
                raise LayerGraphError(f"The {self._describe(i)} has {c} channels, but the first image has "
                                      f"{self._channels}. Use 'ColorPreprocessing' ('gray2rgb' or 'rgb2gray') to make "
                                      "them agree.", "nnet_cnn:augmentedImageDatastore:mismatchedNumberOfChannels")
        if self.DataAugmentation != "none":
            a = self.DataAugmentation.augment(a, rng)
        h, w = self.OutputSize
        if a.shape[:2] == (h, w):
            return a
        if self.OutputSizeMode == "resize":
            return images.resize(a, (h, w))
        H, W = a.shape[:2]
        if h > H or w > W:
            raise LayerGraphError(f"The crop size {h}x{w} is larger than the {self._describe(i)} of size {H}x{W}.",
                                  "nnet_cnn:augmentedImageDatastore:invalidCropOutputSize")
        if self.OutputSizeMode == "centercrop":
            x, y = (W - w) / 2, (H - h) / 2
        else:
            x, y = (W - w) * rng.random(), (H - h) * rng.random()
        x, y = int(math.floor(x)), int(math.floor(y))
        return a[y:y + h, x:x + w]

    def _row(self, i, rng):
        out = self._transform(self._image(i), i, rng)
        r = self._response(i)
        return (out,) if r is None else (out, r)

    def _native(self, i, rng):
        row = self._row(i, rng)
        return Table(("input", "response")[:len(row)], [row])

    def _columns(self, native):
        return _columns_of(native)

    def _group(self, natives):
        rows = [tuple(t[0]) for t in natives]
        return Table(natives[0].columns, rows)

    def _all(self, natives):
        return self._group(natives)

    def shuffle(self) -> "AugmentedImageDatastore":
        return self._subset(global_rng().permutation(self._n()))

    def subset(self, indices) -> "AugmentedImageDatastore":
        return self._subset(_indices(indices, self._n()))

    def partitionByIndex(self, indices) -> "AugmentedImageDatastore":
        return self._subset(np.asarray(indices, dtype=np.intp) - 1)

    def _subset(self, idx):
        new = self._copy()
        kind, _, data = self._base
        if kind == "imds":
            picked = data._with_indices(idx)
        elif kind == "files":
            picked = [data[i] for i in idx]
        else:
            picked = data[..., idx] if data.ndim == 4 else data[:, :, idx]
        object.__setattr__(new, "_base", (kind, len(idx), picked))
        r = self._responses_value
        object.__setattr__(new, "_responses_value", None if r is None else _subset_labels(r, idx)
                           if isinstance(r, (Categorical, list)) else r[idx])
        return new

    def readByIndex(self, indices):
        idx = _indices(indices, self._n())
        return self._group([self._native(int(i), global_rng()) for i in idx])

    def __str__(self):
        aug = self.DataAugmentation
        rows = [("NumObservations", str(self._n())), ("MiniBatchSize", str(self.MiniBatchSize)),
                ("DataAugmentation", "'none'" if aug == "none" else "[1x1 imageDataAugmenter]"),
                ("ColorPreprocessing", f"'{self.ColorPreprocessing}'"),
                ("OutputSize", format_value(np.asarray(self.OutputSize, dtype=float))),
                ("OutputSizeMode", f"'{self.OutputSizeMode}'"),
                ("DispatchInBackground", "1" if self.DispatchInBackground else "0")]
        return _property_block("augmentedImageDatastore", rows)


def augmentedImageDatastore(outputSize, data, *args, **kwargs) -> AugmentedImageDatastore:
    """``augmentedImageDatastore(outputSize, imds | X, Y | X | tbl, 'ColorPreprocessing', ...,
    'DataAugmentation', augmenter, 'OutputSizeMode', 'resize'|'centercrop'|'randcrop',
    'DispatchInBackground', tf)``. X is H x W x C x N (or H x W x N); Y the responses;
    a table's first variable holds file names or images, the second the responses."""
    size = np.asarray(outputSize, dtype=float).ravel() if not isinstance(outputSize, str) else np.zeros(0)
    if size.size not in (2, 3) or np.any(size < 1) or np.any(size != np.round(size)):
        raise LayerGraphError(f"Invalid value for outputSize: {outputSize!r}. Expected [numRows numColumns] (a third "
                              "element is ignored).", "nnet_cnn:augmentedImageDatastore:invalidOutputSize")
    size = (int(size[0]), int(size[1]))
    responses = None
    args = list(args)
    if args and not isinstance(args[0], str):
        responses = args.pop(0)
    opts = parse("augmentedImageDatastore", tuple(args), kwargs, (), 0,
                 ["ColorPreprocessing", "DataAugmentation", "OutputSizeMode", "DispatchInBackground",
                  "BackgroundExecution"])
    color = _choice(opts.get("ColorPreprocessing", "none"), "ColorPreprocessing", ("none", "gray2rgb", "rgb2gray"))
    aug = opts.get("DataAugmentation", "none")
    if not (isinstance(aug, ImageDataAugmenter) or (isinstance(aug, str) and aug.lower() == "none")):
        raise LayerGraphError(f"Invalid value for 'DataAugmentation': {aug!r}. Expected 'none' or an "
                              "imageDataAugmenter.", "nnet_cnn:augmentedImageDatastore:invalidDataAugmentation")
    aug = "none" if isinstance(aug, str) else aug
    mode = _choice(opts.get("OutputSizeMode", "resize"), "OutputSizeMode", ("resize", "centercrop", "randcrop"))
    background = _logical(opts.get("DispatchInBackground", opts.get("BackgroundExecution", False)),
                          "DispatchInBackground")
    if isinstance(data, ImageDatastore):
        if responses is not None:
            raise LayerGraphError("Responses Y cannot be given with an ImageDatastore: its Labels are the "
                                  "responses.", "nnet_cnn:augmentedImageDatastore:invalidYSpecification")
        base = ("imds", data._n(), data._copy())
        responses = data._labels
    elif isinstance(data, Table):
        if responses is not None:
            raise LayerGraphError("Responses Y cannot be given with a table: its second variable holds them.",
                                  "nnet_cnn:augmentedImageDatastore:invalidYSpecification")
        first = getattr(data, data.columns[0])
        if all(isinstance(v, (str, os.PathLike)) for v in first):
            base = ("files", len(first), [os.fspath(v) for v in first])
        else:
            arr = np.stack([np.asarray(v) for v in first], axis=-1)
            base = ("array", len(first), arr)
        if len(data.columns) > 1:
            responses = getattr(data, data.columns[1])
            responses = Categorical(responses) if all(isinstance(v, str) for v in responses) else np.asarray(responses)
    else:
        arr = np.asarray(data)
        if arr.ndim not in (3, 4) or arr.dtype.kind not in "biuf":
            raise LayerGraphError(f"Invalid image data: expected an ImageDatastore, a table, or a numeric array "
                                  f"H x W x C x N; received an array of size {'x'.join(map(str, arr.shape))}.",
                                  "nnet_cnn:augmentedImageDatastore:invalidX")
        n = arr.shape[-1]
        base = ("array", n, arr)
        if responses is not None:
            if not isinstance(responses, Categorical):
                r = np.asarray(responses)
                responses = Categorical(r) if r.dtype.kind in "UO" else r
            if len(responses) != n:
                raise LayerGraphError(f"The number of observations in X ({n}) and Y ({len(responses)}) must be the "
                                      "same.", "nnet_cnn:augmentedImageDatastore:invalidY")
    return AugmentedImageDatastore(size, base, responses, color, aug, mode, background)


# -- arrayDatastore, combine, transform -----------------------------------------------------------------------
class ArrayDatastore(_Datastore):
    """MATLAB's arrayDatastore: one slice along IterationDimension per observation, a 1 x 1 cell
    (``OutputType 'cell'``) or the slices themselves (``'same'``)."""

    class_name = "matlab.io.datastore.ArrayDatastore"

    def __init__(self, data, dim, read_size, output_type):
        super().__init__()
        self.Data, self.IterationDimension = data, dim
        self.ReadSize, self.OutputType = read_size, output_type

    def _n(self):
        if isinstance(self.Data, Categorical):
            return len(self.Data)
        shape = self.Data.shape + (1,) * max(0, self.IterationDimension - self.Data.ndim)
        return shape[self.IterationDimension - 1]

    def _read_size(self):
        return self.ReadSize

    def _slice(self, i):
        a = self.Data
        if isinstance(a, Categorical):
            return a[i:i + 1]
        if self.IterationDimension > a.ndim:
            a = a.reshape(a.shape + (1,) * (self.IterationDimension - a.ndim))
        return np.take(a, [i], axis=self.IterationDimension - 1)

    def _native(self, i, rng=None):
        s = self._slice(i)
        return [s] if self.OutputType == "cell" else s

    def _columns(self, native):
        return (native[0] if self.OutputType == "cell" else native,)

    def _group(self, natives):
        if self.OutputType == "cell":
            return [n[0] for n in natives] if len(natives) > 1 else natives[0]
        return np.concatenate(natives, axis=self.IterationDimension - 1)

    def _all(self, natives):
        return self._group(natives)

    def _take(self, idx):
        new = self._copy()
        new.Data = self.Data[np.asarray(idx, dtype=np.intp)] if isinstance(self.Data, Categorical) else \
            np.take(self.Data, idx, axis=self.IterationDimension - 1)
        return new

    def shuffle(self):
        return self._take(global_rng().permutation(self._n()))

    def subset(self, indices):
        return self._take(_indices(indices, self._n()))

    def __str__(self):
        return _property_block("ArrayDatastore", [("ReadSize", str(self.ReadSize)),
                                                  ("IterationDimension", str(self.IterationDimension)),
                                                  ("OutputType", f'"{self.OutputType}"')])


def arrayDatastore(A, *args, **kwargs) -> ArrayDatastore:
    """``arrayDatastore(A, 'IterationDimension', 1, 'ReadSize', 1, 'OutputType', 'cell'|'same')``."""
    opts = parse("arrayDatastore", args, kwargs, (), 0, ["IterationDimension", "ReadSize", "OutputType"])
    data = A if isinstance(A, Categorical) else np.asarray(A)
    dim = _check_read_size(opts.get("IterationDimension", 1), "IterationDimension")
    if isinstance(A, Categorical) and dim != 1:
        raise LayerGraphError("A categorical vector is iterated along dimension 1.",
                              "MATLAB:datastoreio:arraydatastore:invalidIterationDimension")
    return ArrayDatastore(data, dim, _check_read_size(opts.get("ReadSize", 1)),
                          _choice(opts.get("OutputType", "cell"), "OutputType", ("cell", "same")))


class CombinedDatastore(_Datastore):
    """MATLAB's CombinedDatastore: each read joins the reads of the underlying datastores,
    horizontally (their cells side by side)."""

    class_name = "matlab.io.datastore.CombinedDatastore"

    def __init__(self, stores):
        super().__init__()
        self.UnderlyingDatastores = list(stores)
        self.random = any(s.random for s in stores)

    def _n(self):
        return min(s._n() for s in self.UnderlyingDatastores)

    def _native(self, i, rng):
        return [c for s in self.UnderlyingDatastores for c in s._columns(s._native(i, rng))]

    def _columns(self, native):
        return tuple(native)

    def _describe(self, i):
        return "; ".join(s._describe(i) for s in self.UnderlyingDatastores)

    def _info(self, idx):
        """One info per underlying datastore, in their order (choice: docs/modern_api.md)."""
        return [s._info(idx) for s in self.UnderlyingDatastores]

    def _group(self, natives):
        return natives[0] if len(natives) == 1 else natives

    def shuffle(self):
        order = global_rng().permutation(self._n())
        new = self._copy()
        new.UnderlyingDatastores = [_reorder(s, order) for s in self.UnderlyingDatastores]
        return new

    def __str__(self):
        inner = "; ".join(f"1x1 {type(s).class_name}" for s in self.UnderlyingDatastores)
        return _property_block("CombinedDatastore", [("UnderlyingDatastores", f"{{{inner}}}")])


def _reorder(ds, order):
    if isinstance(ds, (ImageDatastore, AugmentedImageDatastore, ArrayDatastore)):
        return ds.subset(order + 1)
    if isinstance(ds, TransformedDatastore):
        new = ds._copy()
        new.UnderlyingDatastores = [_reorder(s, order) for s in ds.UnderlyingDatastores]
        return new
    if isinstance(ds, CombinedDatastore):
        new = ds._copy()
        new.UnderlyingDatastores = [_reorder(s, order) for s in ds.UnderlyingDatastores]
        return new
    raise LayerGraphError(f"A {type(ds).__name__} cannot be shuffled.")


class TransformedDatastore(_Datastore):
    """MATLAB's TransformedDatastore: each read is ``fcn(read of the underlying datastore)``."""

    class_name = "matlab.io.datastore.TransformedDatastore"

    def __init__(self, ds, fcn, include_info):
        super().__init__()
        self.UnderlyingDatastores = [ds]
        self.Transforms = [fcn]
        self.IncludeInfo = include_info
        self.random = ds.random

    def _n(self):
        return self.UnderlyingDatastores[0]._n()

    def _native(self, i, rng):
        return self._apply(i, rng)[0]

    def _info(self, idx):
        return self.UnderlyingDatastores[0]._info(idx)

    def _natives_info(self, idx, rng, with_info):
        if not (with_info and self.IncludeInfo):
            return super()._natives_info(idx, rng, with_info)
        pairs = [self._apply(i, rng) for i in idx]
        infos = [info for _, info in pairs]
        return [data for data, _ in pairs], infos[0] if len(infos) == 1 else infos

    def _apply(self, i, rng):
        """(data, info) of observation i: ``fcn(data)``, or with IncludeInfo ``[data, info] =
        fcn(data, info)`` on the underlying read's info."""
        ds = self.UnderlyingDatastores[0]
        data = ds._native(i, rng)
        fcn = self.Transforms[0]
        try:
            if self.IncludeInfo:
                info = ds._info([i])
                out = fcn(data, info)
                return tuple(out) if isinstance(out, tuple) and len(out) == 2 else (out, info)
            return fcn(data), None
        except LayerGraphError:
            raise
        except Exception as err:
            raise LayerGraphError(f"Error in the transform function @{getattr(fcn, '__name__', 'fcn')} on the "
                                  f"{ds._describe(i)}: {err}", "MATLAB:datastoreio:transformeddatastore:fcnError") \
                from None

    def _describe(self, i):
        return self.UnderlyingDatastores[0]._describe(i)

    def _group(self, natives):
        return natives[0] if len(natives) == 1 else natives

    def shuffle(self):
        return _reorder(self, global_rng().permutation(self._n()))

    def __str__(self):
        inner = type(self.UnderlyingDatastores[0]).class_name
        return _property_block("TransformedDatastore", [
            ("UnderlyingDatastores", f"{{1x1 {inner}}}"),
            ("Transforms", "{" + format_value(self.Transforms[0]) + "}"),
            ("IncludeInfo", "1" if self.IncludeInfo else "0")])


def combine(*stores) -> CombinedDatastore:
    """``combine(ds1, ds2, ...)``."""
    if not stores or not all(_is_datastore(s) for s in stores):
        raise LayerGraphError("combine takes datastores: combine(ds1, ds2, ...).",
                              "MATLAB:datastoreio:combineddatastore:invalidInput")
    return CombinedDatastore(stores)


def transform(ds, fcn, *args, **kwargs) -> TransformedDatastore:
    """``transform(ds, @fcn)``, ``transform(ds, @fcn, 'IncludeInfo', true)``."""
    if not _is_datastore(ds):
        raise LayerGraphError("transform takes a datastore and a function: transform(ds, @fcn).",
                              "MATLAB:datastoreio:transformeddatastore:invalidInput")
    if not callable(fcn):
        raise LayerGraphError(f"Invalid transform function {fcn!r}: expected a function handle.",
                              "MATLAB:datastoreio:transformeddatastore:invalidFcn")
    opts = parse("transform", args, kwargs, (), 0, ["IncludeInfo"])
    return TransformedDatastore(ds, fcn, _logical(opts.get("IncludeInfo", False), "IncludeInfo"))


# -- functions on any datastore, MATLAB's way --------------------------------------------------------------
def read(ds, nargout: int = 1):
    """``data = read(ds)``; ``data, info = read(ds, nargout=2)`` is ``[data, info] = read(ds)``."""
    return ds.read(nargout=nargout)


def readall(ds):
    return ds.readall()


def hasdata(ds) -> bool:
    return ds.hasdata()


def reset(ds) -> None:
    ds.reset()


def preview(ds):
    return ds.preview()


def shuffle(ds):
    return ds.shuffle()


def subset(ds, indices):
    return ds.subset(indices)


def partition(ds, n, index):
    return ds.partition(n, index)


def numpartitions(ds, *args):
    return ds.numpartitions(*args)


def readimage(ds, k, nargout: int = 1):
    """``img = readimage(imds, k)``; ``img, info = readimage(imds, k, nargout=2)``."""
    return ds.readimage(k, nargout=nargout)


# -- the datastore as the trainer's source -------------------------------------------------------------------
class _Source(Source):
    """A datastore read by index for training or prediction: predictors into the input layer's
    internal layout, responses into the output's (one-hot for classes)."""

    def __init__(self, ds, in_name, in_size, dtype, target=None):
        self.ds, self.in_name, self.in_size, self.dtype, self.target = ds, in_name, in_size, dtype, target
        self.n = ds._n()
        self.random = ds.random
        self.shapes = {in_name: (in_size.internal, dtype)}
        if target is not None:
            self.shapes[target["ref"]] = (target["size"].internal, dtype)

    def _row(self, i, rng):
        ds = self.ds
        if isinstance(ds, (ImageDatastore, AugmentedImageDatastore)):
            return ds._row(i, rng)
        return ds._columns(ds._native(i, rng))

    def read(self, indices, rng):
        rows = [self._row(int(i), rng) for i in indices]
        x = np.stack([predictor(r[0], self.in_size, self.in_name, self.ds._describe(int(i)))
                      for r, i in zip(rows, indices)])
        out = {self.in_name: np.ascontiguousarray(x, dtype=self.dtype)}
        if self.target is not None:
            out[self.target["ref"]] = self.target["encode"](rows, indices)
        return out


def predictor(value, size, layer_name, what) -> np.ndarray:
    """One observation's predictor (an H x W x C image, or a feature vector) in the internal
    layout (C x H x W; C), or an error naming the observation."""
    a = np.asarray(value)
    if a.dtype.kind not in "biuf":
        raise LayerGraphError(f"Invalid data in the {what}: expected a numeric array for input layer "
                              f"'{layer_name}'.", "nnet_cnn:internal:cnn:validator:InvalidInputData")
    if size.is_image:
        want = size.dims
        if a.ndim == 2:
            a = a[:, :, None]
        if a.ndim == 4 and a.shape[3] == 1:
            a = a[..., 0]
        if a.shape != tuple(want):
            raise LayerGraphError(f"The {what} has size {format_size(a.shape)}, but input layer '{layer_name}' "
                                  f"expects images of size {format_size(want)}. Use an augmentedImageDatastore to "
                                  "resize the images (and 'ColorPreprocessing' to match the channels).",
                                  "nnet_cnn:internal:cnn:validator:InvalidInputSize")
        out = cv.matlab_images_to_internal(a[..., None].astype(np.float32, copy=False))[0]
    else:
        out = a.ravel()
        if out.size != size.channels:
            raise LayerGraphError(f"The {what} has {out.size} elements, but input layer '{layer_name}' expects "
                                  f"{size.channels} features.", "nnet_cnn:internal:cnn:validator:InvalidInputSize")
    if not np.all(np.isfinite(out)):
        raise LayerGraphError(f"The {what} contains NaN or Inf values.")
    return out


def check_files(ds, in_size, in_name) -> None:
    """Before training: every file of an imageDatastore read directly (default ReadFcn) exists,
    is an image, and has the input layer's size; one error naming the first file that is not.
    The files under an augmentedImageDatastore must be images (their size is made to fit).
    Headers only: a file whose pixels are corrupt is met when it is read."""
    if isinstance(ds, AugmentedImageDatastore) and ds._base[0] == "imds" and ds._base[2]._default_fcn:
        for path in ds._base[2]._files:     # resized or cropped later: each file need only be an image
            images.header(path)
        return
    if not isinstance(ds, ImageDatastore) or not ds._default_fcn:
        return
    if ds._n() == 0:
        raise LayerGraphError("The datastore contains no files.", "nnet_cnn:internal:cnn:util:EmptyDatastore")
    for path in ds._files:
        h, w, c = images.header(path)
        if in_size.is_image and (h, w, c) != tuple(in_size.dims):
            raise LayerGraphError(f"The file '{path}' holds an image of size {format_size((h, w, c))}, but input "
                                  f"layer '{in_name}' expects images of size {format_size(in_size.dims)}. Use an "
                                  "augmentedImageDatastore to resize the images.",
                                  "nnet_cnn:internal:cnn:validator:InvalidInputSize")


def run(executor, analysis, ds, refs, MiniBatchSize=128) -> dict:
    """predict / classify / activations on a datastore: its predictors (the first column of
    each read) in mini-batches, read ahead; {ref: internal activations}."""
    from ..data import sources
    from .data import _check_minibatch
    bs = _check_minibatch(MiniBatchSize)
    names = executor.input_names
    if len(names) != 1:
        raise LayerGraphError(f"Predicting on a datastore needs a network with one input; this one has "
                              f"{len(names)} ({', '.join(names)}).")
    size = analysis.info(names[0]).ActivationSizes["out"]
    check_files(ds, size, names[0])
    src = _Source(ds, names[0], size, executor.dtype)
    try:
        return sources.run(executor, {names[0]: src.column(names[0])}, refs, bs)
    except sources.SourceError as err:
        raise LayerGraphError(str(err), err.identifier) from None


__all__ = ["imageDatastore", "augmentedImageDatastore", "imageDataAugmenter", "arrayDatastore", "combine",
           "transform", "splitEachLabel", "countEachLabel", "augment", "read", "readall", "hasdata", "reset",
           "preview", "shuffle", "subset", "partition", "numpartitions", "readimage", "readDatastoreImage"]
