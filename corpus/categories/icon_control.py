"""Icons and logos alone in a link or button: the alt is the action or destination.

The shipped model's corpus draws Font Awesome icons; with real assets
(``CorpusConfig.real_assets``) icons come in three designs (Font Awesome, Tabler,
Bootstrap Icons) and a share are brand logos (corpus/categories/logo.py).

The same picture means different things in different places (a magnifier is
"Search" in a header and "Zoom in" on a photo viewer; an X is "Close" in a
dialog and "Remove item" in a cart), so each use records what decides it:
``context`` (the picture is ambiguous), ``image`` (the place is ambiguous),
``both`` or ``either``. Near misses are the picture's other meanings and the
place's other actions.
"""
from __future__ import annotations

import random
from typing import Callable

from corpus import assets, banks, render
from corpus.categories import logo
from corpus.dom import esc
from corpus.draft import Draft

# Share of this category's examples that are real brand logos (corpus/categories/logo.py).
LOGO_SHARE = 0.3
PRODUCTS = [("Trail 2 tent", "149"), ("Wool socks", "12"), ("Camping stove", "45"), ("Head torch", "19"),
            ("Sleeping bag", "89"), ("Water bottle", "15")]
FILES = [("Annual report 2024", "annual-report-2024.pdf", "PDF"), ("Menu", "menu.pdf", "PDF"),
         ("Price list", "prices.xlsx", "Excel"), ("Application form", "application-form.docx", "Word"),
         ("Term dates", "term-dates.pdf", "PDF")]
BRANDS = {"facebook": ("Facebook", "https://www.facebook.com/sharer/sharer.php?u=", "https://www.facebook.com/"),
          "x-twitter": ("X", "https://twitter.com/intent/tweet?url=", "https://x.com/"),
          "instagram": ("Instagram", "", "https://www.instagram.com/"),
          "youtube": ("YouTube", "", "https://www.youtube.com/@"),
          "linkedin": ("LinkedIn", "https://www.linkedin.com/sharing/share-offsite/?url=", "https://www.linkedin.com/company/"),
          "github": ("GitHub", "", "https://github.com/")}
BRAND_COLORS = {"facebook": (24, 119, 242), "x-twitter": (0, 0, 0), "instagram": (193, 53, 132),
                "youtube": (255, 0, 0), "linkedin": (10, 102, 194), "github": (36, 41, 47)}

# Settings: (page kind, html template). "{control}" is replaced by the link or button holding the icon.
SETTINGS: dict[str, tuple[str, Callable[[random.Random], str]]] = {
    "header": ("shop", lambda r: '<header class="site-header"><a class="logo" href="/">Northwind</a><nav>'
               '<a href="/products">Products</a> <a href="/about">About</a> {control}</nav></header>'),
    "search_form": ("shop", lambda r: '<form role="search" action="/search"><input type="search" name="q" '
                    'placeholder="Search products">{control}</form>'),
    "clear_search": ("shop", lambda r: '<form role="search" action="/search"><input type="search" name="q" '
                     'value="red tent">{control}<button type="submit">Search</button></form>'),
    "viewer": ("shop", lambda r: '<figure class="zoomable"><img src="/photos/tent-large.jpg" alt="Blue two-person tent">'
               '<div class="zoom-controls">{control}<span>100%</span><button>Reset</button></div>'
               '<figcaption>Drag the photo to pan</figcaption></figure>'),
    "product_card": ("shop", lambda r: '<div class="product"><img src="/photos/p{n}.jpg" alt="{product}">'
                     '<h3>{product}</h3><p class="price">{price} pounds</p>{control}</div>'),
    "dialog": ("app", lambda r: '<div role="dialog" aria-labelledby="dlg-title"><h2 id="dlg-title">'
               + r.choice(["Sign up for our newsletter", "Cookie settings", "Share this photo", "Session expired"])
               + '</h2>{control}<p>' + r.choice(["Get the best deals first.", "Choose which cookies we may use.",
                                                 "Copy the link below.", "Please log in again."]) + '</p></div>'),
    "cart_row": ("shop", lambda r: '<table class="cart"><tr><th>Item</th><th>Qty</th><th>Price</th><th></th></tr>'
                 '<tr><td>{product}</td><td>1</td><td>{price} pounds</td><td>{control}</td></tr></table>'),
    "pagination": ("news", lambda r: '<nav class="pagination" aria-label="Pages"><a href="?page=1">1</a> '
                   '<a href="?page=2">2</a> <span aria-current="page">3</span> <a href="?page=4">4</a> {control}</nav>'),
    "carousel": ("local", lambda r: '<div class="carousel"><div class="slide"><img src="/slides/{n}.jpg" '
                 'alt="Our new bakery counter"><p>Fresh bread every morning</p></div>{control}<span>Slide 2 of 5</span></div>'),
    "app_bar": ("app", lambda r: '<div class="app-bar">{control}<span class="title">'
                + r.choice(["Inbox", "Message", "Project settings", "Your photos"]) + '</span></div>'),
    "post_actions": ("social", lambda r: '<article class="post"><p>' + r.choice(
        ["Morning run done, 10k in the rain", "New blog post is up, link in bio", "Who else is watching the match?"])
        + '</p><div class="actions">{control}<span class="count">' + str(r.randrange(1, 300)) + '</span></div></article>'),
    "file_row": ("local", lambda r: '<ul class="downloads"><li class="file"><span>{file_title}</span> '
                 '<span class="size">' + f"{r.randrange(1, 40) / 10:.1f}" + ' MB</span> {control}</li></ul>'),
    "footer_social": ("local", lambda r: '<footer><p>Follow us</p>{control} <a href="/privacy">Privacy</a> '
                      '<a href="/terms">Terms</a></footer>'),
    "share_bar": ("news", lambda r: '<div class="share"><span>Share this article:</span> {control}</div>'),
    "footer_contact": ("local", lambda r: '<footer><address>12 High Street, Greenfield</address>{control}</footer>'),
    "article_tools": ("news", lambda r: '<div class="article-tools">{control}<span>Text size</span>'
                      '<button>A+</button></div>'),
    "map_controls": ("app", lambda r: '<div class="map"><div class="map-canvas" role="img" aria-label="Map of the '
                     'town centre"></div><div class="map-controls">{control}</div><p>Map data from contributors</p></div>'),
    "quantity": ("shop", lambda r: '<div class="qty"><label for="q">Quantity</label>{control}'
                 '<input id="q" value="1"></div>'),
    "video": ("app", lambda r: '<div class="player"><video src="/media/trailer.mp4"></video><div class="controls">'
              '{control}<span>0:00 / 2:31</span></div></div>'),
    "editor": ("app", lambda r: '<div role="toolbar" aria-label="Formatting">{control}<select><option>Paragraph'
               '</option></select></div><div contenteditable="true">Dear team,</div>'),
}

# (icon, action, setting, href, decided_by). href "" means a <button>; "{brand}" etc. are filled in.
USES: list[tuple[str, str, str, str, str]] = [
    ("magnifying-glass", "Search", "search_form", "", "either"),
    ("magnifying-glass", "Search", "header", "/search", "either"),
    ("magnifying-glass", "Zoom in", "viewer", "", "context"),
    ("cart-shopping", "Shopping cart", "header", "/cart", "either"),
    ("cart-shopping", "Add to cart", "product_card", "", "both"),
    ("heart", "Add to wishlist", "product_card", "", "both"),
    ("heart", "Wishlist", "header", "/wishlist", "either"),
    ("heart", "Like", "post_actions", "", "both"),
    ("xmark", "Close", "dialog", "", "context"),
    ("xmark", "Remove item", "cart_row", "", "context"),
    ("xmark", "Clear search", "clear_search", "", "context"),
    ("trash-can", "Remove item", "cart_row", "", "context"),
    ("trash-can", "Delete post", "post_actions", "", "both"),
    ("chevron-right", "Next page", "pagination", "?page=4", "either"),
    ("chevron-right", "Next slide", "carousel", "", "both"),
    ("chevron-left", "Previous slide", "carousel", "", "both"),
    ("chevron-left", "Back", "app_bar", "/inbox", "context"),
    ("arrow-left", "Back", "app_bar", "/inbox", "context"),
    ("bars", "Menu", "app_bar", "", "image"),
    ("bell", "Notifications", "app_bar", "/notifications", "either"),
    ("gear", "Settings", "app_bar", "/settings", "either"),
    ("pen", "Edit post", "post_actions", "", "both"),
    ("share-nodes", "Share", "post_actions", "", "image"),
    ("download", "Download {file_title} ({file_format})", "file_row", "/files/{file_name}", "both"),
    ("house", "Home", "header", "/", "either"),
    ("user", "Account", "header", "/account", "context"),
    ("user", "Sign in", "header", "/login", "context"),
    ("circle-question", "Help", "header", "/help", "either"),
    ("location-dot", "Find a store", "header", "/stores", "either"),
    ("globe", "Change language", "header", "", "image"),
    ("envelope", "Contact us", "footer_contact", "/contact", "context"),
    ("envelope", "Share by email", "share_bar", "mailto:?subject=Worth%20a%20read", "context"),
    ("phone", "Call us", "footer_contact", "tel:+441234567890", "either"),
    ("print", "Print", "article_tools", "", "image"),
    ("plus", "Zoom in", "map_controls", "", "both"),
    ("minus", "Zoom out", "map_controls", "", "both"),
    ("plus", "Increase quantity", "quantity", "", "both"),
    ("minus", "Decrease quantity", "quantity", "", "both"),
    ("play", "Play", "video", "", "image"),
    ("pause", "Pause", "video", "", "image"),
    ("expand", "Full screen", "video", "", "image"),
    ("volume-high", "Mute", "video", "", "image"),
    ("bold", "Bold", "editor", "", "image"),
    ("italic", "Italic", "editor", "", "image"),
    ("underline", "Underline", "editor", "", "image"),
    ("list-ul", "Bulleted list", "editor", "", "image"),
    ("link", "Insert link", "editor", "", "image"),
    ("image", "Insert image", "editor", "", "image"),
]
for _brand, (_name, _share, _profile) in BRANDS.items():
    USES.append((_brand, _name, "footer_social", _profile + "northwind", "either"))
    USES.append((_brand, _name, "footer_social", "#", "image"))
    if _share:
        USES.append((_brand, f"Share on {_name}", "share_bar", _share + "https%3A%2F%2Fexample.com%2Fa", "both"))

# The same icons in the other designs pages use (Tabler outline, Bootstrap Icons): Font Awesome name -> (tabler,
# bootstrap) file names. Each (design, icon) is an asset of one split (corpus/generate.py), so the test split
# shows known actions in drawings training never showed.
DESIGNS = ("fontawesome", "tabler", "bootstrap")
OTHER_DESIGNS = {
    "magnifying-glass": ("search", "search"), "cart-shopping": ("shopping-cart", "cart"), "heart": ("heart", "heart"),
    "xmark": ("x", "x-lg"), "trash-can": ("trash", "trash"), "chevron-right": ("chevron-right", "chevron-right"),
    "chevron-left": ("chevron-left", "chevron-left"), "arrow-left": ("arrow-left", "arrow-left"),
    "bars": ("menu-2", "list"), "bell": ("bell", "bell"), "gear": ("settings", "gear"), "pen": ("pencil", "pencil"),
    "share-nodes": ("share", "share"), "download": ("download", "download"), "house": ("home", "house"),
    "user": ("user", "person"), "circle-question": ("help-circle", "question-circle"),
    "location-dot": ("map-pin", "geo-alt"), "globe": ("world", "globe"), "envelope": ("mail", "envelope"),
    "phone": ("phone", "telephone"), "print": ("printer", "printer"), "plus": ("plus", "plus-lg"),
    "minus": ("minus", "dash-lg"), "play": ("player-play", "play-fill"), "pause": ("player-pause", "pause-fill"),
    "expand": ("maximize", "arrows-fullscreen"), "volume-high": ("volume", "volume-up"), "bold": ("bold", "type-bold"),
    "italic": ("italic", "type-italic"), "underline": ("underline", "type-underline"), "list-ul": ("list", "list-ul"),
    "link": ("link", "link-45deg"), "image": ("photo", "image"),
}

ACTIONS_BY_ICON: dict[str, set[str]] = {}
ACTIONS_BY_SETTING: dict[str, set[str]] = {}
for _icon, _action, _setting, _href, _ in USES:
    ACTIONS_BY_ICON.setdefault(_icon, set()).add(_action)
    ACTIONS_BY_SETTING.setdefault(_setting, set()).add(_action)


def _render(rng: random.Random, icon_name: str, designs: tuple[str, ...]) -> tuple[object, str, str]:
    """(picture, Font Awesome's label of what it shows, asset: the design and icon drawn where the
    design is one of several, else "")."""
    icon = assets.icon(icon_name)
    if "brands" in icon.styles:
        style, fg = "brands", BRAND_COLORS.get(icon_name, (33, 37, 41))
    else:
        style, fg = rng.choice(icon.styles), rng.choice(render.INK)
    shape = rng.choice(["none", "none", "circle", "square"])
    bg = (255, 255, 255)
    if shape != "none":
        bg, fg = fg, (255, 255, 255)
    size = rng.randrange(14, 33)
    if icon_name not in OTHER_DESIGNS or len(designs) == 1:
        return render.icon_image(icon, style, size, fg, shape, bg), icon.label, ""
    design = rng.choice(designs)
    if design == "fontawesome":
        image = render.icon_image(icon, style, size, fg, shape, bg)
    else:
        name = OTHER_DESIGNS[icon_name][DESIGNS.index(design) - 1]
        image = render.svg_icon_image(assets.icon_svg(design, name), size, fg, shape, bg)
    return image, icon.label, f"icon:{design}:{icon_name}"


def make(rng: random.Random) -> Draft:
    """A Font Awesome icon in a control: the world of the shipped model."""
    return _icon(rng, ("fontawesome",))


def make_with_real_assets(rng: random.Random) -> Draft:
    """A real brand logo (:data:`LOGO_SHARE`), or an icon in one of :data:`DESIGNS`."""
    if rng.random() < LOGO_SHARE:
        return logo.make(rng)
    return _icon(rng, DESIGNS)


def _icon(rng: random.Random, designs: tuple[str, ...]) -> Draft:
    icon_name, action, setting, href, decided_by = rng.choice(USES)
    product, price = rng.choice(PRODUCTS)
    file_title, file_name, file_format = rng.choice(FILES)
    fill = {"product": product, "price": price, "n": str(rng.randrange(1, 99)), "file_title": file_title,
            "file_name": file_name, "file_format": file_format}
    action = action.format(**fill)
    href = href.format(**fill)
    image, label, asset = _render(rng, icon_name, designs)
    ext = "gif" if rng.random() < 0.15 else "png"
    src = banks.image_src(rng, icon_name, ext)
    img = f'<img src="{esc(src)}" width="{image.width}" height="{image.height}">'
    control = f'<a href="{esc(href)}">{img}</a>' if href else f'<button type="button">{img}</button>'
    kind, template = SETTINGS[setting]
    html = template(rng).replace("{control}", control)
    for key, value in fill.items():
        html = html.replace("{" + key + "}", esc(value))
    other_meanings = sorted(a.format(**fill) for a in ACTIONS_BY_ICON[icon_name] - {action})
    same_place = sorted(a.format(**fill) for a in ACTIONS_BY_SETTING[setting] - {action})
    near = rng.sample(other_meanings, min(2, len(other_meanings))) + rng.sample(same_place, min(2, len(same_place)))
    kind_word = "logo" if icon_name in BRANDS else "icon"
    near.append(f"{label} {kind_word}")
    return Draft("icon_control", image.convert("RGBA") if ext == "png" else image, ext.upper(), html,
                 banks.page_title(rng, kind), action, decided_by, f"a {label.lower()} {kind_word}", near, asset=asset)
