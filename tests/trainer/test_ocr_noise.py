"""Stray OCR words for training: seeded, added to the stated share, descriptions untouched."""
import random

import pytest

from backend.modelinput import PageContext
from trainer.data import PreferenceExample
from trainer.ocr_noise import add_stray_words, with_stray_words


def examples(n: int) -> list[PreferenceExample]:
    return [PreferenceExample(context=PageContext(), chosen=f"Buy item {i}", ocr_text=f"Buy item {i}" if i % 4 else "")
            for i in range(n)]


def test_one_stray_word_is_added_near_the_start_and_the_words_read_keep_their_order():
    rng = random.Random(3)
    places = set()
    for _ in range(100):
        noisy = with_stray_words("Free shipping today", rng).split()
        assert len(noisy) == 4
        stray = next(i for i, w in enumerate(noisy) if w not in ("Free", "shipping", "today"))
        assert [w for i, w in enumerate(noisy) if i != stray] == ["Free", "shipping", "today"]
        assert not (noisy[stray].isalpha() and noisy[stray].islower())  # never what a short real word could be
        assert stray == 0 or len(noisy[stray]) == 1
        places.add(stray)
    assert places == {0, 1, 2}


def test_a_share_of_examples_with_ocr_text_gets_stray_words_and_no_description_changes():
    data = examples(400)
    noisy = add_stray_words(data, 0.4, seed=1)
    assert noisy == add_stray_words(data, 0.4, seed=1)  # seeded
    changed = [a for a, b in zip(data, noisy) if a.ocr_text != b.ocr_text]
    with_text = [e for e in data if e.ocr_text]
    assert 0.3 < len(changed) / len(with_text) < 0.5
    assert all(a.chosen == b.chosen for a, b in zip(data, noisy))
    assert all(not b.ocr_text for a, b in zip(data, noisy) if not a.ocr_text)  # no text appears where none was read
    assert add_stray_words(data, 0.0, seed=1) == data


@pytest.mark.parametrize("share", [-0.1, 1.5])
def test_a_share_outside_zero_to_one_is_refused(share):
    with pytest.raises(ValueError):
        add_stray_words(examples(4), share, seed=0)
