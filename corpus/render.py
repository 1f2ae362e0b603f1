"""Pillow drawing primitives: text boxes, icon glyphs, emoji and post cards.

Images are web-sized (tens to a few hundred pixels) because the model sees them
at 64-96 px; drawing them larger would only cost time and disk.
"""
from __future__ import annotations

import math
import random
import textwrap

from PIL import Image, ImageDraw

from corpus import assets

Color = tuple[int, int, int]

# Background/foreground pairs with readable contrast, as buttons and banners use.
SWATCHES: list[tuple[Color, Color]] = [
    ((13, 110, 253), (255, 255, 255)), ((25, 135, 84), (255, 255, 255)), ((220, 53, 69), (255, 255, 255)),
    ((255, 193, 7), (33, 37, 41)), ((33, 37, 41), (255, 255, 255)), ((248, 249, 250), (33, 37, 41)),
    ((111, 66, 193), (255, 255, 255)), ((253, 126, 20), (255, 255, 255)), ((255, 255, 255), (13, 71, 161)),
    ((232, 244, 253), (21, 101, 192)), ((0, 128, 128), (255, 255, 255)), ((255, 240, 245), (136, 14, 79)),
]
INK: list[Color] = [(33, 37, 41), (85, 85, 85), (13, 110, 253), (0, 0, 0), (108, 117, 125), (25, 118, 210)]
COLOR_NAMES = {(13, 110, 253): "blue", (25, 135, 84): "green", (220, 53, 69): "red", (255, 193, 7): "yellow",
               (33, 37, 41): "black", (248, 249, 250): "light grey", (111, 66, 193): "purple",
               (253, 126, 20): "orange", (255, 255, 255): "white", (232, 244, 253): "pale blue",
               (0, 128, 128): "teal", (255, 240, 245): "pink", (85, 85, 85): "grey", (0, 0, 0): "black",
               (108, 117, 125): "grey", (25, 118, 210): "blue", (13, 71, 161): "dark blue",
               (21, 101, 192): "blue", (136, 14, 79): "dark pink"}


def color_name(color: Color) -> str:
    return COLOR_NAMES.get(tuple(color), "coloured")


def text_box(rng: random.Random, text: str, style: str, size: int, fg: Color, bg: Color,
             pad: tuple[int, int] = (12, 8), radius: int = 6, wrap: int = 0, align: str = "center",
             canvas: Color | None = None) -> Image.Image:
    """Text on a rounded rectangle, optionally wrapped to ``wrap`` characters a line."""
    font = assets.text_font(style, rng.randrange(8), size)
    body = "\n".join(textwrap.wrap(text, wrap)) if wrap else text
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    left, top, right, bottom = (math.floor(v) if i < 2 else math.ceil(v) for i, v in enumerate(
        probe.multiline_textbbox((0, 0), body, font=font, align=align, spacing=4)))
    width, height = right - left + 2 * pad[0], bottom - top + 2 * pad[1]
    image = Image.new("RGB", (width, height), canvas or (255, 255, 255))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((0, 0, width - 1, height - 1), radius=radius, fill=bg)
    draw.multiline_text((pad[0] - left, pad[1] - top), body, font=font, fill=fg, align=align, spacing=4)
    return image


def _frame(size: int, shape: str, bg: Color) -> tuple[Image.Image, int]:
    """A transparent canvas for an icon of ``size``, with a filled circle or rounded square behind it
    (as badges and FABs are) or none; and the padding the icon sits at."""
    pad = max(2, size // 4) if shape != "none" else max(1, size // 10)
    full = size + 2 * pad
    image = Image.new("RGBA", (full, full), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    if shape == "circle":
        draw.ellipse((0, 0, full - 1, full - 1), fill=bg)
    elif shape == "square":
        draw.rounded_rectangle((0, 0, full - 1, full - 1), radius=full // 5, fill=bg)
    return image, pad


def icon_image(icon: assets.Icon, style: str, size: int, fg: Color, shape: str = "none",
               bg: Color = (255, 255, 255)) -> Image.Image:
    """A Font Awesome glyph on transparency, or on a filled circle/rounded square."""
    image, _pad = _frame(size, shape, bg)
    font = assets.icon_font(style, size)
    centre = (image.width / 2, image.height / 2)
    ImageDraw.Draw(image).text(centre, chr(icon.codepoint), font=font, fill=fg, anchor="mm")
    return image


def svg_icon_image(path, size: int, fg: Color, shape: str = "none", bg: Color = (255, 255, 255)) -> Image.Image:
    """An SVG icon (a one-colour line or fill drawing) in ``fg``, framed as :func:`icon_image` frames glyphs."""
    image, pad = _frame(size, shape, bg)
    image.alpha_composite(tinted(assets.svg_image(path, size, size), fg), (pad, pad))
    return image


def tinted(mark: Image.Image, color: Color) -> Image.Image:
    """A one-colour drawing (its shape is its alpha) in ``color``: SVG icon sets draw in black or currentColor."""
    ink = Image.new("RGBA", mark.size, tuple(color) + (255,))
    ink.putalpha(mark.getchannel("A"))
    return ink


def emoji_image(char: str, size: int) -> Image.Image:
    """A Noto Color Emoji glyph drawn at the font's native size, then scaled like a web emoji."""
    font = assets.emoji_font()
    big = Image.new("RGBA", (160, 160), (0, 0, 0, 0))
    ImageDraw.Draw(big).text((80, 80), char, font=font, embedded_color=True, anchor="mm")
    box = big.getbbox()
    if box is None:
        raise assets.MissingAsset(f"the emoji font cannot draw {char!r}")
    glyph = big.crop(box)
    side = max(glyph.size)
    square = Image.new("RGBA", (side, side), (0, 0, 0, 0))
    square.paste(glyph, ((side - glyph.width) // 2, (side - glyph.height) // 2))
    return square.resize((size, size), Image.LANCZOS)


def post_card(rng: random.Random, name: str, handle: str, text: str, dark: bool) -> Image.Image:
    """A screenshot of a social-media post: avatar, name, handle and wrapped text."""
    bg, fg, sub = ((21, 32, 43), (255, 255, 255), (139, 152, 165)) if dark else \
        ((255, 255, 255), (15, 20, 25), (83, 100, 113))
    style_index = rng.randrange(8)
    bold = assets.text_font("sans-bold", style_index, 14)
    regular = assets.text_font("sans", style_index, 13)
    small = assets.text_font("sans", style_index, 12)
    lines = textwrap.wrap(text, 34)
    width, height = 280, 58 + 18 * len(lines)
    image = Image.new("RGB", (width, height), bg)
    draw = ImageDraw.Draw(image)
    avatar = SWATCHES[rng.randrange(len(SWATCHES))][0]
    draw.ellipse((10, 10, 42, 42), fill=avatar)
    draw.text((26, 26), name[:1].upper(), font=bold, fill=(255, 255, 255), anchor="mm")
    draw.text((50, 10), name, font=bold, fill=fg)
    draw.text((50, 28), "@" + handle, font=small, fill=sub)
    for i, line in enumerate(lines):
        draw.text((12, 50 + 18 * i), line, font=regular, fill=fg)
    draw.rectangle((0, 0, width - 1, height - 1), outline=sub)
    return image
