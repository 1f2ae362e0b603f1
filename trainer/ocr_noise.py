"""Stray words in the OCR text of training examples, so that pointers are chosen by what they point at.

Trained on the corpus's OCR readings as they are, a model learns *where* the
words it copies sit (a chart's title first, a post's handle third) rather than
*which* they are, and one stray word from the reader (an avatar's letter "M",
an axis tick "06", a fragment "0ot") shifts every pointer after it:
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


def stray_word(rng: random.Random, first: bool) -> str:
    """A word like those the OCR reader finds in borders, avatars and axes.

    Before the text (``first``): an axis tick ("06"), a fragment ("0ot") or a
    letter. Inside it: only a capital letter (an avatar's "M" between a name
    and a handle). Never a lowercase word, which a real short word ("a", "in")
    would resemble: a model taught to skip those cuts phrases short.
    """
    if not first or rng.random() < 0.3:
        return rng.choice(string.ascii_uppercase)
    if rng.random() < 0.6:
        return str(rng.choice([rng.randrange(10), rng.randrange(10, 100), 10 * rng.randrange(1, 10)]))
    return str(rng.randrange(10)) + "".join(rng.choice(string.ascii_letters) for _ in range(rng.randint(1, 2)))


def with_stray_words(ocr_text: str, rng: random.Random) -> str:
    """``ocr_text`` with one stray word: before it (70%), or after its first or second word."""
    words = ocr_text.split()
    first = rng.random() < 0.7 or len(words) < 2
    at = 0 if first else rng.randint(1, min(2, len(words) - 1))
    words.insert(at, stray_word(rng, first))
    return " ".join(words)


def add_stray_words(examples: Sequence[PreferenceExample], share: float, seed: int) -> list[PreferenceExample]:
    """``examples`` with stray words in the OCR text of about ``share`` of those that have one."""
    if not 0.0 <= share <= 1.0:
        raise ValueError(f"share must lie in [0, 1], not {share}")
    rng = random.Random(seed)
    return [dataclasses.replace(e, ocr_text=with_stray_words(e.ocr_text, rng))
            if e.ocr_text and rng.random() < share else e for e in examples]
