"""Safe decoding of untrusted image bytes: limits before decoding, odd modes, animations, refusals."""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from backend.errors import ApiError
from backend.images import decode_base64, decode_image
from backend_helpers import png_bytes

MB = 1024 * 1024


def decode(data, max_bytes=5 * MB, max_pixels=40_000_000):
    return decode_image(data, max_bytes, max_pixels)


def saved(image, fmt, **kw) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **kw)
    return buffer.getvalue()


def status_of(data, **kw) -> int:
    with pytest.raises(ApiError) as err:
        decode(data, **kw)
    return err.value.status


@pytest.mark.parametrize("fmt, mime", [("PNG", "image/png"), ("JPEG", "image/jpeg"), ("GIF", "image/gif"),
                                       ("WEBP", "image/webp"), ("BMP", "image/bmp")])
def test_common_formats_decode(fmt, mime):
    image = decode(png_bytes((30, 20), fmt=fmt))
    assert (image.width, image.height, image.content_type) == (30, 20, mime)
    assert image.image.size == (30, 20) and len(image.sha256) == 64


def test_decompression_bomb_is_413_without_decoding():
    bomb = saved(Image.new("1", (8000, 6000)), "PNG")  # 48 MP in a few kB
    assert len(bomb) < 100_000
    assert status_of(bomb) == 413


def test_pillow_bomb_guard_is_413_too():
    assert decode(png_bytes((100, 100)), max_pixels=10**12).width == 100
    original = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = 1000
    try:
        assert status_of(png_bytes((100, 100)), max_pixels=10**12) == 413
    finally:
        Image.MAX_IMAGE_PIXELS = original


def test_animated_gif_gives_first_frame():
    frames = [Image.new("RGB", (16, 16), (255, 0, 0))] + [Image.new("RGB", (16, 16), (0, 0, 255))] * 999
    data = saved(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=10)
    image = decode(data).image.convert("RGB")
    assert image.getpixel((5, 5))[0] > 200 and image.getpixel((5, 5))[2] < 50


def test_sixteen_bit_image_keeps_its_contrast():
    array = np.tile(np.linspace(0, 65535, 64, dtype=np.uint16), (8, 1))
    data = saved(Image.fromarray(array), "PNG")
    grey = np.asarray(decode(data).image.convert("L"))
    assert grey.min() < 10 and grey.max() > 245


def test_cmyk_jpeg_decodes():
    assert decode(saved(Image.new("CMYK", (10, 10), (0, 255, 255, 0)), "JPEG")).image.mode == "CMYK"


def test_exif_rotation_is_applied():
    image = Image.new("RGB", (40, 10))
    exif = image.getexif()
    exif[0x0112] = 6  # rotate 90° clockwise for display
    assert decode(saved(image, "JPEG", exif=exif)).image.size == (10, 40)


@pytest.mark.parametrize("data, status", [
    (b"", 422),
    (png_bytes()[:-20], 422),
    (png_bytes(fmt="JPEG")[:100], 422),
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * 30, 422),
    (b"RIFF\x00\x00\x00\x00WEBPVP8 ", 422),
    (b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', 415),
    (b'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY x SYSTEM "file:///etc/passwd">]><svg>&x;</svg>', 415),
    (b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n", 415),  # never handed to Ghostscript
    (png_bytes(fmt="TIFF"), 415),
    (png_bytes(fmt="PDF"), 422),
])
def test_broken_or_refused_inputs(data, status):
    assert status_of(data) == status


def test_size_limit_before_decoding():
    assert status_of(png_bytes((64, 64)), max_bytes=100) == 413
    with pytest.raises(ApiError) as err:
        decode_base64("A" * 2000, max_bytes=100)
    assert err.value.status == 413
