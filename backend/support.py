"""Is an answer supported? The check that stands between a generated sentence and a listener.

A small model trained on generated web graphics writes fluent sentences about
any image, and its token probabilities are as high on a memorised template as
on a right answer (the real-web report: median confidence 0.84 on nonsense).
So before an answer is spoken, every content word of it must be supported by
one of:

* the page: title, heading, caption, nearby text, the enclosing control's text
  and target, the file name;
* the image's own text, as OCR read it;
* the model's *known world*: the words its training answers used for what it
  learned to recognise from pixels alone (icons, emoji, charts, said in several
  answers, and the frame words of other kinds, such as "Post"), each only for
  images no larger than those it learned it from. A photograph larger than
  anything in that world cannot borrow its words.

The image's own text is the answer for an image of text the size the model learned
images of text at (buttons, banners, headings). In a larger image (a screenshot, a
photograph with a sign) the text OCR reads is not what the image shows: an answer
that only copies it is said as what it is, "Text in image: ..." (backend/honest.py).

"Decorative" is a claim too, and it silences the image: it is supported only for
images no larger (in area) than the decorative images the model learned from.
The real web's team photographs and portraits, which the bundled model called
decorative, are far larger than any rule, gradient or spacer it ever saw.

The known world is stored with each model version (``altlens.json``,
``known_world``), computed from its training answers by :func:`known_world`,
so ``make model`` and ``retrain.py`` keep it current. A model without one has
no known world: only the page and the image's text support its answers.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Iterable, Mapping

from backend.modelinput import PageContext

# Corpus categories whose answers come from the picture itself, not from words on the page or in the image.
PICTURE_CATEGORIES = ("icon_control", "emoji", "chart")
DECORATIVE_CATEGORY = "decorative"
TEXT_CATEGORY = "text"

STOP_WORDS = frozenset("""
a an the and or but nor of in on at to for from by with without into onto over under about above below
is are was were be been being am has have had do does did this that these those it its it's their there
here as than then so such not no yes very can could will would should may might must shall you your we
our us they them he she his her him i me my mine one two some any all each more most other which who whom
what when where why how also just only own same too s t
""".split())
# Bare kind words claim nothing about what is shown.
KIND_WORDS = frozenset("""
image images picture pictures photo photos photograph photographs screenshot screenshots screen shot graphic
graphics icon icons logo logos illustration illustrations chart charts diagram diagrams img figure
""".split())
_WORD = re.compile(r"\w+", re.UNICODE)
_LETTERS = re.compile(r"[^\W\d_]{2,}", re.UNICODE)
_NAME = re.compile(r"(?=\w*[^\W\d_])\w{2,}", re.UNICODE)
# A web address as a browser's address bar or a page shows it: a scheme or "www.", or a host under one of
# the common top-level domains. Not a file name ("README.md", "post.py") nor an e-mail address.
_SITE = re.compile(r"(?<![\w@.-])(?:https?://)?((?:[a-z0-9-]+\.)+(?:gov|mil|edu|org|com|net|int|io|uk|us|ca|au|"
                   r"eu|de|fr|es|it|nl|info|app|dev))(?![\w@-])", re.IGNORECASE)
FRAME_SHARE = 0.1  # a word in this share of one category's training answers is part of how it is spoken of
MAX_REPEATS = 3  # a content word said more often than this is a decoding loop, whatever supports it
# A picture category's word is learned from pixels only when at least this many training answers say it:
# a brand the corpus shows once (read in its wordmark, or named by its link) was never learned by sight.
LEARNED_AT_LEAST = 3


def content_words(text: str) -> list[str]:
    """Lower-cased words that carry a claim: no stop or kind words, a plural -s dropped, one digit ignored."""
    text = unicodedata.normalize("NFKC", text).casefold()
    out = []
    for word in _WORD.findall(text):
        if word in STOP_WORDS or word in KIND_WORDS or (word.isdigit() and len(word) == 1):
            continue
        if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
            word = word[:-1]
        out.append(word)
    return out


@dataclass(frozen=True)
class KnownWorld:
    """The words a model version may say from pixels alone, each with the largest image side it
    learned that word for: a word is supported only for images no larger than that."""

    words: Mapping[str, int] = field(default_factory=dict)
    #: the largest area (px²) of a decorative image it learned from; None: not known, not limited
    #: (a model packaged before this was stored)
    decorative_area: int | None = None
    #: the largest area (px²) of an image of text it learned to read; None: not known (see Evidence.reads_as_text)
    text_area: int | None = None
    #: the largest area (px²) of any image it learned from; None: not known (see modelinput.ocr_limit)
    seen_area: int | None = None

    @classmethod
    def from_info(cls, info: Mapping | None) -> "KnownWorld":
        data = (info or {}).get("known_world") or {}

        def area(name: str) -> int | None:
            return None if data.get(name) is None else int(data[name])

        return cls({str(w): int(side) for w, side in (data.get("words") or {}).items()},
                   area("decorative_area"), area("text_area"), area("seen_area"))

    def to_info(self) -> dict:
        info = {"words": dict(sorted(self.words.items())), "picture_categories": list(PICTURE_CATEGORIES),
                "frame_share": FRAME_SHARE}
        for name in ("decorative_area", "text_area", "seen_area"):
            if getattr(self, name) is not None:
                info[name] = getattr(self, name)
        return info

    def supports(self, word: str, side: int) -> bool:
        return side <= self.words.get(word, -1)

    def supports_decorative(self, area: int) -> bool:
        return self.decorative_area is None or area <= self.decorative_area


def known_world(examples: Iterable[tuple[str, str, int, int]]) -> KnownWorld:
    """From training answers ``(category, reference, width, height)``.

    Every content word of a picture category's answers (icons, emoji, charts: learned from pixels) said in
    at least :data:`LEARNED_AT_LEAST` of them, and the *frame* words of every other category: those in at
    least :data:`FRAME_SHARE` of its answers ("Post" in "Post by @sam: ..."), which are how the model speaks
    of a kind, not what one image shows.
    Each word keeps the largest image side it was learned for; the largest decorative image's area
    bounds where "decorative" is believed, the largest image of text's where its text is the answer,
    and the largest image's how much of an image's text is worth reading.
    """
    examples = list(examples)

    def largest(category: str | None) -> int:
        return max((int(w or 0) * int(h or 0) for c, _r, w, h in examples if category in (None, c)), default=0)

    decorative_area, text_area, seen_area = largest(DECORATIVE_CATEGORY), largest(TEXT_CATEGORY), largest(None)
    examples = [(c, r, max(int(w or 0), int(h or 0))) for c, r, w, h in examples if r]
    words: dict[str, int] = {}

    def learn(word: str, side: int) -> None:
        words[word] = max(words.get(word, 0), side)

    per_category: dict[str, list[tuple[set[str], int]]] = {}
    picture_counts: dict[str, int] = {}
    for category, reference, side in examples:
        said = set(content_words(reference))
        per_category.setdefault(category, []).append((said, side))
        if category in PICTURE_CATEGORIES:
            for word in said:
                picture_counts[word] = picture_counts.get(word, 0) + 1
    for category, answers in per_category.items():
        if category in PICTURE_CATEGORIES:
            for said, side in answers:
                for word in said:
                    if picture_counts[word] >= LEARNED_AT_LEAST:
                        learn(word, side)
    for answers in per_category.values():
        counts: dict[str, int] = {}
        for said, _side in answers:
            for word in said:
                counts[word] = counts.get(word, 0) + 1
        frame = {w for w, n in counts.items() if n >= FRAME_SHARE * len(answers)}
        for said, side in answers:
            for word in said & frame:
                learn(word, side)
    return KnownWorld(words, decorative_area, text_area, seen_area)


@dataclass(frozen=True)
class Evidence:
    """What supports answers about one image: the words its page and its own text hold, and the side
    (served when the page says, else decoded) that the known world's words are checked against.
    Built once per image; every candidate answer is checked against it."""

    words: frozenset[str]
    side: int
    world: KnownWorld
    area: int = 0

    @classmethod
    def of(cls, context: PageContext, ocr_text: str, image_size: tuple[int, int], world: KnownWorld) -> "Evidence":
        page = " ".join((context.page_title, context.heading, context.caption, context.surrounding_text,
                         context.control_text, context.control_href.replace("-", " ").replace("_", " "),
                         re.sub(r"[-_.]", " ", context.file_name), ocr_text))
        width, height = (context.width, context.height) if context.width and context.height else image_size
        return cls(frozenset(content_words(page)), max(width, height), world, width * height)

    def reads_as_text(self) -> bool | None:
        """Is this image the size of the images of text the model learned (its text may be its alt)?
        None when the model does not say."""
        return None if self.world.text_area is None else self.area <= self.world.text_area

    def decorative_supported(self) -> bool:
        """May the image be called decorative? Only if it is no larger than the decorative images learned."""
        return self.world.supports_decorative(self.area)

    def unsupported(self, answer: str) -> list[str]:
        """The answer's content words that nothing supports (empty: the answer may be spoken). An answer
        of stop words only, or stuck in a loop (a word more than :data:`MAX_REPEATS` times), is supported
        by nothing. One without a word of two or more letters or digits is a lone mark: supported only
        where the model learned it from pixels (the "X" brand icon), never by the page or the image's text
        (a "日" read off a badge)."""
        said = content_words(answer)
        every = _WORD.findall(answer.casefold())
        if said and not is_name(answer):
            return [w for w in said if not self.world.supports(w, self.side)]
        if not said or max(every.count(w) for w in set(every)) > MAX_REPEATS:
            return sorted(set(said or every))
        return [w for w in said if w not in self.words and not self.world.supports(w, self.side)]

    def retells_text(self, answer: str, ocr_text: str) -> bool:
        """The answer is the image's own text: nothing but its words, or at least half of them in a frame
        of words the known world does not hold for an image this large — words of how the model speaks
        of small posts and buttons, there only because the page happens to say them ("Post by designer:
        used the Draft Standards" of a 1600 px screenshot on a page about blog posts)."""
        said = content_words(answer)
        read = set(content_words(ocr_text))
        others = [w for w in said if w not in read]
        return bool(said) and 2 * len(others) <= len(said) and not any(
            self.world.supports(w, self.side) for w in others)


def unsupported_words(answer: str, context: PageContext, ocr_text: str, image_size: tuple[int, int],
                      world: KnownWorld) -> list[str]:
    """:meth:`Evidence.unsupported` for one answer."""
    return Evidence.of(context, ocr_text, image_size, world).unsupported(answer)


def is_readable(text: str) -> bool:
    """At least two words of two or more letters: OCR's stray marks on a photograph ("Ath", "G") are not."""
    return len(_LETTERS.findall(text)) >= 2


def is_name(text: str) -> bool:
    """A word of two or more letters or digits, one a letter ("NASA", "18F", not "0", "C" or "日"): what a
    logo's one word can be, where the file name already says the image is a logo, and what an answer
    must hold to be more than a lone mark (:meth:`Evidence.unsupported`)."""
    return bool(_NAME.search(text))


def site_read(text: str) -> str:
    """The first web address in an image's text, as a listener wants it: its host, lower-cased, without
    "www." ("analytics.usa.gov"), or ""."""
    found = _SITE.search(text)
    return found[1].lower().removeprefix("www.") if found else ""
