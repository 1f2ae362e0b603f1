"""Fit the kind recogniser (backend/kinds.py) and choose, on real pages, when each kind may be said.

Why two data sources: the classifier learns from installed real assets
(corpus/kinds.py), never from ../shared/data/realweb; the real-web dev split
then decides, per kind, the least probability at which naming that kind is
right at least ``PRECISION_GOAL`` of the time (the manifest's own kind guess as
the reference). A kind that never reaches it there is never said: a wrong kind
("Photo" for a screenshot) is a claim nothing supports.

``python -m trainer.kinds --out models/bundled`` fits, chooses and writes
``kinds.json``; ``make model`` runs it for the bundled model.
"""
from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

import numpy as np
from PIL import Image

from backend.kinds import KINDS, KindRecogniser, features
from backend.modelinput import UNSEEN_SIZE_OCR_LIMIT

PRECISION_GOAL = 0.9
MIN_SAID = 5  # on dev, a kind named fewer times than this measures nothing
THRESHOLDS = tuple(round(0.5 + 0.01 * k, 2) for k in range(50)) + (0.995, 0.999)
# The kinds that may be named, and the most words of text each may hold (None: any). A photograph holds at
# most two: on dev, the pages around a photograph that look like one to the statistics hold more.
SAYABLE: dict[str, int | None] = {"photo": 2, "screenshot": None, "chart": None}
OCR_CHARACTERS = UNSEEN_SIZE_OCR_LIMIT  # the least the backend reads of any image: enough to count two words
# The real-web manifest's kind guesses, as the recogniser's kinds; the rest ("other", "decorative") are unknown.
REALWEB_KIND = {"photo": "photo", "screenshot": "screenshot", "chart/diagram": "chart", "logo": "graphic",
                "icon": "graphic", "illustration": "graphic", "illustration/graphic": "graphic"}


def fit(x: np.ndarray, y: np.ndarray) -> KindRecogniser:
    """A multinomial logistic regression (scikit-learn) on standardised features ``x`` (one row per picture,
    :func:`backend.kinds.features`) and kind indices ``y``; no threshold chosen yet."""
    from sklearn.linear_model import LogisticRegression

    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale == 0] = 1.0
    model = LogisticRegression(C=1.0, max_iter=2000).fit((x - mean) / scale, y)
    return KindRecogniser(KINDS, mean, scale, model.coef_, model.intercept_, {})


def dev_predictions(recogniser: KindRecogniser, realweb: Path) -> list[tuple[str, str, float, int]]:
    """(reference kind, predicted kind, probability, words OCR read) for each raster image of the real-web
    dev split whose kind the manifest guesses."""
    from backend.ocr import OcrReader
    from eval_harness.realweb import records

    reader = OcrReader(timeout_s=30.0)
    out = []
    for record in records.load([realweb], splits=("dev",)):
        reference = REALWEB_KIND.get(record.kind)
        if reference is None or record.image_path.suffix.lower() == ".svg":
            continue
        with Image.open(record.image_path) as image:
            words = len(reader.read(image.convert("RGB"), OCR_CHARACTERS).split())
            out.append((reference, *recogniser.best(image), words))
    return out


def choose_thresholds(predictions: list[tuple[str, str, float, int]], sayable: dict[str, int | None] = SAYABLE
                      ) -> tuple[dict[str, float], dict[str, dict]]:
    """Per kind, the least threshold whose precision on dev reaches PRECISION_GOAL, and what it gives."""
    say_at, report = {}, {}
    for kind, most_words in sayable.items():
        report[kind] = {"reference": sum(r == kind for r, *_ in predictions), "words_at_most": most_words}
        for threshold in THRESHOLDS:
            said = [(r, p) for r, k, p, words in predictions
                    if k == kind and p >= threshold and (most_words is None or words <= most_words)]
            right = sum(r == kind for r, _ in said)
            if len(said) >= MIN_SAID and right / len(said) >= PRECISION_GOAL:
                say_at[kind] = threshold
                report[kind].update(threshold=threshold, said=len(said), right=right)
                break
        else:
            report[kind].update(threshold=None, said=0, right=0)
    return say_at, report


def build(out_dir: Path, realweb: Path | None, seed: int = 0, per_kind: int = 150, progress=print) -> dict:
    """Fit on real assets, choose thresholds on real-web dev, write kinds.json; returns the figures."""
    from corpus.kinds import kind_examples

    examples = kind_examples(seed, per_kind, progress)
    x = np.stack([features(e.image) for e in examples])
    y = np.array([KINDS.index(e.kind) for e in examples])
    recogniser = fit(x, y)
    predicted = [max(p, key=p.get) for p in map(recogniser.probabilities_of, x)]
    train_accuracy = float(np.mean([kind == e.kind for kind, e in zip(predicted, examples)]))
    figures = {"examples": dict(Counter(e.kind for e in examples)), "train_accuracy": round(train_accuracy, 3)}
    if realweb is not None and realweb.is_dir():
        predictions = dev_predictions(recogniser, realweb)
        say_at, report = choose_thresholds(predictions)
        figures.update(dev_images=len(predictions), dev=report,
                       dev_confusion={f"{r}->{k}": n for (r, k), n in sorted(Counter((r, k) for r, k, *_ in predictions).items())})
    else:
        say_at = {}
        figures["dev"] = "no real-web data: no kind is said"
    words_at_most = {kind: n for kind, n in SAYABLE.items() if kind in say_at and n is not None}
    recogniser = KindRecogniser(recogniser.kinds, recogniser.mean, recogniser.scale, recogniser.coef,
                                recogniser.intercept, say_at, words_at_most)
    recogniser.save(out_dir)
    return figures


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="the model directory that gets kinds.json")
    parser.add_argument("--realweb", type=Path, default=None, help="real-web data (default: ../shared/data/realweb)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--per-kind", type=int, default=150, help="pictures of each kind to learn from")
    args = parser.parse_args(argv)
    if args.realweb is None:
        from eval_harness.realweb.records import DEFAULT_ROOT
        args.realweb = Path(DEFAULT_ROOT)
    if not args.out.is_dir():
        parser.error(f"{args.out} is not a model directory")
    figures = build(args.out, args.realweb, args.seed, args.per_kind)
    print(json.dumps(figures, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
