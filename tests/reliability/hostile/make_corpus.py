"""Write the binary files of the hostile corpus into ``files/`` (run: python tests/reliability/hostile/make_corpus.py).

The files are committed (all are small: bombs are small by nature); this script
says how each was made so that it can be remade or extended. Requests that are
big (oversized bodies, 100,000-level JSON) are not stored: manifest.json names
a generator for them, run at test time (see test_hostile_corpus.py).
"""
from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

FILES = Path(__file__).resolve().parent / "files"


def saved(image: Image.Image, fmt: str, **kw) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **kw)
    return buffer.getvalue()


def photo(size=(48, 32)) -> Image.Image:
    rng = np.random.default_rng(7)
    return Image.fromarray(rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8))


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_bomb(width: int, height: int) -> bytes:
    """A 1-bit greyscale PNG of width×height zeros: kilobytes on disk, gigapixels when decoded."""
    row = b"\x00" + b"\x00" * ((width + 7) // 8)
    compressor = zlib.compressobj(9)
    body = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header) + png_chunk(b"IDAT", body) + png_chunk(b"IEND", b"")


def jpeg_with_size(width: int, height: int) -> bytes:
    """A real small JPEG whose SOF0 header claims width×height."""
    data = bytearray(saved(photo((16, 16)), "JPEG"))
    at = data.find(b"\xff\xc0")
    data[at + 5:at + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def gif_with_screen(width: int, height: int) -> bytes:
    data = bytearray(saved(Image.new("P", (8, 8)), "GIF"))
    data[6:10] = struct.pack("<HH", width, height)
    return bytes(data)


def files() -> dict[str, bytes]:
    png = saved(photo(), "PNG")
    jpeg = saved(photo(), "JPEG", quality=80)
    gif = saved(photo().convert("P"), "GIF")
    webp = saved(photo(), "WEBP")
    bad_crc = bytearray(png)
    bad_crc[29] ^= 0xFF  # inside the IHDR CRC
    zero_size = bytearray(png)
    zero_size[16:24] = b"\x00" * 8  # IHDR width and height 0
    frames = [Image.new("RGB", (16, 16), (255, 0, 0))] + [Image.new("RGB", (16, 16), (0, 0, i % 256)) for i in range(999)]
    exif_image = photo((40, 10))
    exif = exif_image.getexif()
    exif[0x0112] = 6  # display rotated 90°
    broken_exif = bytearray(saved(photo(), "JPEG", exif=b"Exif\x00\x00MM\x00*\x00\x00\x00\x08\xff\xff"))
    sixteen = Image.fromarray(np.tile(np.linspace(0, 65535, 64, dtype=np.uint16), (16, 1)))
    return {
        "zero.png": b"", "zero.jpg": b"", "zero.gif": b"", "zero.webp": b"",
        "truncated.png": png[: len(png) // 2],
        "truncated.jpg": jpeg[: len(jpeg) // 2],
        "truncated.gif": gif[:20],
        "truncated.webp": webp[:30],
        "header-only.png": png[:8],
        "bad-crc.png": bytes(bad_crc),
        "zero-size.png": bytes(zero_size),
        "bomb-100mp.png": png_bomb(10_000, 10_000),
        "bomb-3600mp.jpg": jpeg_with_size(60_000, 60_000),
        "bomb-screen.gif": gif_with_screen(65_535, 65_535),
        "frames-1000.gif": saved(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=10),
        "sixteen-bit.png": saved(sixteen, "PNG"),
        "cmyk.jpg": saved(Image.new("CMYK", (24, 24), (0, 255, 255, 0)), "JPEG"),
        "exif-rotated.jpg": saved(exif_image, "JPEG", exif=exif),
        "broken-exif.jpg": bytes(broken_exif),
        "palette-transparent.png": saved(Image.new("P", (12, 12)), "PNG", transparency=0),
        "tiff.tif": saved(photo(), "TIFF"),
        "eps.eps": b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n(%pipe%id) (r) file\n",
        "svg-script.svg": b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>fetch("http://127.0.0.1/")</script></svg>',
        "svg-xxe.svg": (b'<?xml version="1.0"?>\n<!DOCTYPE svg [<!ENTITY x SYSTEM "file:///etc/passwd">'
                        b'<!ENTITY y SYSTEM "http://169.254.169.254/latest/meta-data/">]>\n<svg>&x;&y;</svg>'),
        "svg-bom.svg": b"\xef\xbb\xbf<svg xmlns='http://www.w3.org/2000/svg'><image href='http://example.com/x.png'/></svg>",
        "html-as-image.png": b"<!doctype html><html><body><img src=x onerror=alert(1)></body></html>",
        "polyglot.gif": b"GIF89a/*" + b"\x00" * 10 + b"*/=alert(1);",
        "valid.png": png,
    }


def main() -> None:
    FILES.mkdir(exist_ok=True)
    for name, data in files().items():
        (FILES / name).write_bytes(data)
    print(f"wrote {len(files())} files to {FILES}")


if __name__ == "__main__":
    main()
