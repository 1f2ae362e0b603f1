"""DOM fragments around images, and the PageContext a page gives for them.

:func:`context_from_html` reads a fragment the way the extension reads a page:
the target is the one ``<img>`` without an ``alt`` attribute, its enclosing link
or button is the control, the nearest figure caption and preceding heading are
used, and the surrounding text is the nearest ancestor's own text. Deriving the
context from the HTML, instead of writing both by hand, keeps the two consistent.
"""
from __future__ import annotations

import html as html_lib
import posixpath
from urllib.parse import urlparse

from bs4 import BeautifulSoup, Tag

from backend.modelinput import PageContext

HEADINGS = ["h1", "h2", "h3", "h4", "h5", "h6"]


def esc(text: str) -> str:
    """HTML-escape text for element content or a quoted attribute."""
    return html_lib.escape(text, quote=True)


def img_tag(src: str, width: int, height: int, extra: str = "") -> str:
    """The unlabeled target image: no alt attribute at all, as pages commonly leave it."""
    extra = f" {extra}" if extra else ""
    return f'<img src="{esc(src)}" width="{width}" height="{height}"{extra}>'


def find_target(soup: BeautifulSoup) -> Tag:
    targets = [img for img in soup.find_all("img") if not img.has_attr("alt")]
    if len(targets) != 1:
        raise ValueError(f"a fragment needs exactly one <img> without alt, found {len(targets)}")
    return targets[0]


def _control(img: Tag) -> Tag | None:
    for parent in img.parents:
        if not isinstance(parent, Tag):
            continue
        if parent.name == "a" and parent.has_attr("href") or parent.name == "button":
            return parent
        if parent.get("role") in ("button", "link"):
            return parent
    return None


def _role(control: Tag) -> str:
    if control.get("role") in ("button", "link"):
        return str(control["role"])
    return "link" if control.name == "a" else "button"


def _text(tag: Tag) -> str:
    return " ".join(tag.get_text(" ", strip=True).split())


def _own_text(tag: Tag, skip: list[Tag]) -> str:
    """Text under ``tag`` that lies outside every tag in ``skip`` (headings, captions, the control)."""
    parts = []
    for string in tag.find_all(string=True):
        if any(s is string.parent or s in string.parents for s in skip):
            continue
        if string.parent.name in ("script", "style"):
            continue
        parts.append(string.strip())
    return " ".join(" ".join(p for p in parts if p).split())


def context_from_html(fragment: str, page_title: str = "", lang: str = "en") -> PageContext:
    """The PageContext of the fragment's target image (see module docstring)."""
    soup = BeautifulSoup(fragment, "html.parser")
    img = find_target(soup)
    control = _control(img)
    figure = img.find_parent("figure")
    figcaption = figure.find("figcaption") if figure else None
    heading = img.find_parent(HEADINGS) or img.find_previous(HEADINGS)

    skip: list[Tag] = [t for t in (control, figcaption) if t is not None]
    skip += soup.find_all(HEADINGS)
    surrounding = ""
    start = control if control is not None else img
    for ancestor in start.parents:
        if not isinstance(ancestor, Tag) or ancestor is soup:
            break
        surrounding = _own_text(ancestor, skip)
        if surrounding:
            break

    src = str(img.get("src", ""))
    data = {
        "page_title": page_title,
        "lang": lang,
        "caption": _text(figcaption) if figcaption else "",
        "heading": _text(heading) if heading else "",
        "surrounding_text": surrounding,
        "control_role": _role(control) if control is not None else "",
        "control_text": _text(control) if control is not None else "",
        "control_href": str(control.get("href", "")) if control is not None else "",
        "only_content": control is not None and not _text(control),
        "file_name": posixpath.basename(urlparse(src).path),
        "width": int(img.get("width", 0) or 0),
        "height": int(img.get("height", 0) or 0),
    }
    return PageContext.from_mapping(data)
