"""`make model`'s OCR step: every corpus image read by the backend's reader, in parallel, resumable."""
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
