"""Kernel table: (family, operation, device) -> pure function over arrays.

Internal layout (the only one kernels see): images N x C x H x W, C-contiguous;
feature data N x C. dtype float32 by default, float64 on request.
"""
