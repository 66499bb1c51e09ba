import io

import numpy as np
import pytest
from PIL import Image

from model.images import ImageDecodeError, decode_image, to_rgb


def _encode(img: Image.Image, fmt="PNG", **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def test_rgb_jpeg():
    out = decode_image(_encode(Image.new("RGB", (40, 30), (200, 10, 10)), "JPEG"))
    assert out.shape == (30, 40, 3) and out.dtype == np.uint8 and out[0, 0, 0] > 180


@pytest.mark.parametrize("mode", ["L", "P", "RGBA", "LA", "CMYK", "I;16", "1"])
def test_modes_become_rgb(mode):
    img = Image.new("RGB", (16, 8), (120, 60, 30)).convert(mode)
    fmt = "JPEG" if mode == "CMYK" else ("TIFF" if mode == "I;16" else "PNG")
    out = decode_image(_encode(img, fmt))
    assert out.shape == (8, 16, 3) and out.dtype == np.uint8


def test_sixteen_bit_is_scaled():
    array = np.full((4, 4), 65535, np.uint16)
    out = decode_image(_encode(Image.fromarray(array), "TIFF"))
    assert out.max() == 255


def test_exif_orientation_is_applied():
    img = Image.new("RGB", (40, 20), (0, 0, 0))
    exif = img.getexif()
    exif[0x0112] = 6  # rotate 90 on display
    out = decode_image(_encode(img, "JPEG", exif=exif))
    assert out.shape == (40, 20, 3)


def test_animated_gif_gives_first_frame():
    frames = [Image.new("RGB", (10, 10), (255, 0, 0)), Image.new("RGB", (10, 10), (0, 0, 255))]
    buf = io.BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:])
    out = decode_image(buf.getvalue())
    assert out[0, 0, 0] > 200 and out[0, 0, 2] < 50


@pytest.mark.parametrize("data", [b"", b"not an image at all", b"\x89PNG\r\n\x1a\n" + b"\x00" * 20])
def test_garbage_is_refused(data):
    with pytest.raises(ImageDecodeError):
        decode_image(data)


def test_truncated_jpeg_is_refused():
    data = _encode(Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64, 3), np.uint8)), "JPEG")
    with pytest.raises(ImageDecodeError):
        decode_image(data[: len(data) // 2])


def test_decompression_bomb_is_refused_before_decoding():
    data = _encode(Image.new("L", (5000, 5000)), "PNG")  # compresses to a few KB
    with pytest.raises(ImageDecodeError, match="pixels"):
        decode_image(data, max_pixels=1_000_000)


def test_tiny_image():
    assert decode_image(_encode(Image.new("RGB", (1, 1)))).shape == (1, 1, 3)


def test_to_rgb_arrays():
    assert to_rgb(np.zeros((5, 6), np.uint8)).shape == (5, 6, 3)
    assert to_rgb(np.zeros((5, 6, 4), np.uint8)).shape == (5, 6, 3)
    assert to_rgb(np.ones((2, 2, 3), np.float32)).max() == 255
    assert to_rgb(np.full((2, 2), 4095, np.uint16)).max() == round(4095 / 65535 * 255)
    with pytest.raises(ValueError, match="shape"):
        to_rgb(np.zeros((2, 2, 2)))
    with pytest.raises(ValueError, match="NaN"):
        to_rgb(np.full((2, 2), np.nan))


def _gradient(width: int, height: int) -> Image.Image:
    x = np.linspace(0, 255, width, dtype=np.float32)[None, :, None]
    y = np.linspace(0, 255, height, dtype=np.float32)[:, None, None]
    return Image.fromarray(np.broadcast_to((x + y) / 2, (height, width, 3)).astype(np.uint8))


@pytest.mark.parametrize(("min_long_side", "shape"), [
    (None, (1200, 1600)), (1600, (1200, 1600)), (801, (1200, 1600)), (800, (600, 800)), (401, (600, 800)),
    (400, (300, 400)), (200, (150, 200)), (100, (150, 200)),  # 1/8 is JPEG's smallest built-in scale
])
def test_a_large_jpeg_decodes_at_the_smallest_scale_that_keeps_the_long_side(min_long_side, shape):
    image = _gradient(1600, 1200)
    out = decode_image(_encode(image, "JPEG", quality=95), min_long_side=min_long_side)
    assert out.shape == (*shape, 3)
    # The same picture, smaller: compare with a plain resize (JPEG's scaled decode is not bit-exact).
    expected = np.asarray(image.resize((shape[1], shape[0]), Image.BILINEAR), np.float32)
    assert np.abs(out.astype(np.float32) - expected).mean() < 3.0


def test_reduced_decoding_applies_exif_and_leaves_other_formats_whole():
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 on display
    rotated = decode_image(_encode(_gradient(1600, 1200), "JPEG", exif=exif), min_long_side=400)
    assert rotated.shape == (400, 300, 3)
    assert decode_image(_encode(_gradient(1600, 1200), "PNG"), min_long_side=400).shape == (1200, 1600, 3)
