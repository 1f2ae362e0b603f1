"""Where fonts and icons come from: installed packages only, nothing downloaded.

Missing assets raise with the package to install, instead of silently falling
back to other fonts, because a fallback would change the images a seed produces.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from PIL import ImageFont

FONT_DIRS = {
    "dejavu": (Path("/usr/share/fonts/truetype/dejavu"), "fonts-dejavu-core fonts-dejavu-extra"),
    "liberation": (Path("/usr/share/fonts/truetype/liberation2"), "fonts-liberation2"),
    "noto": (Path("/usr/share/fonts/truetype/noto"), "fonts-noto-color-emoji"),
}
# (family dir, file) of every text font used; sans, serif and mono, regular and bold.
TEXT_FONTS = {
    "sans": [("dejavu", "DejaVuSans.ttf"), ("liberation", "LiberationSans-Regular.ttf"),
             ("dejavu", "DejaVuSansCondensed.ttf")],
    "sans-bold": [("dejavu", "DejaVuSans-Bold.ttf"), ("liberation", "LiberationSans-Bold.ttf"),
                  ("dejavu", "DejaVuSansCondensed-Bold.ttf")],
    "serif": [("dejavu", "DejaVuSerif.ttf"), ("liberation", "LiberationSerif-Regular.ttf")],
    "serif-italic": [("dejavu", "DejaVuSerif-Italic.ttf"), ("liberation", "LiberationSerif-Italic.ttf")],
    "serif-bold": [("dejavu", "DejaVuSerif-Bold.ttf"), ("liberation", "LiberationSerif-Bold.ttf")],
    "mono": [("dejavu", "DejaVuSansMono.ttf"), ("liberation", "LiberationMono-Regular.ttf")],
}
EMOJI_FONT = ("noto", "NotoColorEmoji.ttf")
EMOJI_FONT_SIZE = 109  # the only size the bitmap (CBDT) Noto Color Emoji font renders at


class MissingAsset(RuntimeError):
    """An asset the corpus needs is not installed."""


def _font_path(family: str, name: str) -> Path:
    directory, package = FONT_DIRS[family]
    path = directory / name
    if not path.exists():
        raise MissingAsset(f"{path} is missing: apt-get install {package}")
    return path


@lru_cache(maxsize=None)
def text_font(style: str, index: int, size: int) -> ImageFont.FreeTypeFont:
    family, name = TEXT_FONTS[style][index % len(TEXT_FONTS[style])]
    return ImageFont.truetype(str(_font_path(family, name)), size)


@lru_cache(maxsize=1)
def emoji_font() -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(_font_path(*EMOJI_FONT)), EMOJI_FONT_SIZE)


def _fontawesome_root() -> Path:
    try:
        import fontawesomefree
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise MissingAsset("pip install fontawesomefree==6.6.0 (Font Awesome Free icons)") from exc
    return Path(fontawesomefree.__file__).parent / "static" / "fontawesomefree"


@dataclass(frozen=True)
class Icon:
    """One Font Awesome Free icon: its glyph in one of the three icon fonts."""

    name: str
    label: str  # Font Awesome's own label, e.g. "Magnifying Glass": what the picture shows
    codepoint: int
    styles: tuple[str, ...]


@lru_cache(maxsize=1)
def icon_index() -> dict[str, Icon]:
    data = json.loads((_fontawesome_root() / "metadata" / "icons.json").read_text())
    return {name: Icon(name, entry["label"], int(entry["unicode"], 16), tuple(entry["styles"]))
            for name, entry in data.items() if entry.get("styles")}


def icon(name: str) -> Icon:
    try:
        return icon_index()[name]
    except KeyError:
        raise MissingAsset(f"Font Awesome Free has no icon {name!r}") from None


_STYLE_FILES = {"solid": "fa-solid-900.ttf", "regular": "fa-regular-400.ttf", "brands": "fa-brands-400.ttf"}


@lru_cache(maxsize=None)
def icon_font(style: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(_fontawesome_root() / "webfonts" / _STYLE_FILES[style]), size)


def check_assets() -> None:
    """Fail early, with the package names, if anything the corpus renders from is missing."""
    for fonts in TEXT_FONTS.values():
        for family, name in fonts:
            _font_path(family, name)
    _font_path(*EMOJI_FONT)
    icon_index()
