"""Emoji, flags and pictograms: the alt is their name, or what they stand for.

Emoji carry their CLDR short names; only the pixels tell which emoji it is. The
shipped model's corpus draws them from Noto Color Emoji; with real assets
(``CorpusConfig.real_assets``) they are drawn in three designs — Noto, OpenMoji and
Twemoji — each (design, emoji) an asset of one split only, so the test split asks
for known emoji in designs training never showed, and flags (flag-icons) join them,
named by their country in country pickers and results tables, a flag in one split
only. Pictograms are Font Awesome symbols in tables and notices: a check mark in a comparison table means "Included" (the place decides
the wording; the picture decides yes or no), a triangle in an alert "Warning".
"""
from __future__ import annotations

import random

from PIL import Image

from corpus import assets, banks, render
from corpus.dom import esc, img_tag
from corpus.draft import Draft

# (emoji, CLDR short name)
EMOJI = [("\U0001F600", "grinning face"), ("\U0001F602", "face with tears of joy"),
         ("\U0001F60D", "smiling face with heart-eyes"), ("\U0001F622", "crying face"), ("\U0001F621", "enraged face"),
         ("\U0001F44D", "thumbs up"), ("\U0001F44E", "thumbs down"), ("\U0001F44F", "clapping hands"),
         ("\U0001F64F", "folded hands"), ("\U0001F525", "fire"), ("\U0001F389", "party popper"),
         ("\u2764\ufe0f", "red heart"), ("\U0001F494", "broken heart"), ("\u2B50", "star"),
         ("\u2705", "check mark button"), ("\u274C", "cross mark"), ("\u26A0\ufe0f", "warning"),
         ("\U0001F680", "rocket"), ("\u2600\ufe0f", "sun"), ("\U0001F355", "pizza"), ("\u2615", "hot beverage"),
         ("\U0001F382", "birthday cake"), ("\U0001F436", "dog face"), ("\U0001F431", "cat face"),
         ("\U0001F4A1", "light bulb"), ("\U0001F4C5", "calendar"), ("\U0001F3C6", "trophy"),
         ("\u26BD", "soccer ball"), ("\U0001F3B5", "musical note"), ("\U0001F4F7", "camera"),
         ("\U0001F914", "thinking face"), ("\U0001F60E", "smiling face with sunglasses"),
         ("\U0001F644", "face with rolling eyes"), ("\U0001F634", "sleeping face"), ("\U0001F440", "eyes"),
         ("\U0001F4AF", "hundred points"), ("\U0001F308", "rainbow"), ("\U0001F37A", "beer mug"),
         ("\U0001F381", "wrapped gift"), ("\U0001F4C8", "chart increasing"), ("\U0001F514", "bell"),
         ("\U0001F512", "locked"), ("\u2708\ufe0f", "airplane"), ("\U0001F4AA", "flexed biceps"),
         ("\U0001F91D", "handshake"), ("\U0001F631", "face screaming in fear"), ("\U0001F973", "partying face"),
         ("\U0001F44B", "waving hand")]
SENTENCES = [("Just landed in Lisbon", "see you all soon"), ("Exam results are in", "so relieved"),
             ("Monday again", "send coffee"), ("We won the final", "what a night"),
             ("New puppy arrives tomorrow", "cannot wait"), ("Deadline moved up a week", "great"),
             ("Happy birthday Sam", "have the best day"), ("Gig tickets booked", "front row")]

# (icon, meaning, setting, decided_by): pictograms whose alt is what they stand for.
PICTOGRAMS = [("check", "Included", "comparison", "both"), ("circle-check", "Included", "comparison", "both"),
              ("xmark", "Not included", "comparison", "both"), ("circle-xmark", "Not included", "comparison", "both"),
              ("triangle-exclamation", "Warning", "alert", "image"), ("circle-info", "Information", "alert", "image"),
              ("wheelchair", "Wheelchair accessible", "amenities", "image"), ("wifi", "Free Wi-Fi", "amenities", "image"),
              ("square-parking", "Parking", "amenities", "image"), ("dog", "Dogs welcome", "amenities", "image"),
              ("utensils", "Restaurant", "amenities", "image")]


# flag-icons codes of the countries whose flags pages show most (country pickers, sports tables):
# few enough that each is seen several times in a 4,000-example corpus.
FLAGS = ["us", "gb", "ca", "au", "de", "fr", "es", "it", "nl", "be", "ch", "at", "se", "no", "dk", "fi", "ie",
         "pt", "pl", "cz", "gr", "tr", "ua", "in", "cn", "jp", "kr", "br", "mx", "ar", "za", "ng", "ke", "eg", "nz"]
FLAG_PLACES = ["picker", "table", "shipping"]


def emoji_picture(char: str, design: str, size: int) -> Image.Image:
    if design == "noto":
        return render.emoji_image(char, size)
    return assets.svg_image(assets.emoji_svg(design, char), size, size)


def _emoji(rng: random.Random, designs: tuple[str, ...]) -> Draft:
    char, name = rng.choice(EMOJI)
    size = rng.choice([16, 18, 20, 24, 32, 48])
    design = rng.choice(designs) if len(designs) > 1 else designs[0]
    image = emoji_picture(char, design, size)
    code = "-".join(f"{ord(c):x}" for c in char if ord(c) != 0xFE0F)
    src = rng.choice([f"https://cdn.example.com/emoji/72x72/{code}.png", f"/static/emoji/{code}.png",
                      f"/images/smilies/{banks.slug(name)}.png", f"/media/{rng.getrandbits(40):010x}.png"])
    before, after = rng.choice(SENTENCES)
    author = rng.choice(banks.NAMES)
    img = img_tag(src, size, size, 'class="emoji" draggable="false"')
    html = rng.choice([
        f'<article class="post"><span class="author">{esc(author)}</span><p>{esc(before)} {img} {esc(after)}</p></article>',
        f'<div class="comment"><b>{esc(author)}</b>: {esc(before)}, {esc(after)} {img}</div>',
        f'<div class="profile"><h2>{esc(author)}</h2><p class="status">{img} {esc(rng.choice(["On holiday", "Busy", "Working from home"]))}</p></div>',
    ])
    others = rng.sample([n for _, n in EMOJI if n != name], 2)
    return Draft("emoji", image.convert("RGBA"), "PNG", html, banks.page_title(rng, "social"), name, "image",
                 f"a small {name} emoji", others + [f"{name} emoji icon"],
                 asset=f"emoji:{design}:{name}" if len(designs) > 1 else "")


def _flag(rng: random.Random) -> Draft:
    code = rng.choice(FLAGS)
    flag = assets.flags()[code]
    width = rng.choice([16, 20, 24, 32, 40])
    image = assets.svg_image(flag.svg, width, width * 3 // 4)
    src = rng.choice([f"/static/flags/4x3/{code}.svg.png", f"/img/flags/{rng.getrandbits(32):08x}.png",
                      banks.image_src(rng, "flag", "png")])
    img = img_tag(src, image.width, image.height)
    place = rng.choice(FLAG_PLACES)
    if place == "picker":
        html = (f'<div class="region"><span>{esc(rng.choice(["Region", "Country", "Ship to", "Store"]))}:</span> '
                f'<button type="button" aria-haspopup="listbox">{img}</button></div>')
        kind = "shop"
    elif place == "shipping":
        html = f'<p class="delivery">{esc(rng.choice(["We deliver to", "Now shipping to", "Available in"]))} {img}</p>'
        kind = "shop"
    else:
        html = (f'<table class="medals"><tr><th>Rank</th><th>Country</th><th>Gold</th></tr>'
                f'<tr><td>{rng.randrange(1, 20)}</td><td>{img}</td><td>{rng.randrange(0, 40)}</td></tr></table>')
        kind = "news"
    others = [assets.flags()[c].name for c in rng.sample([c for c in FLAGS if c != code], 2)]
    return Draft("emoji", image, "PNG", html, banks.page_title(rng, kind), flag.name, "image",
                 f"a small {flag.name} flag", others + [f"Flag of {flag.name} icon"], asset=f"flag:{code}")


def _pictogram(rng: random.Random) -> Draft:
    icon_name, meaning, setting, decided_by = rng.choice(PICTOGRAMS)
    icon = assets.icon(icon_name)
    color = {"Included": (25, 135, 84), "Not included": (220, 53, 69), "Warning": (253, 126, 20)}.get(
        meaning, rng.choice(render.INK))
    image = render.icon_image(icon, rng.choice(icon.styles), rng.randrange(14, 28), color)
    src = banks.image_src(rng, icon_name, rng.choice(["png", "gif"]))
    img = img_tag(src, image.width, image.height)
    if setting == "comparison":
        feature = rng.choice(["Priority support", "Custom domain", "Offline access", "Team accounts", "Backups"])
        html = (f'<table class="plans"><tr><th>Feature</th><th>Basic</th><th>Pro</th></tr>'
                f'<tr><td>{esc(feature)}</td><td>{img}</td><td>Yes</td></tr></table>')
        near = ["Not included" if meaning == "Included" else "Included", icon.label]
    elif setting == "alert":
        message = rng.choice(["Your session will expire in 5 minutes.", "Roadworks may delay deliveries this week.",
                              "Prices include VAT.", "This page was updated yesterday."])
        html = f'<div class="notice" role="status">{img} <p>{esc(message)}</p></div>'
        near = [m for _, m, s, _ in PICTOGRAMS if s == "alert" and m != meaning] + [message]
    else:
        html = (f'<div class="hotel"><h3>{esc(rng.choice(["The Harbour Inn", "Greenfield Lodge", "Mill House B&B"]))}</h3>'
                f'<ul class="amenities"><li>{img}</li></ul></div>')
        near = rng.sample([m for _, m, s, _ in PICTOGRAMS if s == "amenities" and m != meaning], 2) + [icon.label]
    kind = "shop" if setting == "comparison" else rng.choice(["local", "app"])
    return Draft("emoji", image.convert("RGBA") if src.endswith(".png") else image, src.rsplit(".", 1)[1].upper(),
                 html, banks.page_title(rng, kind), meaning, decided_by, f"a {icon.label.lower()} symbol", near)


def make(rng: random.Random) -> Draft:
    """Noto Color Emoji and pictograms: the world of the shipped model."""
    return _emoji(rng, ("noto",)) if rng.random() < 0.65 else _pictogram(rng)


def make_with_real_assets(rng: random.Random) -> Draft:
    """Emoji in three designs, flags and pictograms."""
    roll = rng.random()
    return _emoji(rng, assets.EMOJI_DESIGNS) if roll < 0.55 else _flag(rng) if roll < 0.75 else _pictogram(rng)
