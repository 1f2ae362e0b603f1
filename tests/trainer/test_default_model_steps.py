"""`make model`'s OCR step (every corpus image read by the backend's reader, in parallel, resumable) and its
per-asset score."""
from __future__ import annotations

import json

from PIL import Image, ImageDraw, ImageFont

from trainer.default_model import ocr_texts


def _text_image(path, text):
    image = Image.new("RGB", (170, 40), "white")
    ImageDraw.Draw(image).text((8, 8), text, fill="black", font=ImageFont.load_default(size=20))
    image.save(path)


def test_every_image_is_read_by_the_backend_reader_and_a_cached_reading_is_kept(tmp_path):
    (tmp_path / "images").mkdir()
    _text_image(tmp_path / "images" / "cart.png", "Add to cart")
    _text_image(tmp_path / "images" / "news.png", "Latest news")
    Image.new("RGB", (1, 1)).save(tmp_path / "images" / "spacer.gif")
    for split, names in (("train", ["cart.png", "spacer.gif"]), ("val", ["news.png"]), ("test", [])):
        (tmp_path / f"{split}.jsonl").write_text("".join(json.dumps({"image_path": f"images/{n}"}) + "\n"
                                                         for n in names))
    # an interrupted build left one reading behind: it is kept, not read again
    (tmp_path / "ocr.json").write_text(json.dumps({"images/news.png": "kept from before"}))

    read = ocr_texts(tmp_path, workers=2)

    assert read == {"images/cart.png": "Add to cart", "images/news.png": "kept from before",
                    "images/spacer.gif": ""}
    assert json.loads((tmp_path / "ocr.json").read_text()) == read
    assert ocr_texts(tmp_path, cached_only=True) == read


def test_asset_accuracy_counts_right_answers_per_kind_of_real_asset(tmp_path):
    """Measured on corpus records as the trainer loads them: the record's asset reaches the example."""
    from corpus import CorpusConfig, generate
    from eval_harness.metrics import Prediction
    from eval_harness.runner import to_eval_examples
    from trainer.data import load_corpus
    from trainer.default_model import asset_accuracy

    generate(CorpusConfig(seed=4, size=120, real_assets=True), tmp_path, progress=False)
    examples = to_eval_examples(load_corpus(tmp_path / "train.jsonl").examples)
    with_asset = [e for e in examples if e.example.meta.get("asset")]
    assert with_asset and len(with_asset) < len(examples)
    # right for every asset-drawn example but the first; a right answer hidden as decorative is wrong
    predictions = [Prediction(e.reference.texts[0]) for e in examples]
    first = examples.index(with_asset[0])
    predictions[first] = Prediction("Something else")
    scores = asset_accuracy(examples, predictions)
    kinds = {e.example.meta["asset"].split(":", 1)[0] for e in with_asset}
    assert set(scores) == kinds
    assert sum(s["examples"] for s in scores.values()) == len(with_asset)
    missed = with_asset[0].example.meta["asset"].split(":", 1)[0]
    n = scores[missed]["examples"]
    assert scores[missed]["right"] == (n - 1) / n
    assert all(s["right"] == 1.0 for k, s in scores.items() if k != missed)


def test_a_corpus_is_reused_only_when_made_with_the_same_size_mix_and_real_assets(tmp_path):
    from corpus.generate import made_with
    from trainer.default_model import Recipe, ensure_corpus

    plain, real = Recipe(corpus_size=20), Recipe(corpus_size=20, real_assets=True)
    ensure_corpus(tmp_path, plain)
    first = (tmp_path / "train.jsonl").read_bytes()
    assert made_with(tmp_path)[3] is False
    ensure_corpus(tmp_path, plain)  # the same recipe: reused, not drawn again
    assert (tmp_path / "train.jsonl").read_bytes() == first
    ensure_corpus(tmp_path, real)  # real assets asked for: drawn anew
    assert made_with(tmp_path)[3] is True
    mix = {"text": 0.0, "icon_control": 1.0, "chart": 0.0, "decorative": 0.0, "emoji": 0.0}
    ensure_corpus(tmp_path, real, mix)
    assert made_with(tmp_path)[2] == mix
    categories = [json.loads(line)["category"] for split in ("train", "val", "test")
                  for line in (tmp_path / f"{split}.jsonl").read_text().splitlines()]
    assert categories.count("icon_control") == 16  # every category keeps one example (corpus.generate.category_plan)
