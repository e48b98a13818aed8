"""numpy <-> sensor_msgs/Image without cv_bridge (which is not installable pip-only).

Images are checked on the way in: an unknown encoding, a size that does not match the data, or
an empty image raises `ImageError` with the reason, so nodes can log it and drop the frame.
Filling `msg.data` from `arr.tobytes()` matters: assigning a memoryview costs ~40 ms per frame.
"""

from __future__ import annotations

import numpy as np
from sensor_msgs.msg import Image

# encoding -> (dtype, channels)
ENCODINGS: dict[str, tuple[np.dtype, int]] = {
    "rgb8": (np.dtype(np.uint8), 3),
    "bgr8": (np.dtype(np.uint8), 3),
    "rgba8": (np.dtype(np.uint8), 4),
    "bgra8": (np.dtype(np.uint8), 4),
    "mono8": (np.dtype(np.uint8), 1),
    "8UC1": (np.dtype(np.uint8), 1),
    "8UC3": (np.dtype(np.uint8), 3),
    "mono16": (np.dtype(np.uint16), 1),
    "16UC1": (np.dtype(np.uint16), 1),
    "32FC1": (np.dtype(np.float32), 1),
}


class ImageError(ValueError):
    """An Image message that cannot be turned into an array; the text says why."""


def numpy_to_image(array: np.ndarray, encoding: str, frame_id: str = "", stamp=None) -> Image:
    """Wrap an HxW or HxWxC array as an Image (the array is copied once, via tobytes)."""
    if encoding not in ENCODINGS:
        raise ImageError(f"unsupported encoding {encoding!r}")
    dtype, channels = ENCODINGS[encoding]
    arr = np.asarray(array)
    if arr.ndim == 2:
        arr = arr[:, :, None]
    if arr.ndim != 3 or arr.shape[2] != channels:
        raise ImageError(f"{encoding} needs {channels} channel(s), got shape {array.shape}")
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ImageError("empty image")
    arr = np.ascontiguousarray(arr, dtype=dtype.newbyteorder("<"))
    msg = Image()
    if stamp is not None:
        msg.header.stamp = stamp
    msg.header.frame_id = frame_id
    msg.height, msg.width = int(arr.shape[0]), int(arr.shape[1])
    msg.encoding = encoding
    msg.is_bigendian = 0
    msg.step = int(arr.shape[1] * channels * dtype.itemsize)
    msg.data = arr.tobytes()
    return msg


def image_to_numpy(msg: Image) -> np.ndarray:
    """View an Image as an HxW (one channel) or HxWxC array, validating size and encoding."""
    if msg.encoding not in ENCODINGS:
        raise ImageError(f"unsupported encoding {msg.encoding!r}")
    dtype, channels = ENCODINGS[msg.encoding]
    if msg.height == 0 or msg.width == 0:
        raise ImageError("empty image")
    row = msg.width * channels * dtype.itemsize
    if msg.step < row:
        raise ImageError(f"step {msg.step} is shorter than a row of {row} bytes")
    data = np.frombuffer(msg.data, dtype=np.uint8)
    if data.size != msg.step * msg.height:
        raise ImageError(
            f"data has {data.size} bytes, expected step*height = {msg.step * msg.height}"
        )
    rows = data.reshape(msg.height, msg.step)[:, :row]
    order = ">" if msg.is_bigendian else "<"
    arr = (
        np.ascontiguousarray(rows)
        .view(dtype.newbyteorder(order))
        .reshape(msg.height, msg.width, channels)
    )
    if order == ">":
        arr = arr.astype(dtype)
    return arr[:, :, 0] if channels == 1 else arr
