"""Images of words the corpus never wrote: does the served answer give the text?

The corpus draws its buttons, banners and headings from short closed lists
(corpus/categories/text.py), so its test split mostly repeats phrases that
training saw in other renderings: in the committed build, 51 of the 65
distinct text references in test also occur in train. Exact match on that
split measures recognition of known phrases as much as transcription. This
probe draws phrases the corpus never has, with the corpus's own renderer, and
asks the engine the way the backend does (OCR included). It sorts each answer
three ways:

* ``model``: the text, and the model was confident;
* ``fallback``: the text, flagged low confidence: the model did not find it,
  and the backend's rule that an image of text must be named
  (``backend.engine.must_be_named``) answered with the OCR reading;
* ``wrong``: anything else, listed.

``python -m eval_harness.unseen_text [--models DIR]`` prints the result as
JSON; `make model` stores it in the model's metrics.json.
"""
from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

# Button, banner and heading wording the corpus's lists do not hold (a test checks that).
PHRASES = ["Free shipping", "Members only", "Reserve a seat", "Join the club", "Winter clearance",
           "Read the report", "Order by phone", "Gift cards", "Call us today", "Spring menu", "Track my order",
           "Meet our chefs", "New in store", "Final days", "Apply now", "Our history", "Find a branch",
           "Weekend offers", "Donate today", "Start free trial", "Visit the shop", "Student discount",
           "Event calendar", "Save 20 percent"]


def probe_images(seed: int = 7) -> list:
    """(phrase, image, context) for every phrase, drawn as corpus buttons and banners are."""
    from backend.modelinput import PageContext
    from corpus.render import SWATCHES, text_box

    rng = random.Random(seed)
    out = []
    for phrase in PHRASES:
        bg, fg = rng.choice(SWATCHES)
        image = text_box(rng, phrase, rng.choice(["sans-bold", "sans", "serif-bold"]), rng.randrange(14, 24), fg, bg,
                         pad=(rng.randrange(10, 24), rng.randrange(6, 16)))
        context = PageContext(page_title="Shop", file_name=f"img{rng.randrange(1000)}.png",
                              width=image.width, height=image.height)
        out.append((phrase, image, context))
    return out


def run(model_dir: str | Path, seed: int = 7) -> dict:
    """Counts of model / fallback / wrong answers over :data:`PHRASES`, and the wrong answers themselves."""
    from backend.engine import AltTextEngine
    from backend.ocr import OcrReader

    engine, reader = AltTextEngine(model_dir), OcrReader(enabled=True, timeout_s=60)
    counts, wrong = {"model": 0, "fallback": 0, "wrong": 0}, []
    for phrase, image, context in probe_images(seed):
        answer = engine.describe([image], [context], [reader.read(image)])[0]
        if answer.decorative or answer.description.strip().casefold() != phrase.casefold():
            counts["wrong"] += 1
            wrong.append({"phrase": phrase, "answer": "(decorative)" if answer.decorative else answer.description})
        else:
            counts["fallback" if answer.low_confidence else "model"] += 1
    return {"phrases": len(PHRASES), **counts, "text_right": (counts["model"] + counts["fallback"]) / len(PHRASES),
            "wrong_answers": wrong}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval_harness.unseen_text", description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=Path, default=REPO / "models" / "bundled", help="an exported model directory")
    parser.add_argument("--seed", type=int, default=7, help="colours, fonts and sizes of the drawings")
    args = parser.parse_args(argv)
    print(json.dumps(run(args.models, args.seed), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
