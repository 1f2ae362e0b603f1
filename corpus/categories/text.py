"""Images of text: buttons, banners, headings, quotes, screenshots of posts.

The right alt is the text itself (W3C: images of text), so the image decides;
the rejected near misses are the same text with a typo, truncated, or another
label of the same kind. Each phrase is an asset of one split only, so the test
split's images of text hold phrases training never showed: it measures reading,
not recall of a list.
"""
from __future__ import annotations

import random

from corpus import banks, render
from corpus.dom import esc, img_tag
from corpus.draft import Draft

BUTTONS = ["Sign up", "Buy now", "Learn more", "Download", "Subscribe", "Get started", "Add to basket",
           "Contact us", "Book a table", "Donate", "Log in", "Read more", "Shop now", "Register",
           "Join free", "Apply today", "Watch video", "Order online", "Request a quote", "Try it free"]
BANNERS = ["Summer Sale 50% off", "Free delivery over 30 pounds", "New collection out now", "Open Sunday 10-4",
           "Last chance: ends tonight", "Back to school deals", "Members save 20%", "Now hiring",
           "Grand opening Saturday", "Tickets on sale now", "Winter menu is here", "Closed for holidays"]
HEADINGS = ["Ticket Prices", "Our Menu", "Opening Hours", "Meet the Team", "Latest News", "Contact",
            "Frequently Asked Questions", "Our Story", "Upcoming Events", "Gallery", "Pricing", "Testimonials"]
QUOTES = [("Simplicity is the ultimate sophistication.", "Leonardo da Vinci"),
          ("Well done is better than well said.", "Benjamin Franklin"),
          ("The best way out is always through.", "Robert Frost"),
          ("Not all those who wander are lost.", "J. R. R. Tolkien"),
          ("Be yourself; everyone else is already taken.", "Oscar Wilde"),
          ("Whatever you are, be a good one.", "Abraham Lincoln"),
          ("Stay hungry, stay foolish.", "Stewart Brand"),
          ("Nothing will work unless you do.", "Maya Angelou")]
POSTS = ["Just adopted a rescue dog and I am already in love", "Our train has been stuck for two hours again",
         "Big news: we are opening a second shop next month", "Does anyone know why my sourdough never rises",
         "Reminder that the library is free and amazing", "Finished my first marathon today, legs are gone",
         "Hot take: pineapple belongs on pizza", "Power cut on the whole street, send candles",
         "Voting closes at 10pm, do not forget", "This sunset from my balcony tonight is unreal"]
REACTIONS = ["lol this", "Can't believe this happened", "Saw this and thought of you all", "Same energy",
             "Sharing for visibility", "This is so true", "Context in the replies", "Me every Monday"]


def typo(rng: random.Random, text: str) -> str:
    """The text with one letter dropped, doubled or swapped: a near miss that looks right."""
    letters = [i for i, ch in enumerate(text) if ch.isalpha()]
    i = rng.choice(letters)
    kind = rng.randrange(3)
    if kind == 0 and len(letters) > 2:
        return text[:i] + text[i + 1:]
    if kind == 1:
        return text[:i] + text[i] + text[i:]
    j = i + 1 if i + 1 < len(text) and text[i + 1] != text[i] else i - 1
    a, b = sorted((i, j))
    return text[:a] + text[b] + text[a] + text[b + 1:] if a >= 0 else text + text[-1]


def _other(rng: random.Random, bank: list[str], value: str) -> str:
    return rng.choice([item for item in bank if item != value])


def _button(rng: random.Random) -> Draft:
    label = rng.choice(BUTTONS)
    bg, fg = rng.choice(render.SWATCHES)
    upper = rng.random() < 0.3
    image = render.text_box(rng, label.upper() if upper else label, rng.choice(["sans-bold", "sans"]),
                            rng.randrange(12, 18), fg, bg, pad=(rng.randrange(10, 20), rng.randrange(6, 10)),
                            radius=rng.choice([0, 4, 8, 16]))
    kind = rng.choice(["shop", "local", "blog", "news"])
    src = banks.image_src(rng, label + " button", rng.choice(["png", "png", "gif"]))
    href = "/" + banks.slug(label)
    html = (f'<section class="cta"><p>{esc(rng.choice(["Ready when you are.", "It only takes a minute.", "No card needed.", "Offer ends soon."]))}</p>'
            f'<a class="btn" href="{esc(href)}">{img_tag(src, image.width, image.height)}</a></section>')
    return Draft("text", image, "GIF" if src.endswith(".gif") else "PNG", html, banks.page_title(rng, kind),
                 label, "image", f"a {render.color_name(bg)} button with the words {label}",
                 [typo(rng, label), _other(rng, BUTTONS, label)], asset=f"text:{label}")


def _banner(rng: random.Random) -> Draft:
    text = rng.choice(BANNERS)
    bg, fg = rng.choice(render.SWATCHES)
    image = render.text_box(rng, text, rng.choice(["sans-bold", "serif-bold"]), rng.randrange(18, 26), fg, bg,
                            pad=(rng.randrange(16, 30), rng.randrange(12, 22)), radius=rng.choice([0, 0, 10]), wrap=18)
    src = banks.image_src(rng, "banner " + text, "png")
    wrap = rng.choice(["div", "a"])
    inner = img_tag(src, image.width, image.height)
    body = f'<a href="/offers/{banks.slug(text)}">{inner}</a>' if wrap == "a" else inner
    html = f'<div class="promo-banner">{body}</div><ul class="products"><li>New arrivals</li><li>Best sellers</li></ul>'
    return Draft("text", image, "PNG", html, banks.page_title(rng, rng.choice(["shop", "local"])), text, "image",
                 f"a {render.color_name(bg)} promotional banner with large lettering",
                 [typo(rng, text), _other(rng, BANNERS, text), " ".join(text.split()[:2])], asset=f"text:{text}")


def _heading(rng: random.Random) -> Draft:
    text = rng.choice(HEADINGS)
    fg = rng.choice(render.INK)
    image = render.text_box(rng, text, rng.choice(["serif-bold", "sans-bold", "serif-italic"]),
                            rng.randrange(18, 28), fg, (255, 255, 255), pad=(4, 4), radius=0)
    src = banks.image_src(rng, "heading " + text, rng.choice(["png", "gif"]))
    level = rng.choice(["h1", "h2", "h2", "h3"])
    para = rng.choice(["Adults 12 pounds, children 6 pounds, under fives free.", "All dishes are made fresh every morning.",
                       "We are open every day except Tuesday.", "Get in touch with any questions you have.",
                       "Find out what is happening this month."])
    html = f'<section><{level}>{img_tag(src, image.width, image.height)}</{level}><p>{esc(para)}</p></section>'
    return Draft("text", image, "GIF" if src.endswith(".gif") else "PNG", html,
                 banks.page_title(rng, rng.choice(["local", "blog"])), text, "image",
                 f"the words {text} in {render.color_name(fg)} decorative lettering",
                 [typo(rng, text), _other(rng, HEADINGS, text)], asset=f"text:{text}")


def _quote(rng: random.Random) -> Draft:
    quote, author = rng.choice(QUOTES)
    bg, fg = rng.choice(render.SWATCHES)
    shown = f"\u201c{quote}\u201d \u2014 {author}"
    image = render.text_box(rng, shown, rng.choice(["serif-italic", "serif"]), rng.randrange(13, 17), fg, bg,
                            pad=(14, 12), radius=8, wrap=28)
    src = banks.image_src(rng, "quote", "png")
    html = (f'<article class="post"><h2>{esc(rng.choice(["Monday motivation", "Quote of the day", "Words to live by"]))}</h2>'
            f'<p>{img_tag(src, image.width, image.height)}</p><p>Share it with someone who needs it today.</p></article>')
    reference = f"{quote} \u2014 {author}"
    other, other_author = rng.choice([q for q in QUOTES if q[0] != quote])
    return Draft("text", image, "PNG", html, banks.page_title(rng, "blog"), reference, "image",
                 f"a quotation in {render.color_name(fg)} serif type on a {render.color_name(bg)} card",
                 [quote, f"{other} \u2014 {other_author}", f"{typo(rng, quote)} \u2014 {author}"],
                 asset=f"text:{quote}")


def _post(rng: random.Random) -> Draft:
    name = rng.choice(banks.NAMES)
    user = banks.handle(rng, name)
    text = rng.choice(POSTS)
    image = render.post_card(rng, name, user, text, dark=rng.random() < 0.3)
    src = banks.image_src(rng, "screenshot", "png")
    reaction = rng.choice(REACTIONS)
    poster = rng.choice([n for n in banks.NAMES if n != name])
    html = (f'<article class="post"><header><span class="author">{esc(poster)}</span></header>'
            f'<div class="post-body"><p>{esc(reaction)}</p>'
            f'<div class="media">{img_tag(src, image.width, image.height)}</div></div></article>')
    reference = f"Post by @{user}: {text}"
    return Draft("text", image, "PNG", html, banks.page_title(rng, "social"), reference, "image",
                 "a screenshot of a social media post with a round avatar and several lines of text",
                 [text, f"Post by @{user}: {_other(rng, POSTS, text)}", f"Post by @{user}: {typo(rng, text)}"],
                 asset=f"text:{text}")


KINDS = [(_button, 4), (_banner, 2), (_heading, 2), (_quote, 1), (_post, 2)]


def make(rng: random.Random) -> Draft:
    makers, weights = zip(*KINDS)
    return rng.choices(makers, weights)[0](rng)
