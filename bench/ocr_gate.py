"""How often the OCR gate spares the slow OCR read on the generated corpus, and what a read costs."""
from __future__ import annotations

import time
from collections import Counter

from PIL import Image

from bench.config import BenchConfig
from bench.corpus_data import CorpusImage
from bench.report import Figure
from bench.timing import ms

SECTION = "ocr_gate"


def run(images: list[CorpusImage], cfg: BenchConfig, reads: int = 6) -> list[Figure]:
    from backend.modelinput import prepare_image
    from backend.ocr import OcrReader, likely_has_text

    skipped, by_category, totals = 0, Counter(), Counter()
    gate_s = 0.0
    passed: list[Image.Image] = []
    for item in images:
        image = prepare_image(Image.open(item.path))
        start = time.perf_counter()
        has = likely_has_text(image)
        gate_s += time.perf_counter() - start
        totals[item.category] += 1
        if not has:
            skipped += 1
            by_category[item.category] += 1
        elif len(passed) < reads:
            passed.append(image)
    share = skipped / max(1, len(images))
    per_cat = ", ".join(f"{c} {by_category[c]}/{totals[c]}" for c in sorted(totals))
    figures = [
        Figure(SECTION, "corpus images skipped by the OCR gate", round(100 * share, 1), "%",
               note=f"{skipped} of {len(images)}; skipped per category: {per_cat}"),
        Figure(SECTION, "images of text wrongly skipped", by_category["text"], "images",
               note=f"of {totals['text']} in category 'text' (a skip there loses the alt text)"),
        Figure(SECTION, "gate cost per image", round(gate_s / max(1, len(images)) * 1000, 3), "ms"),
    ]
    if passed:
        reader = OcrReader(timeout_s=60)
        reader.read(passed[0])  # loads the models
        reader._cache.clear()
        times = []
        for image in passed:
            start = time.perf_counter()
            reader._recognise(image)
            times.append(time.perf_counter() - start)
        times.sort()
        figures.append(Figure(SECTION, "OCR read (cache miss), median", ms(times[len(times) // 2]), "ms",
                              note=f"{len(times)} corpus images the gate let through; "
                                   f"a gated-out image costs the gate alone"))
    return figures
