"""Turn a CorpusConfig into train/val/test JSON Lines files and an images/ folder.

Reproducibility: example ``i`` is drawn from ``random.Random(f"{seed}:{i}")``
alone, so it does not depend on any other example; images are stored under the
hash of their bytes. Splits are chosen by a hash of (image bytes, context), so an
identical (image, context) pair can never sit in two splits, or, with real assets,
for pictures drawn from one (a brand's logo, a flag, one design of an icon or an
emoji, a phrase), by the asset, so the test split holds assets training never saw. Exactly
``round(noise_share * n)`` examples of each split get a defective SFT target.
"""
from __future__ import annotations

import hashlib
import io
import json
import random
from pathlib import Path

from PIL import Image
from tqdm import tqdm

from backend.modelinput import PageContext
from corpus import assets, banks, noise
from corpus.categories import GENERATORS, REAL_ASSET_GENERATORS
from corpus.config import CATEGORIES, GENERATOR, SPLITS, CorpusConfig
from corpus.dom import context_from_html
from corpus.draft import Draft


def category_plan(config: CorpusConfig) -> list[str]:
    """Exact category counts (largest remainder, each at least one), in a seeded order."""
    weights = config.category_weights
    total = sum(weights.values())
    quotas = {c: max(1, int(config.size * weights[c] / total)) for c in CATEGORIES}
    by_remainder = sorted(CATEGORIES, key=lambda c: -(config.size * weights[c] / total % 1))
    i = 0
    while sum(quotas.values()) < config.size:
        quotas[by_remainder[i % len(CATEGORIES)]] += 1
        i += 1
    while sum(quotas.values()) > config.size:
        largest = max(quotas, key=quotas.get)
        quotas[largest] -= 1
    plan = [c for c in CATEGORIES for _ in range(quotas[c])]
    random.Random(f"{config.seed}:plan").shuffle(plan)
    return plan


def encode_image(image: Image.Image, fmt: str) -> bytes:
    """PNG as drawn; GIF palettised (transparent pixels kept only where the image is already a palette)."""
    buffer = io.BytesIO()
    if fmt == "GIF":
        if image.mode != "P":
            if image.mode == "RGBA":
                matte = Image.new("RGBA", image.size, (255, 255, 255, 255))
                image = Image.alpha_composite(matte, image)
            image = image.convert("RGB").convert("P", palette=Image.Palette.ADAPTIVE, colors=64)
        image.save(buffer, "GIF")
    else:
        image.save(buffer, "PNG")
    return buffer.getvalue()


def split_of(image_bytes: bytes, context: dict, fractions: tuple[float, float, float], asset: str = "") -> str:
    """By the real asset drawn where there is one (every use of a brand, flag or emoji design in one
    split: the test split measures what the model makes of assets it never saw), else by (image, context)."""
    if asset:
        key = hashlib.sha256(f"asset:{asset}".encode()).digest()
    else:
        key = hashlib.sha256(image_bytes + json.dumps(context, sort_keys=True).encode()).digest()
    u = int.from_bytes(key[:8], "big") / 2**64
    if u < fractions[0]:
        return "train"
    return "val" if u < fractions[0] + fractions[1] else "test"


def make_example(config: CorpusConfig, index: int, category: str) -> tuple[dict, Draft, bytes, str]:
    """(record without SFT fields, draft, image bytes, image file name)."""
    rng = random.Random(f"{config.seed}:{index}")
    make = REAL_ASSET_GENERATORS.get(category, GENERATORS[category]) if config.real_assets else GENERATORS[category]
    draft = make(rng)
    if not config.real_assets:
        draft.asset = ""  # without real assets, every example is split by (image, context)
    draft.lang = rng.choice(banks.LANGS)
    context = context_from_html(draft.html, draft.page_title, draft.lang)
    data = encode_image(draft.image, draft.image_format)
    name = f"{hashlib.sha256(data).hexdigest()[:24]}.{draft.image_format.lower()}"
    record = {
        "id": f"s{config.seed}-{index:06d}",
        "seed": config.seed,
        "image_path": f"images/{name}",
        "html": draft.html,
        "context": context.to_dict(),
        "category": category,
        "decided_by": draft.decided_by,
        "reference": draft.reference,
        "decorative": draft.decorative,
        "asset": draft.asset or None,
    }
    return record, draft, data, name


def generate(config: CorpusConfig, out_dir: Path, progress: bool = True) -> dict:
    """Write ``{train,val,test}.jsonl``, ``images/`` and ``manifest.json`` under ``out_dir``; return the manifest."""
    assets.check_assets(config.real_assets)
    out_dir = Path(out_dir)
    (out_dir / "images").mkdir(parents=True, exist_ok=True)
    plan = category_plan(config)
    by_split: dict[str, list[tuple[dict, Draft]]] = {s: [] for s in SPLITS}
    for index in tqdm(range(config.size), desc="corpus", unit="ex", disable=not progress):
        record, draft, data, name = make_example(config, index, plan[index])
        path = out_dir / "images" / name
        if not path.exists():
            path.write_bytes(data)
        by_split[split_of(data, record["context"], config.split_fractions, draft.asset)].append((record, draft))

    counts: dict[str, dict] = {}
    for split, items in by_split.items():
        noisy = set(random.Random(f"{config.seed}:noise:{split}").sample(
            range(len(items)), round(config.noise_share * len(items))))
        with open(out_dir / f"{split}.jsonl", "w", encoding="utf-8") as handle:
            for position, (record, draft) in enumerate(items):
                _add_targets(config, record, draft, position in noisy)
                handle.write(json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n")
        counts[split] = {"examples": len(items), "noisy": len(noisy),
                         "categories": {c: sum(r["category"] == c for r, _ in items) for c in CATEGORIES}}
    manifest = {"generator": GENERATOR, "real_assets": config.real_assets, "seed": config.seed, "size": config.size,
                "noise_share": config.noise_share,
                "split_fractions": list(config.split_fractions), "category_weights": config.category_weights,
                "splits": counts}
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return manifest


def made_with(out_dir: Path) -> tuple[int, int, dict[str, float], bool, int] | None:
    """(seed, size, category mix, real assets, generator version) of the corpus in ``out_dir``, or None
    where there is none. A corpus of another generator version (:data:`corpus.config.GENERATOR`) draws
    other examples from the same seed: callers compare the version too."""
    manifest = Path(out_dir) / "manifest.json"
    if not manifest.is_file():
        return None
    data = json.loads(manifest.read_text())
    return (data.get("seed"), data.get("size"), data.get("category_weights"), bool(data.get("real_assets")),
            data.get("generator", 1))


def _add_targets(config: CorpusConfig, record: dict, draft: Draft, noisy: bool) -> None:
    rng = random.Random(f"{config.seed}:defect:{record['id']}")
    available = noise.defects(draft, PageContext(**record["context"]), rng)
    if noisy:
        defect = noise.pick_defect(available, rng)
        record["sft_target"], record["sft_defect"] = available[defect], defect
    else:
        record["sft_target"], record["sft_defect"] = draft.reference, None
    record["rejected"] = noise.rejected(draft, available, config.max_rejected)
