"""The honest form of an answer: what altlens says when it cannot describe an image.

A screen-reader user trusts what they hear, so an answer the checks do not
support is never spoken. In its place the backend says what is known and no
more: the image's kind when it is known, and what the page or the image's own
text supports ("Screenshot: Budget dashboard", "Photo, no description
available", "Text in image: An official website of the United States"), or
"No description available". A bare kind word ("Photo") is not
the honest form: the corpus's own "generic" defect says just that.
The extension speaks it as it comes; it is always flagged ``low_confidence``.

An image that is a link's only content names the link (WCAG 2.4.4), so its
honest form also says where the link goes, as the page's markup says it:
"Photo, no description available. Link to flickr.com".

The real-web judge (eval_harness.realweb.judge) recognises this form with
:func:`parse_honest`, so the two cannot drift apart.
"""
from __future__ import annotations

import re

NO_DESCRIPTION = "No description available"
# The kinds an honest answer may name, as a listener hears them.
KIND_LABELS = {
    "photo": "Photo",
    "screenshot": "Screenshot",
    "chart": "Chart",
    "diagram": "Diagram",
    "logo": "Logo",
    "icon": "Icon",
    "illustration": "Illustration",
    "text": "Text in image",  # what OCR reads in an image larger than any image of text the model learned
}
LINK_TO = "Link to"
_LABELS = "|".join(re.escape(label) for label in KIND_LABELS.values())
_HONEST = re.compile(rf"^(?:(?P<kind>{_LABELS})(?::\s*(?P<said>\S.*?)|,\s*{re.escape(NO_DESCRIPTION)}\.?)"
                     rf"|{re.escape(NO_DESCRIPTION)}(?:\.|:\s*(?P<page>\S.*?))?)"
                     rf"(?:\.?\s+{re.escape(LINK_TO)}\s+(?P<link>\S+))?$", re.IGNORECASE | re.DOTALL)


def honest_answer(kind: str = "", supported: str = "", link: str = "") -> str:
    """``Kind: supported text``, ``Kind, no description available``, or "No description available[: text]",
    then ". Link to <link>" for an image that is a link's only content.

    ``supported`` must come from the page or the image's own text, ``link`` from the enclosing link's
    target; the caller vouches for both.
    """
    label = KIND_LABELS.get(kind, "")
    supported = " ".join(supported.split())
    if not label:
        said = f"{NO_DESCRIPTION}: {supported}" if supported else NO_DESCRIPTION
    else:
        said = f"{label}: {supported}" if supported else f"{label}, {NO_DESCRIPTION[0].lower()}{NO_DESCRIPTION[1:]}"
    return f"{said.rstrip('.')}. {LINK_TO} {link}" if link else said


def parse_honest(text: str) -> tuple[str, str] | None:
    """(kind label or "", the supported text) when ``text`` is in the honest form, else None. Where the
    link goes is not part of what is said of the image: :func:`honest_link`."""
    match = _HONEST.match(" ".join(text.split()))
    if not match:
        return None
    return match["kind"] or "", (match["said"] or match["page"] or "").strip()


def honest_link(text: str) -> str:
    """The link's target an honest form says ("flickr.com"), or ""."""
    match = _HONEST.match(" ".join(text.split()))
    return (match["link"] or "") if match else ""
