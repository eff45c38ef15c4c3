"""Data read on demand, for both dialects: image files (``images``: decoding, resizing and
affine warps with Pillow and scipy.ndimage) and sources of observations streamed in
mini-batches with a background prefetch (``sources``). Knows no dialect."""
