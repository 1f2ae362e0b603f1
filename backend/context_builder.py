"""An HTML fragment around an image → the same PageContext fields the extension collects.

Saved pages (training, evaluation) and clients that send markup instead of
fields go through here, so they give the model the same input as live pages.
The fragment is untrusted: it is parsed (never rendered, never fetched from),
scripts and styles are dropped, and every field is bounded by
``PageContext.from_mapping``.
"""
from __future__ import annotations

import posixpath
from urllib.parse import unquote, urlparse

from bs4 import BeautifulSoup, Tag

from backend.modelinput import PageContext

HEADINGS = ["h1", "h2", "h3", "h4", "h5", "h6"]
BLOCKS = {"p", "li", "figure", "td", "th", "section", "article", "div", "blockquote", "dd", "main", "aside"}
INVISIBLE = ["script", "style", "template", "noscript", "iframe", "object", "embed"]
MIN_SURROUNDING_CHARS = 20


def _text(node: Tag | None) -> str:
    return " ".join(node.get_text(" ", strip=True).split()) if node is not None else ""


def find_target(soup: BeautifulSoup, image_id: str | None) -> Tag | None:
    """The img meant: by id (``id`` or ``data-altlens-id``), else the first without alt text."""
    images = soup.find_all("img")
    if image_id:
        for img in images:
            if image_id in (img.get("id"), img.get("data-altlens-id")):
                return img
        return None
    for img in images:
        if not (img.get("alt") or "").strip():
            return img
    return images[0] if images else None


def _control(img: Tag) -> Tag | None:
    for parent in img.parents:
        if not isinstance(parent, Tag):
            continue
        role = (parent.get("role") or "").lower()
        if (parent.name == "a" and parent.get("href") is not None) or parent.name == "button" or role in ("link", "button"):
            return parent
    return None


def _role(control: Tag) -> str:
    role = (control.get("role") or "").lower()
    if role in ("link", "button"):
        return role
    return "link" if control.name == "a" else "button"


def _file_name(src: str) -> str:
    if not src or src.startswith("data:"):
        return ""
    return unquote(posixpath.basename(urlparse(src).path))


def _int(value: object) -> int:
    try:
        return int(str(value).strip().removesuffix("px"))
    except (TypeError, ValueError):
        return 0


def _surrounding(img: Tag) -> str:
    """Text of the nearest enclosing block that says something (the image's own control excluded)."""
    for parent in img.parents:
        if isinstance(parent, Tag) and parent.name in BLOCKS:
            text = _text(parent)
            if len(text) >= MIN_SURROUNDING_CHARS:
                return text
    return ""


def build_context(html: str, image_id: str | None = None) -> PageContext:
    """PageContext of the target image in ``html`` (empty context when there is none)."""
    soup = BeautifulSoup(html, "html.parser")
    for tag in soup.find_all(INVISIBLE):
        tag.decompose()
    img = find_target(soup, image_id)
    if img is None:
        return PageContext()
    fields: dict[str, object] = {
        "page_title": _text(soup.find("title")),
        "file_name": _file_name(img.get("src") or ""),
        "width": _int(img.get("width")),
        "height": _int(img.get("height")),
        "surrounding_text": _surrounding(img),
    }
    lang_holder = img if img.get("lang") else img.find_parent(attrs={"lang": True})
    if lang_holder is not None:
        fields["lang"] = lang_holder.get("lang")
    figure = img.find_parent("figure")
    if figure is not None:
        fields["caption"] = _text(figure.find("figcaption"))
    heading = img.find_previous(HEADINGS)
    if heading is not None:
        fields["heading"] = _text(heading)
    control = _control(img)
    if control is not None:
        label = (control.get("aria-label") or "").strip()
        control_text = label or _text(control)
        fields.update(
            control_role=_role(control),
            control_text=control_text,
            control_href=control.get("href") or "",
            only_content=not control_text and len(control.find_all("img")) == 1,
        )
    return PageContext.from_mapping(fields)
