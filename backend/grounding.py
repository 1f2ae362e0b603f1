"""Descriptions of images of text are held to the text read in the image (OCR).

A small decoder copies ordinary words well but not arbitrary strings, and two
of its mistakes survive the model's own scoring:

* Handles. Shown a post screenshot of "Aisha Khan @khan13", the bundled model
  writes "@a.khan" or "@aisha.khan", a handle it has seen with that name in
  training. A wrong handle tells the listener that someone else wrote the post,
  and the user has no way to see that it is wrong. So each @mention (or
  #hashtag) the image does not show is replaced by the most similar one it
  does show (:func:`ground_mentions`).
* Copies that skip or loop ("The best way out is alway out is always
  through"). Beam search finds the faithful copy too, within a few hundredths
  of mean log-probability. The engine ranks candidates by mean log-probability
  plus a weight times :func:`ocr_agreement`, so such near-ties go to the
  candidate that agrees with the image's text, while a chart's summary, far
  from its labels, keeps its lead.

Measured on the corpus's val split, then once on test
(eval_harness/results/LOG.md, entry grounding).
"""
from __future__ import annotations

import difflib
import re
import unicodedata

# "@khan13", "@tom.becker", "#voting": a sigil and a word that may hold inner dots ("@tom.becker:" ends at "r").
MENTION = re.compile(r"(?<![\w@#])[@#]\w(?:[\w.]*\w)?")


def ground_mentions(description: str, ocr_text: str) -> str:
    """``description`` with each @mention / #hashtag the image does not show replaced by its closest one that it does."""
    shown = MENTION.findall(ocr_text)
    if not shown:
        return description
    shown_folded = {m.casefold() for m in shown}

    def replace(match: re.Match) -> str:
        written = match.group()
        if written.casefold() in shown_folded:
            return written
        same_sigil = [m for m in shown if m[0] == written[0]]
        if not same_sigil:
            return written
        return max(same_sigil, key=lambda m: difflib.SequenceMatcher(None, written.casefold(), m.casefold()).ratio())

    return MENTION.sub(replace, description)


def ocr_agreement(description: str, ocr_text: str) -> float:
    """Similarity (0..1, difflib's ratio) of a description to the image's text, case, spacing and edge
    punctuation ignored."""
    return difflib.SequenceMatcher(None, _folded(description), _folded(ocr_text)).ratio()


def _folded(text: str) -> str:
    text = " ".join(unicodedata.normalize("NFKC", text).casefold().split())
    return text.strip(" .,:;!?\"'“”‘’")
