"""Labelled pictures of each kind (backend/kinds.py) at the sizes pages show them, from installed real assets.

Why: the kind recogniser must tell a photograph from a screenshot on pages it has
never seen, so it learns from real pictures of each kind rather than from the
captioning corpus's 64-pixel world:

* photo — photographs from Debian's wallpaper packages (``lomiri-wallpapers``,
  ``mate-backgrounds``; the illustrations among them are left out by name),
  cropped and scaled as pages show photos, saved as JPEG at web qualities;
* screenshot — real documents (the READMEs of the npm packages the tests
  install, rendered with markdown-it-py, some under a site's header bar or a
  dark theme) and app-like pages built from their words (navigation bars, hero
  photos, cards, forms, tables, video players, terminals), in the Chromium the
  tests use, at phone to desktop widths, cropped as authors crop them;
* chart — matplotlib bar, stacked bar, line, area, pie, donut and scatter charts
  labelled with words from those documents;
* text — banners, headings and buttons: phrases from those documents in the
  corpus's fonts and colours;
* graphic — Font Awesome icons and brand marks, flat illustrations of shapes,
  gradients and rules.

Reproducible from the seed (Chromium's rendering aside); nothing is downloaded:
a missing asset raises MissingAsset with the package to install.
"""
from __future__ import annotations

import base64
import io
import random
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from html import escape as html_escape
from pathlib import Path

from PIL import Image, ImageDraw

from corpus.assets import MissingAsset, TEXT_FONTS, icon_font, icon_index, text_font

PHOTO_DIR = Path("/usr/share/backgrounds")
# The photographs among the wallpapers (the others are illustrations and gradients).
PHOTO_FILES = {
    "lomiri-wallpapers": [
        "Bridge_by_Sander_Klootwijk.jpg", "Dragonfly_by_Bolly.jpg", "Kleiber_by_Lukas_Baubkus.jpg",
        "Picture_0B_by_freespace.jpg", "Picture_1A_by_freespace.jpg", "Wine_by_Jakkub_Mede.jpg",
        "aitzgorri_by_Aitzol_Berasategi.jpg", "free_by_Peter_Nerlich.jpg", "friends_by_Aitzol_Berasategi.jpg",
        "life_by_Aitzol_Berasategi.jpg", "picosdeeuropa_by_Aitzol_Berasategi.jpg",
        "seeding_by_Clements_Engelhardt.jpg", "sunset_by_Aitzol_Berasategi.jpg"],
    "mate-backgrounds": [f"mate/nature/{name}.jpg" for name in (
        "Aqua", "Blinds", "Dune", "FreshFlower", "Garden", "GreenMeadow", "LadyBird", "RainDrops", "Storm",
        "TwoWings", "Wood", "YellowFlower")],
}
# Pinned by package-lock.json, so every machine renders the same documents.
DOC_ROOT = Path(__file__).resolve().parents[1] / "node_modules"
CHROMIUM = "/usr/bin/chromium"


@dataclass(frozen=True)
class KindExample:
    kind: str
    source: str
    image: Image.Image


def photo_paths() -> list[Path]:
    paths = [PHOTO_DIR / name for names in PHOTO_FILES.values() for name in names]
    missing = sorted({package for package, names in PHOTO_FILES.items()
                      for name in names if not (PHOTO_DIR / name).is_file()})
    if missing:
        raise MissingAsset(f"photographs missing: apt-get install {' '.join(missing)}")
    return paths


def documents(limit: int = 400) -> list[tuple[Path, str]]:
    """(path, HTML) of real documents: the READMEs of the npm packages the tests install, rendered."""
    from markdown_it import MarkdownIt

    found: list[tuple[Path, str]] = []
    markdown = MarkdownIt("commonmark").enable("table")
    for path in sorted(DOC_ROOT.glob("*/README.md")) + sorted(DOC_ROOT.glob("@*/*/README.md")):
        if len(found) >= limit:
            break
        found.append((path, markdown.render(path.read_text(errors="replace"))))
    if len(found) < 20:
        raise MissingAsset("too few documents to render: run `make node` (npm ci) first")
    return found


def phrases(docs: list[tuple[Path, str]]) -> list[str]:
    """Short runs of real words (headings, link and button labels) taken from the documents."""
    out = set()
    for _, html in docs:
        for match in re.finditer(r"<(h[1-4]|a|strong|button|th)[^>]*>([^<]{3,60})</\1>", html):
            words = " ".join(match.group(2).split())
            if re.fullmatch(r"[A-Za-z][A-Za-z0-9 ,.&'’:!?-]{2,50}", words):
                out.add(words)
    return sorted(out)


def _crop(rng: random.Random, image: Image.Image, min_share: float) -> Image.Image:
    width, height = image.size
    share = rng.uniform(min_share, 1.0)
    aspect = rng.uniform(0.6, 2.2)
    w = min(width, int((width * height * share * aspect) ** 0.5))
    h = min(height, max(16, int(w / aspect)))
    left, top = rng.randrange(0, width - w + 1), rng.randrange(0, height - h + 1)
    return image.crop((left, top, left + w, top + h))


def _scaled(rng: random.Random, image: Image.Image, low: int, high: int) -> Image.Image:
    width = rng.randrange(low, high)
    if width >= image.width:
        return image
    return image.resize((width, max(8, round(image.height * width / image.width))), Image.Resampling.LANCZOS)


def _as_served(rng: random.Random, image: Image.Image, jpeg_share: float) -> Image.Image:
    """Saved and read back as a page would serve it: JPEG at a web quality, or PNG."""
    buffer = io.BytesIO()
    if rng.random() < jpeg_share:
        image.convert("RGB").save(buffer, "JPEG", quality=rng.randrange(55, 93))
    else:
        image.save(buffer, "PNG")
    return Image.open(io.BytesIO(buffer.getvalue()))


def photos(rng: random.Random, n: int) -> list[KindExample]:
    paths = photo_paths()
    out = []
    for i in range(n):
        path = paths[i % len(paths)]
        with Image.open(path) as source:
            source.draft("RGB", (1600, 1600))
            image = _scaled(rng, _crop(rng, source.convert("RGB"), 0.05), 120, 1400)
        out.append(KindExample("photo", path.name, _as_served(rng, image, 0.9)))
    return out


def _photo_uri(rng: random.Random, paths: list[Path], width: int) -> str:
    with Image.open(rng.choice(paths)) as source:
        source.draft("RGB", (width * 2, width * 2))
        image = _crop(rng, source.convert("RGB"), 0.2)
    image.thumbnail((width, width))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=80)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode()


def app_page(rng: random.Random, words: list[str], photo_paths: list[Path]) -> str:
    """A page as sites and apps build them: a navigation bar, then a hero photo with a headline and a call to
    action, cards with photos, a form, a table, a video player or a terminal — the screenshots real pages hold."""
    w = lambda: html_escape(rng.choice(words))  # noqa: E731
    accent = rng.choice(["#005ea2", "#1a73e8", "#d83933", "#2e8540", "#6f42c1", "#e66b00", "#24292f"])
    nav = (f'<nav style="background:{rng.choice([accent, "#fff", "#f0f0f0"])};padding:14px 24px;font:16px sans-serif;'
           f'border-bottom:1px solid #ccc"><b>{w()}</b>' + "".join(f'<a style="margin-left:22px">{w()}</a>' for _ in range(4))
           + "</nav>")
    blocks = []
    for _ in range(rng.randrange(1, 4)):
        block = rng.choice(["hero", "cards", "form", "table", "video", "terminal", "article"])
        if block == "hero":
            blocks.append(f'<section style="background:url({_photo_uri(rng, photo_paths, 1400)}) center/cover;'
                          f'padding:{rng.randrange(60, 200)}px 40px;color:#fff;font:bold 40px sans-serif">'
                          f'<div style="max-width:520px;background:rgba(0,0,0,{rng.choice([0, .3, .6])});padding:16px">{w()}'
                          f'<p style="font:18px sans-serif">{w()} {w()}</p><button style="font:18px sans-serif;padding:10px 20px;'
                          f'background:{accent};color:#fff;border:0">{w()}</button></div></section>')
        elif block == "cards":
            cards = "".join(f'<div style="flex:1;border:1px solid #ddd;margin:8px;font:15px sans-serif">'
                            f'<img src="{_photo_uri(rng, photo_paths, 400)}" style="width:100%;height:140px;object-fit:cover">'
                            f'<h3 style="margin:8px">{w()}</h3><p style="margin:8px">{w()} {w()}</p></div>'
                            for _ in range(rng.randrange(2, 5)))
            blocks.append(f'<div style="display:flex;padding:16px">{cards}</div>')
        elif block == "form":
            fields = "".join(f'<label style="display:block;margin-top:14px">{w()}</label><input style="width:320px;'
                             f'padding:8px;border:1px solid #888">' for _ in range(rng.randrange(2, 6)))
            blocks.append(f'<form style="padding:24px;font:16px sans-serif"><h2>{w()}</h2>{fields}<br><br>'
                          f'<button style="background:{accent};color:#fff;padding:10px 18px;border:0">{w()}</button></form>')
        elif block == "table":
            rows = "".join("<tr>" + "".join(f'<td style="border-bottom:1px solid #ddd;padding:8px">{w()}</td>'
                                            for _ in range(4)) + "</tr>" for _ in range(rng.randrange(3, 10)))
            blocks.append(f'<table style="margin:20px;border-collapse:collapse;font:14px sans-serif">{rows}</table>')
        elif block == "video":
            blocks.append(f'<div style="margin:20px;width:640px;background:#000"><img src="{_photo_uri(rng, photo_paths, 640)}"'
                          f' style="width:640px;height:360px;object-fit:cover;display:block"><div style="height:36px;color:#fff;'
                          f'font:14px sans-serif;padding:8px">&#9654; 0:{rng.randrange(10, 59)} / 4:{rng.randrange(10, 59)}'
                          f' &nbsp; ▬▬▬▬▬●───── &nbsp; CC &nbsp; ⚙</div></div>')
        elif block == "terminal":
            lines = "<br>".join(f"$ {rng.choice(['ls', 'git status', 'npm test', 'cd', 'make'])} {w()}"
                                for _ in range(rng.randrange(3, 12)))
            blocks.append(f'<div style="margin:20px;background:{rng.choice(["#000", "#1e1e1e", "#300a24", "#fff"])};'
                          f'color:{rng.choice(["#ddd", "#0f0", "#333"])};font:14px monospace;padding:12px;'
                          f'border:1px solid #999">{lines}</div>')
        else:
            blocks.append(f'<article style="padding:24px;font:16px/1.5 serif;max-width:700px"><h1>{w()}</h1>'
                          + " ".join(f"<p>{w()} {w()} {w()}.</p>" for _ in range(rng.randrange(2, 6))) + "</article>")
    return f'<body style="margin:0;background:{rng.choice(["#fff", "#fafafa", "#f4f4f4"])}">{nav}{"".join(blocks)}</body>'


def screenshots(rng: random.Random, n: int, docs: list[tuple[Path, str]]) -> list[KindExample]:
    """Taken in a thread of their own: Playwright's sync API refuses a thread that already runs an
    asyncio loop (a caller's own Playwright session, as in the test suite)."""
    with ThreadPoolExecutor(max_workers=1) as worker:
        return worker.submit(_screenshots, rng, n, docs).result()


def _screenshots(rng: random.Random, n: int, docs: list[tuple[Path, str]]) -> list[KindExample]:
    from playwright.sync_api import sync_playwright

    words, photo_files = phrases(docs), photo_paths()
    themes = ["", "body{font-family:serif}", "body{background:#1e1e1e;color:#ddd}a{color:#8cf}",
              "body{font-family:sans-serif;max-width:760px;margin:auto}", "body{background:#f6f8fa}",
              "body{font:14px monospace}"]
    header = ('<header style="background:{0};color:#fff;padding:12px 20px;font:bold 18px sans-serif">{1}'
              '<span style="float:right;font-weight:normal">Docs &nbsp; Blog &nbsp; About</span></header>')
    out = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page()
        for i in range(n):
            path, html = docs[rng.randrange(len(docs))]
            if i % 2:  # half documents, half pages and apps
                path, html = Path("app page"), app_page(rng, words, photo_files)
            page.set_viewport_size({"width": rng.choice([390, 768, 1024, 1280, 1440]), "height": rng.randrange(500, 950)})
            bar = header.format(rng.choice(["#24292f", "#005ea2", "#1a73e8", "#6f42c1", "#0b7a75"]), path.parent.name)
            page.set_content(f"<style>{rng.choice(themes)}</style>{bar if rng.random() < 0.5 else ''}{html}",
                             wait_until="domcontentloaded")
            shot = Image.open(io.BytesIO(page.screenshot(type="png"))).convert("RGB")
            image = _scaled(rng, _crop(rng, shot, 0.15), 200, 1300)
            out.append(KindExample("screenshot", str(path), _as_served(rng, image, 0.5)))
        browser.close()
    return out


def charts(rng: random.Random, n: int, words: list[str]) -> list[KindExample]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    styles = ["default", "ggplot", "seaborn-v0_8-whitegrid", "bmh", "fivethirtyeight", "classic"]
    kinds = ["bar", "barh", "stacked", "line", "area", "pie", "donut", "scatter"]
    out = []
    for i in range(n):
        kind = kinds[i % len(kinds)]
        labels = [w[:14] for w in rng.sample(words, rng.randrange(3, 8))]
        values = [rng.uniform(1, 100) for _ in labels]
        with plt.style.context(rng.choice(styles)):
            fig, ax = plt.subplots(figsize=(rng.uniform(3.5, 9), rng.uniform(2.5, 6)), dpi=100)
            if kind == "bar":
                ax.bar(labels, values)
            elif kind == "barh":
                ax.barh(labels, values)
            elif kind == "stacked":
                ax.bar(labels, values)
                ax.bar(labels, [rng.uniform(1, 50) for _ in labels], bottom=values)
            elif kind in ("line", "area"):
                series = [sum(rng.uniform(-10, 12) for _ in range(k + 1)) + 50 for k in range(len(labels) * 3)]
                (ax.fill_between(range(len(series)), series, alpha=0.6) if kind == "area"
                 else ax.plot(series, marker=rng.choice(["", "o"])))
            elif kind in ("pie", "donut"):
                ax.pie(values, labels=labels, wedgeprops={"width": 0.4} if kind == "donut" else None)
            else:
                ax.scatter([rng.gauss(0, 1) for _ in range(60)], [rng.gauss(0, 1) for _ in range(60)])
            if kind not in ("pie", "donut") and rng.random() < 0.3 and kind in ("line", "area"):
                ax.set_xticks(range(len(labels)), labels)  # the draw is made for bars too, as the fitted model's was
            if rng.random() < 0.8:
                ax.set_title(rng.choice(words))
            fig.tight_layout()
            buffer = io.BytesIO()
            fig.savefig(buffer, format="png")
            plt.close(fig)
        out.append(KindExample("chart", kind, _as_served(rng, Image.open(buffer).convert("RGB"), 0.3)))
    return out


def _colours(rng: random.Random) -> tuple[tuple[int, int, int], tuple[int, int, int]]:
    dark = tuple(rng.randrange(0, 90) for _ in range(3))
    light = tuple(rng.randrange(200, 256) for _ in range(3))
    bright = tuple(rng.randrange(0, 256) for _ in range(3))
    background = rng.choice([light, dark, bright])
    ink = dark if sum(background) > 380 else light
    return background, ink


def texts(rng: random.Random, n: int, words: list[str]) -> list[KindExample]:
    styles = list(TEXT_FONTS)
    out = []
    for i in range(n):
        lines = [rng.choice(words) for _ in range(rng.choice([1, 1, 1, 2, 3]))]
        font = text_font(rng.choice(styles), rng.randrange(3), rng.randrange(14, 64))
        background, ink = _colours(rng)
        boxes = [font.getbbox(line) for line in lines]
        pad = rng.randrange(4, 40)
        width = max(b[2] for b in boxes) + 2 * pad
        line_height = max(b[3] for b in boxes) + 6
        image = Image.new("RGB", (width, line_height * len(lines) + 2 * pad), background)
        draw = ImageDraw.Draw(image)
        if rng.random() < 0.3:  # a banner's gradient
            for y in range(image.height):
                t = y / max(image.height - 1, 1)
                draw.line([(0, y), (width, y)], fill=tuple(int(c * (1 - 0.4 * t)) for c in background))
        for k, line in enumerate(lines):
            draw.text((pad, pad + k * line_height), line, font=font, fill=ink)
        out.append(KindExample("text", lines[0], _as_served(rng, image, 0.3)))
    return out


def graphics(rng: random.Random, n: int) -> list[KindExample]:
    icons = sorted(icon_index().values(), key=lambda icon: icon.name)
    out = []
    for i in range(n):
        style = i % 3
        side = rng.choice([16, 20, 24, 32, 48, 64, 96, 128, 200, 320])
        background, ink = _colours(rng)
        transparent = rng.random() < 0.4
        image = Image.new("RGBA", (side, side) if style < 2 else (rng.randrange(40, 900), rng.randrange(4, 400)),
                          (0, 0, 0, 0) if transparent else (*background, 255))
        draw = ImageDraw.Draw(image)
        if style == 0:  # an icon or a brand mark
            icon = rng.choice(icons)
            glyph_style = rng.choice(icon.styles)
            font = icon_font(glyph_style, max(8, int(side * 0.8)))
            draw.text((side / 2, side / 2), chr(icon.codepoint), font=font, fill=(*ink, 255), anchor="mm")
            source = icon.name
        elif style == 1:  # a flat illustration: a few filled shapes
            for _ in range(rng.randrange(2, 9)):
                box = sorted(rng.sample(range(side), 2)), sorted(rng.sample(range(side), 2))
                colour = (*(rng.randrange(256) for _ in range(3)), 255)
                shape = rng.choice([draw.ellipse, draw.rectangle, draw.rounded_rectangle])
                shape([box[0][0], box[1][0], box[0][1], box[1][1]], fill=colour)
            source = "shapes"
        else:  # a gradient, a rule or a border
            w, h = image.size
            for x in range(w):
                t = x / max(w - 1, 1)
                draw.line([(x, 0), (x, h)], fill=(*(int(a + (b - a) * t) for a, b in zip(background, ink)), 255))
            source = "gradient"
        out.append(KindExample("graphic", source, _as_served(rng, image, 0.1)))
    return out


def kind_examples(seed: int = 0, per_kind: int = 150, progress=print) -> list[KindExample]:
    """``per_kind`` labelled pictures of each kind (backend.kinds.KINDS), reproducible from ``seed``."""
    rng = random.Random(f"kinds:{seed}")
    docs = documents()
    words = phrases(docs)
    out: list[KindExample] = []
    for kind, make in (("photo", lambda: photos(rng, per_kind)),
                       ("screenshot", lambda: screenshots(rng, per_kind, docs)),
                       ("chart", lambda: charts(rng, per_kind, words)),
                       ("text", lambda: texts(rng, per_kind, words)),
                       ("graphic", lambda: graphics(rng, per_kind))):
        progress(f"kinds: {per_kind} {kind} pictures")
        out += make()
    return out
