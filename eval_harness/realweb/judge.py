"""The real-web judge: one mechanical verdict per answer, from the author's alt and the page.

Verdicts (DESIGN.md §7):

* author's ``alt=""``: ``decorative_right`` (answered decorative) or ``decorative_wrong``;
* informative image: ``hidden`` (made decorative); ``grounded`` (at least
  :data:`GROUNDED_SHARE` of the answer's content words are in the author's alt —
  a long answer sharing one stray word is not; for the honest form, the words it
  says after its kind label: "Screenshot: 18F Content Guide" says what the author
  said, whoever supplied the words); ``honest`` (otherwise, the product's own
  "no description" form, :func:`backend.honest.parse_honest`, saying at most words
  the page itself says, or the image's own text as the backend's OCR read it);
  ``unanswered`` (nothing written: a screen reader says "unlabeled image");
  where the honest form says where a link goes (". Link to flickr.com"), that is
  no claim about the image: it is left out of *grounded* and must be the page's
  own link target to be *honest*;
  ``ungrounded`` (anything else: words nothing supports).

Words are compared as content words (backend.support.content_words):
lower-cased, a plural "s" dropped, stop words and bare kind words ("image",
"screenshot") left out, since they carry no claim about what is shown. The judge sees only text: it is the same for the
backend level and for names read off the accessibility tree.
"""
from __future__ import annotations

import re
import string
import unicodedata
from dataclasses import dataclass

from backend.honest import KIND_LABELS, honest_link, parse_honest
from backend.support import content_words
from corpus.noise import CLICK_HERE, GENERIC, LONG_CAPTION

GROUNDED_SHARE = 0.5
INFORMATIVE_VERDICTS = ("grounded", "honest", "hidden", "ungrounded", "unanswered")
DECORATIVE_VERDICTS = ("decorative_right", "decorative_wrong")
VERDICTS = INFORMATIVE_VERDICTS + DECORATIVE_VERDICTS
SPOKEN_PREFIXES = ("possibly:", "generated:")  # the extension's own prefixes (extension/content/apply.js)



def normalised(text: str) -> str:
    """Case, punctuation and spacing folded away: for exact-text comparisons."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = text.translate(str.maketrans({c: " " for c in string.punctuation + "“”‘’«»…–—"}))
    return " ".join(text.split())


def spoken_text(answer: str) -> tuple[str, bool]:
    """The answer without the extension's prefix, and whether it carried "Possibly:"."""
    text = " ".join(answer.split())
    possibly = False
    for prefix in SPOKEN_PREFIXES:
        if text.lower().startswith(prefix):
            possibly = possibly or prefix == "possibly:"
            text = text[len(prefix):].strip()
    return text, possibly


@dataclass(frozen=True)
class Answer:
    """What the product gave one image, at either level.

    ``written``: False when nothing was written at all (page level: the extension
    never answered; backend level: the request failed). ``decorative``: made
    decorative. ``text``: the description as a listener gets it (prefix included
    at page level). ``confidence``/``ocr_text``: where the level knows them.
    """

    record_id: str
    text: str = ""
    decorative: bool = False
    written: bool = True
    low_confidence: bool = False
    confidence: float | None = None
    ocr_text: str = ""
    note: str = ""


def support(answer: str, reference: str) -> tuple[int, int]:
    """(answer's content words found in the reference, answer's content words)."""
    said = content_words(answer)
    known = set(content_words(reference))
    return sum(1 for w in said if w in known), len(said)


def is_grounded(answer: str, alt: str) -> bool:
    matched, total = support(answer, alt)
    return total > 0 and matched >= 1 and matched / total >= GROUNDED_SHARE


def is_honest(answer: str, page_text: str) -> bool:
    """The product's honest form, saying nothing the page does not say (where a link goes included)."""
    parsed = parse_honest(answer)
    if parsed is None:
        return False
    matched, total = support(f"{parsed[1]} {honest_link(answer)}", page_text)
    return matched == total


def verdict(alt: str, answer: Answer, page_text: str) -> str:
    """The judge's verdict for one answer (see the module docstring)."""
    if alt == "":
        return "decorative_right" if answer.written and answer.decorative else "decorative_wrong"
    if not answer.written:
        return "unanswered"
    if answer.decorative:
        return "hidden"
    text, _ = spoken_text(answer.text)
    if not text:
        return "unanswered"
    parsed = parse_honest(text)
    # The honest form's fixed words ("no description available") are no claim about the image.
    if is_grounded(parsed[1] if parsed else text, alt):
        return "grounded"
    if is_honest(text, page_text):
        return "honest"
    return "ungrounded"


# --- per-kind checks -------------------------------------------------------------------------

def _template_fragments() -> list[str]:
    """Runs of fixed words of the long-caption defect, at least four words each."""
    fixed = re.split(r"\{[a-z_]+\}", LONG_CAPTION)
    out = []
    for part in fixed:
        tokens = normalised(part).split()
        out += [" ".join(tokens[i:i + 4]) for i in range(0, max(0, len(tokens) - 3))]
    return out


_FRAGMENTS = _template_fragments()
_GENERIC = {normalised(w) for w in GENERIC + CLICK_HERE}


def repeats_defect(answer: str, file_name: str = "", nearby: str = "") -> str:
    """Which noisy-SFT defect of the corpus (corpus/noise.py) the answer repeats, or "".

    ``long_caption``: any four consecutive fixed words of its template; ``generic``
    / ``click_here``: the whole answer is one of those words; ``file_name``: the
    answer is the image's file name; ``post_copy``: the answer is the page's nearby
    text copied (a whole sentence of ten or more words found word for word in it).
    """
    text = normalised(spoken_text(answer)[0])
    if not text:
        return ""
    if any(fragment in text for fragment in _FRAGMENTS):
        return "long_caption"
    if text in _GENERIC:
        return "generic"
    if file_name and text in (normalised(file_name), normalised(file_name.rsplit(".", 1)[0])):
        return "file_name"
    if nearby and len(text.split()) >= 10 and text in normalised(nearby):
        return "post_copy"
    return ""


def is_image_of_text(alt: str, ocr_text: str, tutorial_category: str = "") -> bool:
    """The alt is the image's own text: a W3C "textual" example, or a short alt (at most 12 words)
    whose words the image's read text holds (at least 80% of them, so a misread word still counts)."""
    if tutorial_category == "textual":
        return True
    alt_words, read = normalised(alt).split(), set(normalised(ocr_text).split())
    if not alt_words or len(alt_words) > 12 or not read:
        return False
    return sum(w in read for w in alt_words) / len(alt_words) >= 0.8


def reads_exactly(alt: str, answer: str) -> bool:
    """The listener hears the alt's words, and only them: as the answer itself, or as the text of the
    honest form "Text in image: <text>" (the backend's frame for a larger image's own text, a label
    like the extension's "Possibly:"). No other honest form counts: "Photo: <caption>" is not a read."""
    spoken = spoken_text(answer)[0]
    parsed = parse_honest(spoken)
    if parsed and parsed[0] == KIND_LABELS["text"]:
        spoken = parsed[1]
    return normalised(spoken) == normalised(alt)
