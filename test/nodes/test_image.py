"""numpy <-> sensor_msgs/Image conversion and its input checks."""

import numpy as np
import pytest
from sensor_msgs.msg import Image

from synth_agent.nodes.image import ImageError, image_to_numpy, numpy_to_image


@pytest.mark.parametrize(
    "encoding, shape, dtype",
    [
        ("rgb8", (4, 6, 3), np.uint8),
        ("bgra8", (4, 6, 4), np.uint8),
        ("mono8", (4, 6), np.uint8),
        ("16UC1", (4, 6), np.uint16),
        ("32FC1", (4, 6), np.float32),
    ],
)
def test_round_trip(encoding, shape, dtype):
    rng = np.random.default_rng(0)
    arr = (rng.random(shape) * 200).astype(dtype)
    msg = numpy_to_image(arr, encoding, frame_id="camera")
    assert (msg.height, msg.width, msg.encoding, msg.header.frame_id) == (4, 6, encoding, "camera")
    back = image_to_numpy(msg)
    assert back.dtype == dtype and back.shape == shape
    np.testing.assert_array_equal(back, arr)


def test_padded_rows_and_big_endian_are_read():
    arr = np.arange(12, dtype=np.uint16).reshape(3, 4)
    msg = Image(height=3, width=4, encoding="16UC1", is_bigendian=1, step=10)
    rows = [arr[r].astype(">u2").tobytes() + b"\0\0" for r in range(3)]
    msg.data = b"".join(rows)
    np.testing.assert_array_equal(image_to_numpy(msg), arr)


@pytest.mark.parametrize(
    "msg, reason",
    [
        (
            Image(height=2, width=2, encoding="yuv422", step=4, data=bytes(8)),
            "unsupported encoding",
        ),
        (Image(height=0, width=2, encoding="mono8", step=2, data=b""), "empty image"),
        (Image(height=2, width=2, encoding="rgb8", step=6, data=bytes(11)), "expected step"),
        (Image(height=2, width=2, encoding="rgb8", step=4, data=bytes(8)), "shorter than a row"),
    ],
)
def test_malformed_images_raise_with_reason(msg, reason):
    with pytest.raises(ImageError, match=reason):
        image_to_numpy(msg)


def test_wrong_channel_count_is_refused():
    with pytest.raises(ImageError, match="3 channel"):
        numpy_to_image(np.zeros((2, 2, 4), np.uint8), "rgb8")
