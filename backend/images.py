"""Validation and safe decoding of untrusted image bytes.

Limits are checked before any pixel is decoded: the byte size first, then the
pixel count read from the header (a decompression bomb is a tiny file with a
huge pixel count). Only common web raster formats are decoded — other formats
Pillow knows (EPS would call Ghostscript, for one) are named from their header
and refused with 415, never loaded — and SVG is refused outright: the server never renders documents or fetches what they
reference. Animations are described by their first frame.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import io
import re
import struct
import warnings
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from backend.errors import ApiError

ALLOWED_FORMATS = ("PNG", "JPEG", "GIF", "WEBP", "BMP", "ICO")
_SVG_OR_XML = re.compile(rb"^\s*(<\?xml|<!doctype svg|<svg|<!--)", re.IGNORECASE)
_HIGH_BIT_MODES = ("I;16", "I;16B", "I;16L", "I;16N", "I", "F")


@dataclass
class DecodedImage:
    """An image that passed validation: the bytes as received and the decoded first frame."""

    data: bytes
    sha256: str
    image: Image.Image
    content_type: str
    width: int
    height: int


def decode_base64(text: object, max_bytes: int) -> bytes:
    """Bytes of a base64 string, refusing oversize input before decoding it."""
    if not isinstance(text, str) or not text:
        raise ApiError(400, "invalid_shape", "'image' must be a non-empty base64 string")
    if len(text) * 3 // 4 > max_bytes + 3:
        raise ApiError(413, "image_too_large", f"image larger than {max_bytes} bytes")
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ApiError(422, "invalid_base64", "'image' is not valid base64") from None
    return data


def check_bytes(data: bytes, max_bytes: int) -> None:
    """The checks that need no decoding (empty, too large, SVG or XML), run on every image received."""
    if not data:
        raise ApiError(422, "invalid_image", "empty image")
    if len(data) > max_bytes:
        raise ApiError(413, "image_too_large", f"image larger than {max_bytes} bytes")
    if _SVG_OR_XML.match(data[:512]) or b"<svg" in data[:1024].lower():
        raise ApiError(415, "unsupported_image_type", "SVG and XML images are not accepted; send a raster image")


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def decode_image(data: bytes, max_bytes: int, max_pixels: int) -> DecodedImage:
    """Validate and decode ``data`` (see module docstring) or raise ApiError 413/415/422."""
    check_bytes(data, max_bytes)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            try:
                probe = Image.open(io.BytesIO(data), formats=ALLOWED_FORMATS)
            except UnidentifiedImageError:
                _refuse_other_formats(data)
                raise
            fmt = probe.format
            width, height = probe.size
            if width < 1 or height < 1:
                raise ApiError(422, "invalid_image", "image has no pixels")
            if width * height > max_pixels:
                raise ApiError(413, "too_many_pixels", f"image has {width}x{height} pixels, more than {max_pixels}")
            probe.verify()  # structure and checksums; the object is unusable afterwards
            image = Image.open(io.BytesIO(data), formats=[fmt])
            image.seek(0)  # first frame only of an animation
            image.load()
    except ApiError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ApiError(413, "too_many_pixels", "image pixel count exceeds the limit") from None
    except UnidentifiedImageError:
        raise ApiError(422, "invalid_image", "not a readable image") from None
    except (OSError, ValueError, SyntaxError, EOFError, IndexError, TypeError, MemoryError, struct.error):
        raise ApiError(422, "invalid_image", "the image is corrupt or truncated") from None
    return DecodedImage(
        data=data,
        sha256=sha256_of(data),
        image=normalise(image),
        content_type=Image.MIME.get(fmt, "application/octet-stream"),
        width=width,
        height=height,
    )


def _refuse_other_formats(data: bytes) -> None:
    """415 for an image Pillow knows but we do not accept; only its header parser runs, nothing is decoded."""
    try:
        with Image.open(io.BytesIO(data)) as other:
            fmt = other.format
    except Exception:
        return
    raise ApiError(415, "unsupported_image_type",
                   f"image format {fmt} not accepted (accepted: {', '.join(ALLOWED_FORMATS)})")


def normalise(image: Image.Image) -> Image.Image:
    """Upright, and 8-bit where the file was 16-bit or float (RGB conversion would saturate it)."""
    try:
        image = ImageOps.exif_transpose(image)
    except Exception:  # a broken EXIF block must not sink an otherwise fine image
        pass
    if image.mode in _HIGH_BIT_MODES:
        array = np.asarray(image, dtype=np.float64)
        low, high = float(array.min()), float(array.max())
        scaled = (array - low) / (high - low) * 255 if high > low else np.zeros_like(array)
        image = Image.fromarray(scaled.astype(np.uint8), mode="L")
    return image
