"""Decorative images: spacers, dividers, gradients, bullets, corners, ornaments,
and icons whose meaning the text next to them already gives.

All take ``alt=""``. Most are recognisable from the pixels (a 1x1 transparent
GIF, a thin line); the redundant icon is not: the same cart picture that is
"Shopping cart" alone in a link is decorative beside the word "Cart", so only
the context decides. Rejected answers describe the picture or repeat the text.
"""
from __future__ import annotations

import random

from PIL import Image, ImageDraw

from corpus import assets, banks, render
from corpus.dom import esc, img_tag
from corpus.draft import Draft


def _spacer(rng: random.Random) -> Draft:
    width, height = rng.choice([(1, 1), (1, 10), (10, 1), (20, 20), (1, 5)])
    image = Image.new("P", (width, height), 0)
    image.putpalette([255, 255, 255, 0, 0, 0])
    image.info["transparency"] = 0
    src = rng.choice(["/images/spacer.gif", "/img/pixel.gif", "/s.gif", "/images/clear.gif", "/blank.gif"])
    html = (f'<table class="layout"><tr><td>{img_tag(src, width * rng.choice([1, 5, 20]), height)}</td>'
            f'<td>{esc(rng.choice(["Welcome to our home page!", "Latest offers", "Member login", "Site map"]))}</td></tr></table>')
    return Draft("decorative", image, "GIF", html, banks.page_title(rng, "local"), "", "image",
                 "a transparent spacer", ["Spacer", "Blank image"])


def _divider(rng: random.Random) -> Draft:
    width, height = rng.randrange(120, 320), rng.randrange(2, 9)
    color = rng.choice(render.INK + [(200, 200, 200), (220, 180, 120)])
    image = Image.new("RGB", (width, height), (255, 255, 255))
    draw = ImageDraw.Draw(image)
    style = rng.choice(["solid", "dashed", "dotted", "double"])
    if style == "solid":
        draw.rectangle((0, height // 3, width, 2 * height // 3), fill=color)
    elif style == "double":
        draw.line((0, 0, width, 0), fill=color)
        draw.line((0, height - 1, width, height - 1), fill=color)
    else:
        step = 8 if style == "dashed" else 4
        for x in range(0, width, step):
            draw.rectangle((x, height // 3, x + step // 2, 2 * height // 3), fill=color)
    src = banks.image_src(rng, rng.choice(["divider", "hr", "line", "separator"]), rng.choice(["png", "gif"]))
    html = (f'<section><p>{esc(rng.choice(["Thanks for reading.", "That is all for this week.", "More news below."]))}</p>'
            f'<div class="sep">{img_tag(src, width, height)}</div><h3>{esc(rng.choice(["Related stories", "Comments", "Next week"]))}</h3></section>')
    return Draft("decorative", image, "GIF" if src.endswith(".gif") else "PNG", html,
                 banks.page_title(rng, rng.choice(["news", "blog"])), "", "image",
                 f"a thin {render.color_name(color)} {style} line", ["Divider", "Horizontal line"])


def _gradient(rng: random.Random) -> Draft:
    width, height = rng.randrange(60, 200), rng.randrange(20, 60)
    (a, _), (b, _) = rng.sample(render.SWATCHES, 2)
    image = Image.new("RGB", (width, height))
    vertical = rng.random() < 0.5
    draw = ImageDraw.Draw(image)
    steps = height if vertical else width
    for i in range(steps):
        t = i / max(1, steps - 1)
        color = tuple(round(a[k] + (b[k] - a[k]) * t) for k in range(3))
        draw.line((0, i, width, i) if vertical else (i, 0, i, height), fill=color)
    src = banks.image_src(rng, "bg gradient", "png")
    html = (f'<div class="hero"><div class="hero-bg">{img_tag(src, width, height)}</div>'
            f'<h1>{esc(rng.choice(["Welcome", "Plan your visit", "Spring is here"]))}</h1></div>')
    return Draft("decorative", image, "PNG", html, banks.page_title(rng, rng.choice(["local", "shop"])), "", "image",
                 f"a gradient from {render.color_name(a)} to {render.color_name(b)}", ["Background", "Gradient"])


def _bullet(rng: random.Random) -> Draft:
    size = rng.randrange(6, 14)
    color = rng.choice(render.INK + [(220, 53, 69), (25, 135, 84)])
    image = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    shape = rng.choice(["dot", "square", "arrow"])
    if shape == "dot":
        draw.ellipse((0, 0, size - 1, size - 1), fill=color)
    elif shape == "square":
        draw.rectangle((1, 1, size - 2, size - 2), fill=color)
    else:
        draw.polygon([(1, 0), (size - 1, size // 2), (1, size - 1)], fill=color)
    items = rng.sample(["Free delivery", "30-day returns", "Friendly support", "Open late on Fridays",
                        "Parking on site", "Gift wrapping"], 3)
    src = banks.image_src(rng, "bullet", rng.choice(["gif", "png"]))
    html = ("<ul class='features'>" + f"<li>{img_tag(src, size, size)} {esc(items[0])}</li>"
            + "".join(f"<li>{esc(item)}</li>" for item in items[1:]) + "</ul>")
    return Draft("decorative", image, "GIF" if src.endswith(".gif") else "PNG", html,
                 banks.page_title(rng, rng.choice(["shop", "local"])), "", "image",
                 f"a small {render.color_name(color)} {shape}", ["Bullet", items[0]])


def _corner(rng: random.Random) -> Draft:
    size = rng.randrange(8, 20)
    bg, _ = rng.choice(render.SWATCHES)
    image = Image.new("RGB", (size, size), (255, 255, 255))
    ImageDraw.Draw(image).pieslice((0, 0, 2 * size, 2 * size), 180, 270, fill=bg)
    src = rng.choice(["/images/corner-tl.gif", "/img/rc_top_left.gif", "/skin/box-corner.png"])
    html = (f'<table class="box"><tr><td>{img_tag(src, size, size)}</td><td></td></tr>'
            f'<tr><td></td><td>{esc(rng.choice(["Latest news", "Special offer", "Opening times"]))}</td></tr></table>')
    return Draft("decorative", image, "GIF" if src.endswith(".gif") else "PNG", html, banks.page_title(rng, "local"),
                 "", "image", f"a rounded {render.color_name(bg)} corner", ["Corner", "Rounded corner"])


def _ornament(rng: random.Random) -> Draft:
    name = rng.choice(["leaf", "star", "snowflake", "paw", "mug-hot"])
    icon = assets.icon(name)
    image = render.icon_image(icon, rng.choice(icon.styles), rng.randrange(12, 22), rng.choice(render.INK))
    heading = rng.choice(["Our Story", "Seasonal Specials", "Welcome Friends", "Latest from the blog"])
    src = banks.image_src(rng, f"{name} ornament", "png")
    html = f'<h2 class="fancy">{img_tag(src, image.width, image.height)} {esc(heading)}</h2>'
    return Draft("decorative", image, "PNG", html, banks.page_title(rng, rng.choice(["blog", "local"])), "", "image",
                 f"a small {icon.label.lower()} ornament", [icon.label, heading])


REDUNDANT = [("cart-shopping", "Cart", "/cart", "Shopping cart"), ("phone", "Call us", "tel:+441234567890", "Phone"),
             ("envelope", "Email us", "mailto:hello@example.com", "Email"),
             ("download", "Download PDF", "/files/menu.pdf", "Download"), ("print", "Print this page", "", "Print"),
             ("magnifying-glass", "Search", "", "Search"), ("house", "Home", "/", "Home"),
             ("user", "My account", "/account", "Account"), ("gear", "Settings", "/settings", "Settings"),
             ("check", "Free shipping on all orders", "", "Check mark")]


def _redundant_icon(rng: random.Random) -> Draft:
    name, text, href, alone = rng.choice(REDUNDANT)
    icon = assets.icon(name)
    image = render.icon_image(icon, rng.choice(icon.styles), rng.randrange(14, 26), rng.choice(render.INK))
    src = banks.image_src(rng, name, "png")
    img = img_tag(src, image.width, image.height)
    if name == "check":
        html = f'<ul class="perks"><li>{img} {esc(text)}</li><li>Easy returns</li></ul>'
    elif href:
        html = f'<nav class="utility"><a href="{esc(href)}">{img} {esc(text)}</a></nav>'
    else:
        html = f'<div class="tools"><button type="button">{img} {esc(text)}</button></div>'
    return Draft("decorative", image, "PNG", html, banks.page_title(rng, rng.choice(["shop", "local", "app"])), "",
                 "context", f"a {icon.label.lower()} icon", [alone, text])


KINDS = [(_spacer, 2), (_divider, 2), (_gradient, 1), (_bullet, 2), (_corner, 1), (_ornament, 1),
         (_redundant_icon, 3)]


def make(rng: random.Random) -> Draft:
    makers, weights = zip(*KINDS)
    return rng.choices(makers, weights)[0](rng)
