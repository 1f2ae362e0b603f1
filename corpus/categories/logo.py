"""Brand logos alone in a link: the alt is the organisation or product the logo stands for.

Real pages put logos in footers (social profiles), share bars, site headers and
walls of partners or sponsors. The marks are simple-icons' (3,470 real brands,
CC0), of two kinds:

* the marks of the social sites pages link to most (:data:`SOCIAL`), symbol only,
  as footers show them: frequent enough to be learned from the pixels;
* *lockups* of any brand: its symbol beside its name set in one of the corpus's
  fonts, as most organisations' logos are. The name is read in the image (OCR),
  not remembered, so a model can learn to name brands it has never seen.

Drawn only for a corpus with real assets (``CorpusConfig.real_assets``). Each
example records its brand as its ``asset``: a brand is in one split only
(corpus/generate.py), so the test split's logos are brands training never saw.
"""
from __future__ import annotations

import random

from PIL import Image, ImageDraw

from corpus import assets, banks, render
from corpus.dom import esc, img_tag
from corpus.draft import Draft

# simple-icons slug -> the profile address a footer links to ("" : no public profile address).
SOCIAL = {"facebook": "https://www.facebook.com/", "x": "https://x.com/", "instagram": "https://www.instagram.com/",
          "youtube": "https://www.youtube.com/@", "github": "https://github.com/",
          "mastodon": "https://mastodon.social/@", "bluesky": "https://bsky.app/profile/", "tiktok": "https://www.tiktok.com/@",
          "pinterest": "https://www.pinterest.com/", "reddit": "https://www.reddit.com/r/",
          "whatsapp": "https://wa.me/", "telegram": "https://t.me/", "discord": "https://discord.gg/",
          "twitch": "https://www.twitch.tv/", "vimeo": "https://vimeo.com/", "rss": ""}
SHARE_PREFIX = {"facebook": "https://www.facebook.com/sharer/sharer.php?u=", "x": "https://x.com/intent/post?url=",
                "reddit": "https://www.reddit.com/submit?url=", "whatsapp": "https://wa.me/?text=",
                "telegram": "https://t.me/share/url?url=", "bluesky": "https://bsky.app/intent/compose?text="}
WALL_HEADINGS = ["Our partners", "Trusted by", "Our sponsors", "Supported by", "Built with", "As featured in",
                 "Our customers", "Funded by"]
MAX_TITLE = 22  # longer brand names are set on two lines on real logos; one line keeps the lockup readable
ORG = "northwind"


def _wordmark_brands() -> list[assets.Brand]:
    """Every brand whose name can be set as a one-line wordmark in the corpus's fonts (Latin letters)."""
    return [b for b in assets.brands().values() if len(b.title) <= MAX_TITLE
            and all(ord(ch) < 0x250 for ch in b.title) and any(ch.isalpha() for ch in b.title)]


def _readable_on_white(color: tuple[int, int, int]) -> tuple[int, int, int]:
    """The brand colour, or near-black where it is too pale to read on white (simple-icons' yellows, whites)."""
    luminance = 0.2126 * color[0] + 0.7152 * color[1] + 0.0722 * color[2]
    return color if luminance < 170 else (33, 37, 41)


def symbol(brand: assets.Brand, size: int, color: tuple[int, int, int]) -> Image.Image:
    """The brand's mark, recoloured (simple-icons marks are one black path)."""
    return render.tinted(assets.svg_image(brand.svg, size, size), color)


def lockup(rng: random.Random, brand: assets.Brand) -> Image.Image:
    """Symbol and name side by side, in the brand's colour on white or white on the brand's colour."""
    height = rng.randrange(24, 57)
    inverted = rng.random() < 0.3
    ink = (255, 255, 255) if inverted else _readable_on_white(brand.color)
    back = (_readable_on_white(brand.color) + (255,)) if inverted else ((255, 255, 255, 0) if rng.random() < 0.5
                                                                        else (255, 255, 255, 255))
    font = assets.text_font(rng.choice(["sans-bold", "sans", "serif-bold"]), rng.randrange(3), int(height * 0.55))
    text_box = ImageDraw.Draw(Image.new("RGBA", (1, 1))).textbbox((0, 0), brand.title, font=font)
    mark_side = int(height * 0.75)
    pad = height // 6
    with_mark = rng.random() < 0.8
    width = pad + (mark_side + pad if with_mark else 0) + (text_box[2] - text_box[0]) + pad
    image = Image.new("RGBA", (width, height), back)
    x = pad
    if with_mark:
        image.alpha_composite(symbol(brand, mark_side, ink), (x, (height - mark_side) // 2))
        x += mark_side + pad
    ImageDraw.Draw(image).text((x - text_box[0], height / 2), brand.title, font=font, fill=ink, anchor="lm")
    return image


def _social(rng: random.Random) -> Draft:
    slug = rng.choice(sorted(SOCIAL))
    brand = assets.brands()[slug]
    size = rng.randrange(16, 33)
    color = _readable_on_white(brand.color) if rng.random() < 0.6 else rng.choice(render.INK)
    image = symbol(brand, size, color)
    src = banks.image_src(rng, slug, "png")
    share = rng.random() < 0.3 and slug in SHARE_PREFIX
    if share:
        reference, decided_by = f"Share on {brand.title}", "both"
        href = SHARE_PREFIX[slug] + "https%3A%2F%2Fexample.com%2Fnews%2F42"
        html = (f'<div class="share"><span>Share this article:</span> '
                f'<a href="{esc(href)}">{img_tag(src, size, size)}</a></div>')
        kind = "news"
    else:
        reference = brand.title
        profile = SOCIAL[slug]
        href, decided_by = (profile + ORG, "either") if profile and rng.random() < 0.5 else ("#", "image")
        html = (f'<footer><p>{esc(rng.choice(["Follow us", "Find us on", "Connect", "Stay in touch"]))}</p>'
                f'<a href="{esc(href)}">{img_tag(src, size, size)}</a> <a href="/privacy">Privacy</a></footer>')
        kind = rng.choice(["local", "shop", "blog"])
    others = [assets.brands()[s].title for s in sorted(SOCIAL) if s != slug]
    near = rng.sample(others, 2) + [f"{brand.title} icon"]
    return Draft("icon_control", image, "PNG", html, banks.page_title(rng, kind), reference, decided_by,
                 f"a {render.color_name(color)} {brand.title} logo", near, asset=f"brand:{slug}")


def _wall(rng: random.Random) -> Draft:
    pool = _wordmark_brands()
    brand = rng.choice(pool)
    image = lockup(rng, brand)
    others = [b for b in rng.sample(pool, 3) if b.slug != brand.slug][:2]
    place = rng.randrange(3)
    if place == 0:  # the site's own logo, linking home
        src = rng.choice(["/static/img/logo.png", f"/assets/{brand.slug}-logo.png",
                          banks.image_src(rng, "logo", "png")])
        html = (f'<header class="site-header"><a class="brand" href="/">{img_tag(src, image.width, image.height)}</a>'
                '<nav><a href="/about">About</a> <a href="/blog">Blog</a> '
                '<a href="/contact">Contact</a></nav></header>')
        title = rng.choice([f"{brand.title} - {rng.choice(['Home', 'Blog', 'About us', 'Pricing'])}",
                            banks.page_title(rng, rng.choice(["app", "shop", "news"]))])
    else:  # a wall of partners: the other logos keep their authors' alt
        href = rng.choice([f"https://www.{brand.slug}.com/", f"/partners/{rng.randrange(1, 40)}", "#"])
        src = rng.choice([f"/img/partners/{brand.slug}.png", banks.image_src(rng, "partner", "png")])
        items = [f'<li><a href="https://www.{o.slug}.com/">'
                 f'<img src="/img/partners/{o.slug}.png" alt="{esc(o.title)}"></a></li>' for o in others]
        items.insert(rng.randrange(len(items) + 1),
                     f'<li><a href="{esc(href)}">{img_tag(src, image.width, image.height)}</a></li>')
        html = f'<section class="logos"><h2>{esc(rng.choice(WALL_HEADINGS))}</h2><ul>{"".join(items)}</ul></section>'
        title = banks.page_title(rng, rng.choice(["app", "news", "local"]))
    near = [o.title for o in others] + [f"{brand.title} logo"]
    decided_by = "either" if brand.title.casefold() in title.casefold() else "image"
    return Draft("icon_control", image, "PNG", html, title, brand.title, decided_by,
                 f"the {brand.title} logo", near, asset=f"brand:{brand.slug}")


def make(rng: random.Random) -> Draft:
    return _social(rng) if rng.random() < 0.45 else _wall(rng)
