"""The dataset fingerprint as docs/design.md defines it, computed here independently of provinstr's code."""

from __future__ import annotations

import hashlib

import numpy as np


def documented_sha256(array) -> str:
    """sha256(b"provinstr-array-v1\\0" + dtype + b"\\0" + shape + b"\\0" + C-order bytes)."""
    array = np.ascontiguousarray(array)
    shape = ",".join(str(d) for d in array.shape)
    header = b"provinstr-array-v1\0" + array.dtype.str.encode() + b"\0" + shape.encode() + b"\0"
    return hashlib.sha256(header + array.tobytes()).hexdigest()
