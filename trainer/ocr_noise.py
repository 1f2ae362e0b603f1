"""Stray words in the OCR text of training examples, so that pointers are chosen by what they point at.

Trained on the corpus's OCR readings as they are, a model learns *where* the
words it copies sit (a chart's title first, a post's handle third) rather than
*which* they are, and one stray word from the reader (an avatar's letter "M",
an axis tick "06", a glyph read as "t") shifts every pointer after it:
"Line chart: 06 Rainfall by". Real readings have such strays now and then; this
adds them to a share of the training examples (the description stays as it
is), so that a pointer has to match the word it points at and strays have to
be skipped.
"""
from __future__ import annotations

import dataclasses
import random
import string
from typing import Sequence

from trainer.data import PreferenceExample


def stray_word(rng: random.Random) -> str:
    """A word like those the OCR reader finds in borders, icons and axes: a letter, a number, a fragment."""
    kind = rng.random()
    if kind < 0.35:
        return rng.choice(string.ascii_uppercase)
    if kind < 0.65:
        return str(rng.choice([rng.randrange(10), rng.randrange(10, 100), 10 * rng.randrange(1, 10)]))
    return "".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(1, 3)))


def with_stray_words(ocr_text: str, rng: random.Random, most: int = 2) -> str:
    """``ocr_text`` with 1..``most`` stray words, each at the start (half the time) or anywhere."""
    words = ocr_text.split()
    for _ in range(rng.randint(1, most)):
        at = 0 if rng.random() < 0.5 else rng.randint(0, len(words))
        words.insert(at, stray_word(rng))
    return " ".join(words)


def add_stray_words(examples: Sequence[PreferenceExample], share: float, seed: int) -> list[PreferenceExample]:
    """``examples`` with stray words in the OCR text of about ``share`` of those that have one."""
    if not 0.0 <= share <= 1.0:
        raise ValueError(f"share must lie in [0, 1], not {share}")
    rng = random.Random(seed)
    return [dataclasses.replace(e, ocr_text=with_stray_words(e.ocr_text, rng))
            if e.ocr_text and rng.random() < share else e for e in examples]
