"""A small generated corpus (``python -m corpus``) for the OCR gate, HTTP images and quality figures."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from PIL import Image


@dataclass
class CorpusImage:
    path: Path
    category: str
    split: str


def ensure_corpus(out: Path, size: int, seed: int) -> Path:
    """Generate the corpus once per (size, seed); reused while its manifest is present."""
    out = out / f"corpus-{size}-{seed}"
    if not (out / "manifest.json").is_file():
        from corpus.config import CorpusConfig
        from corpus.generate import generate

        generate(CorpusConfig(seed=seed, size=size), out, progress=False)
    return out


def corpus_images(root: Path) -> list[CorpusImage]:
    out = []
    for split in ("train", "val", "test"):
        path = root / f"{split}.jsonl"
        if path.is_file():
            for line in path.read_text().splitlines():
                if line.strip():
                    record = json.loads(line)
                    out.append(CorpusImage(root / record["image_path"], record["category"], split))
    return out


def split_by_gate(images: list[CorpusImage], limit: int = 12) -> tuple[list[Image.Image], list[Image.Image]]:
    """Up to ``limit`` images the OCR gate skips, and up to ``limit`` of category text it lets through."""
    from backend.modelinput import prepare_image
    from backend.ocr import likely_has_text

    plain, texty = [], []
    for item in images:
        image = prepare_image(Image.open(item.path))
        has = likely_has_text(image)
        if not has and len(plain) < limit:
            plain.append(image)
        elif has and item.category == "text" and len(texty) < limit:
            texty.append(image)
    return plain, texty
