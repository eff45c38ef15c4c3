"""Image files and pixel arrays, with well-kept libraries: Pillow decodes and resizes,
scipy.ndimage warps. Arrays are height x width (x channels), as MATLAB's imread gives them.

  read(path)               the pixels of an image file: uint8 (uint16 for 16-bit files, bool for
                           1-bit ones), H x W for one channel, H x W x 3 for colour; an alpha
                           channel is dropped and a palette expanded to RGB
  header(path)             (height, width, channels) from the file's header, without decoding
  resize(a, (h, w))        bilinear, antialiased when shrinking (MATLAB's imresize default),
                           the dtype kept (integers rounded and clipped)
  warp(a, T, fill)         an affine warp of the same size: T is the 3 x 3 forward matrix in
                           MATLAB's row-vector convention ([x y 1] * T, 0-based pixel centres),
                           bilinear ('nearest' for categorical data), out-of-bounds pixels fill
"""
from __future__ import annotations

import numpy as np

from ..core.errors import LayerGraphError


class ImageReadError(LayerGraphError):
    """An image file that could not be read; ``path`` names it."""

    def __init__(self, path, why):
        self.path = str(path)
        super().__init__(f"Unable to read the file '{path}' as an image: {why}.", "MATLAB:imagesci:imread:fileFormat")


def _pil():
    try:
        from PIL import Image
    except ImportError:
        raise LayerGraphError("Reading image files needs Pillow: pip install layergraph[images].") from None
    return Image


_KEEP = {"1", "L", "I;16", "I;16B", "I", "F", "RGB"}   # modes whose arrays are already imread's


def _as_array(img) -> np.ndarray:
    mode = img.mode
    if mode == "P" or mode == "PA":
        img = img.convert("RGBA" if "transparency" in img.info or mode == "PA" else "RGB")
    elif mode == "LA":
        img = img.convert("L")
    elif mode in ("RGBA", "RGBX", "CMYK", "YCbCr", "LAB", "HSV"):
        img = img.convert("RGB")
    elif mode not in _KEEP:
        img = img.convert("RGB")
    a = np.asarray(img)
    if a.ndim == 3 and a.shape[2] == 4:
        a = a[:, :, :3]
    if img.mode.startswith("I;16"):
        a = a.astype(np.uint16)
    return np.ascontiguousarray(a)


def read(path) -> np.ndarray:
    """The pixels of the image file ``path`` (see the module docstring)."""
    Image = _pil()
    try:
        with Image.open(path) as f:
            f.load()
            return _as_array(f)
    except FileNotFoundError:
        raise ImageReadError(path, "the file does not exist") from None
    except (OSError, ValueError, SyntaxError) as err:
        raise ImageReadError(path, str(err) or type(err).__name__) from None


def header(path) -> tuple[int, int, int]:
    """(height, width, channels) that ``read(path)`` would give, from the header only."""
    Image = _pil()
    try:
        with Image.open(path) as f:
            w, h = f.size
            mode = f.mode
    except FileNotFoundError:
        raise ImageReadError(path, "the file does not exist") from None
    except (OSError, ValueError, SyntaxError) as err:
        raise ImageReadError(path, str(err) or type(err).__name__) from None
    channels = 1 if mode in ("1", "L", "LA", "I", "F") or mode.startswith("I;16") else 3
    return h, w, channels


FILTERS = ("nearest", "bilinear", "bicubic", "lanczos")   # Pillow's resampling filters that resize() takes


def resize(a: np.ndarray, size, method: str = "bilinear") -> np.ndarray:
    """Resize H x W (x C) pixels to ``size`` = (h, w) with Pillow's ``method`` filter (one of
    FILTERS), antialiased when shrinking (the filter widened by the scale factor; bilinear is
    MATLAB's imresize default); integer pixels are rounded and clipped to their type, floats
    stay floats (a Lanczos or bicubic filter may overshoot their range, as Pillow's does)."""
    h, w = int(size[0]), int(size[1])
    if a.shape[:2] == (h, w):
        return a
    Image = _pil()
    flt = {"nearest": Image.NEAREST, "bilinear": Image.BILINEAR, "bicubic": Image.BICUBIC,
           "lanczos": Image.LANCZOS}[method]
    dtype = a.dtype
    planes = a[:, :, None] if a.ndim == 2 else a
    out = np.empty((h, w, planes.shape[2]), dtype=np.float32 if dtype.kind != "u" or dtype.itemsize != 1 else dtype)
    for c in range(planes.shape[2]):
        p = planes[:, :, c]
        if dtype == np.uint8:
            out[:, :, c] = np.asarray(Image.fromarray(np.ascontiguousarray(p)).resize((w, h), flt))
        else:  # float, 16-bit or logical data: one 32-bit float plane each
            img = Image.fromarray(np.ascontiguousarray(p, dtype=np.float32), mode="F")
            out[:, :, c] = np.asarray(img.resize((w, h), flt))
    out = out[:, :, 0] if a.ndim == 2 else out
    if dtype == np.uint8:
        return out
    if dtype.kind in "ui":
        info = np.iinfo(dtype)
        return np.clip(np.rint(out), info.min, info.max).astype(dtype)
    if dtype == np.bool_:
        return out >= 0.5
    return out.astype(dtype)


def warp(a: np.ndarray, T: np.ndarray, fill=0.0, nearest: bool = False) -> np.ndarray:
    """Affine warp of H x W (x C) pixels, output the size of the input. ``T``: 3 x 3 forward
    transform, row-vector convention ([x y 1] * T = [u v 1], x the column, y the row, 0-based
    pixel centres). Each output pixel takes the input at the inverse-mapped point: bilinear
    (``nearest``: nearest neighbour); a point outside the image takes ``fill`` (a number or one
    per channel). Integer pixels are rounded and clipped to their type."""
    from scipy import ndimage
    T = np.asarray(T, dtype=np.float64)
    inv = np.linalg.inv(T.T)            # column-vector convention: [x y 1]' = inv [u v 1]'
    # scipy indexes (row, col) = (y, x): swap both sides of the 2 x 2 part and the offset
    matrix = inv[:2, :2][::-1, ::-1]
    offset = inv[:2, 2][::-1]
    planes = a[:, :, None] if a.ndim == 2 else a
    fills = np.broadcast_to(np.asarray(fill, dtype=np.float64).ravel(), (planes.shape[2],)) \
        if np.size(fill) in (1, planes.shape[2]) else None
    if fills is None:
        raise LayerGraphError(f"FillValue must be a scalar or have one value per channel ({planes.shape[2]}).")
    out = np.empty(planes.shape, dtype=np.float64)
    for c in range(planes.shape[2]):
        out[:, :, c] = ndimage.affine_transform(planes[:, :, c].astype(np.float64), matrix, offset,
                                                order=0 if nearest else 1, mode="constant", cval=float(fills[c]))
    out = out[:, :, 0] if a.ndim == 2 else out
    if a.dtype.kind in "ui":
        info = np.iinfo(a.dtype)
        return np.clip(np.rint(out), info.min, info.max).astype(a.dtype)
    if a.dtype == np.bool_:
        return out >= 0.5
    return out.astype(a.dtype)
