"""The unseen-phrase probe (eval_harness/unseen_text.py)."""
from corpus.categories.text import BANNERS, BUTTONS, HEADINGS, POSTS, QUOTES
from eval_harness import unseen_text


def test_no_probe_phrase_is_corpus_wording():
    corpus_words = {t.casefold() for t in BUTTONS + BANNERS + HEADINGS + POSTS + [q for q, _ in QUOTES]}
    assert len(set(unseen_text.PHRASES)) == len(unseen_text.PHRASES)
    assert not {p.casefold() for p in unseen_text.PHRASES} & corpus_words


def test_every_phrase_is_drawn_readably_and_sorted_once(tiny_onnx):
    from backend.ocr import OcrReader

    reader = OcrReader(enabled=True, timeout_s=60)
    drawn = unseen_text.probe_images()
    assert [p for p, _, _ in drawn] == unseen_text.PHRASES
    read = [reader.read(image) for _, image, _ in drawn[:4]]
    assert read == unseen_text.PHRASES[:4]  # the words really are in the images, readable by the backend's OCR
    result = unseen_text.run(tiny_onnx)
    assert result["model"] + result["fallback"] + result["wrong"] == len(unseen_text.PHRASES)
    assert result["wrong"] == len(result["wrong_answers"])
    assert result["model"] == 0  # an untrained model writes none of them by itself
