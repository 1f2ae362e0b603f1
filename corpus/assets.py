"""Where fonts, icons, logos, flags and emoji come from: installed packages only, nothing downloaded.

Missing assets raise with the package to install, instead of silently falling
back to other fonts, because a fallback would change the images a seed produces.
Debian packages give the fonts (Makefile ``system-packages``), PyPI Font Awesome,
and the npm packages pinned in ``package-lock.json`` (``make node``) the brand
logos (simple-icons), flags (flag-icons), two more icon designs (Tabler,
Bootstrap Icons) and two more emoji designs (OpenMoji, Twemoji), drawn from their
SVG sources with resvg.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageFont

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


# npm packages pinned in package-lock.json, installed by `make node` into the repository's node_modules.
NODE_MODULES = Path(__file__).resolve().parents[1] / "node_modules"


def node_package(name: str) -> Path:
    root = NODE_MODULES / name
    if not (root / "package.json").is_file():
        raise MissingAsset(f"{root} is missing: make node (npm ci installs {name} from package-lock.json)")
    return root


def svg_image(path: Path, width: int, height: int) -> Image.Image:
    """An SVG file drawn at exactly ``width`` x ``height`` on transparency (resvg: no browser, no network)."""
    import io

    import resvg_py

    png = resvg_py.svg_to_bytes(svg_path=str(path), width=width, height=height)
    with Image.open(io.BytesIO(png)) as image:
        image = image.convert("RGBA")
    return image if image.size == (width, height) else image.resize((width, height), Image.LANCZOS)


@dataclass(frozen=True)
class Brand:
    """One simple-icons mark: the brand's name as it writes it, its slug (the SVG's file name) and colour."""

    slug: str
    title: str
    color: tuple[int, int, int]

    @property
    def svg(self) -> Path:
        return node_package("simple-icons") / "icons" / f"{self.slug}.svg"


@lru_cache(maxsize=1)
def brands() -> dict[str, Brand]:
    data = json.loads((node_package("simple-icons") / "data" / "simple-icons.json").read_text())
    return {e["slug"]: Brand(e["slug"], e["title"], tuple(int(e["hex"][i:i + 2], 16) for i in (0, 2, 4)))
            for e in data}


@dataclass(frozen=True)
class Flag:
    """One flag-icons flag: ISO 3166 code and the country's English name."""

    code: str
    name: str

    @property
    def svg(self) -> Path:
        return node_package("flag-icons") / "flags" / "4x3" / f"{self.code}.svg"


@lru_cache(maxsize=1)
def flags() -> dict[str, Flag]:
    data = json.loads((node_package("flag-icons") / "country.json").read_text())
    return {entry["code"]: Flag(entry["code"], entry["name"]) for entry in data if entry.get("iso")}


# Icon designs beside Font Awesome (a font): npm package and where one icon's SVG lies in it.
ICON_SETS = {"tabler": ("@tabler/icons", "icons/outline/{name}.svg"),
             "bootstrap": ("bootstrap-icons", "icons/{name}.svg")}


def icon_svg(design: str, name: str) -> Path:
    package, pattern = ICON_SETS[design]
    path = node_package(package) / pattern.format(name=name)
    if not path.is_file():
        raise MissingAsset(f"{package} has no icon {name!r}")
    return path


# Emoji designs beside Noto Color Emoji (a font): the SVG file of one emoji, by its code points.
EMOJI_DESIGNS = ("noto", "openmoji", "twemoji")


def emoji_svg(design: str, char: str) -> Path:
    """The SVG of ``char`` in one design: OpenMoji names files by upper-case code points joined by
    "-" (variation selector kept where Unicode has it), Twemoji by lower-case ones without it."""
    points = [f"{ord(c):X}" for c in char]
    if design == "openmoji":
        folder = node_package("openmoji") / "color" / "svg"
        for candidate in ("-".join(points), "-".join(p for p in points if p != "FE0F")):
            if (folder / f"{candidate}.svg").is_file():
                return folder / f"{candidate}.svg"
    elif design == "twemoji":
        path = node_package("@twemoji/svg") / f"{'-'.join(p.lower() for p in points if p != 'FE0F')}.svg"
        if path.is_file():
            return path
    else:
        raise ValueError(f"{design!r} is not an SVG emoji design (one of {', '.join(EMOJI_DESIGNS[1:])})")
    raise MissingAsset(f"{design} has no emoji {char!r}")


def check_assets(real_assets: bool = False) -> None:
    """Fail early, with the package names, if anything the corpus renders from is missing (the npm
    packages only where the corpus draws real assets)."""
    for fonts in TEXT_FONTS.values():
        for family, name in fonts:
            _font_path(family, name)
    _font_path(*EMOJI_FONT)
    icon_index()
    if not real_assets:
        return
    brands()
    flags()
    node_package("openmoji")
    node_package("@twemoji/svg")
    for package, _pattern in ICON_SETS.values():
        node_package(package)
