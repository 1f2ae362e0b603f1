"""The honest form of an answer: what altlens says when it cannot describe an image.

A screen-reader user trusts what they hear, so an answer the checks do not
support is never spoken. In its place the backend says what is known and no
more: the image's kind when it is known, and what the page or the image's own
text supports ("Screenshot: Budget dashboard", "Photo, no description
available", "Text in image: An official website of the United States"), or
"No description available". A bare kind word ("Photo") is not
the honest form: the corpus's own "generic" defect says just that.
The extension speaks it as it comes; it is always flagged ``low_confidence``.

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
_LABELS = "|".join(re.escape(label) for label in KIND_LABELS.values())
_HONEST = re.compile(rf"^(?:(?P<kind>{_LABELS})(?::\s*(?P<said>\S.*)|,\s*{re.escape(NO_DESCRIPTION)}\.?)"
                     rf"|{re.escape(NO_DESCRIPTION)}(?:\.|:\s*(?P<page>\S.*))?)$", re.IGNORECASE | re.DOTALL)


def honest_answer(kind: str = "", supported: str = "") -> str:
    """``Kind: supported text``, ``Kind, no description available``, or "No description available[: text]".

    ``supported`` must come from the page or the image's own text; the caller vouches for it.
    """
    label = KIND_LABELS.get(kind, "")
    supported = " ".join(supported.split())
    if not label:
        return f"{NO_DESCRIPTION}: {supported}" if supported else NO_DESCRIPTION
    return f"{label}: {supported}" if supported else f"{label}, {NO_DESCRIPTION[0].lower()}{NO_DESCRIPTION[1:]}"


def parse_honest(text: str) -> tuple[str, str] | None:
    """(kind label or "", the supported text) when ``text`` is in the honest form, else None."""
    match = _HONEST.match(" ".join(text.split()))
    if not match:
        return None
    return match["kind"] or "", (match["said"] or match["page"] or "").strip()
