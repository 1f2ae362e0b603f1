"""`make model`: corpus → OCR → tokenizer and model → SFT → MCM-DPO → ONNX, from scratch.

This is the paper's situation reproduced with data the project makes itself
(corpus/): supervised fine-tuning on *noisy* alt text (a stated share of the
targets carries real-world defects), then preference optimisation on cleaner
(chosen, rejected) pairs. Every stage uses the product's own code: the
corpus's DOM contexts, the backend's OCR reader and input builder, the
trainer's loops and the exporter's parity check.

The functions here are also what ``make eval`` uses to train the SFT, DPO and
MCM-DPO variants it compares, so the comparison and the shipped model cannot
be trained differently.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import math
import multiprocessing
import os
import random
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import torch  # noqa: E402
from tqdm.auto import tqdm  # noqa: E402

from backend.modelinput import format_prompt  # noqa: E402
from corpus.config import GENERATOR, CorpusConfig, parse_category_weights  # noqa: E402
from corpus.generate import made_with  # noqa: E402
from backend.ocr import OcrReader  # noqa: E402
from trainer.config import TrainConfig  # noqa: E402
from trainer.data import PreferenceExample, load_corpus  # noqa: E402
from trainer.losses import FacetWeights  # noqa: E402
from trainer.ocr_noise import add_stray_words  # noqa: E402
from trainer.tiny import BUNDLED_SIZE, ModelSize, build_model  # noqa: E402
from trainer.train import mean_nll, train  # noqa: E402

log = logging.getLogger("altlens.default_model")


@dataclass(frozen=True)
class Recipe:
    """Everything that decides the bundled model; `make model` and `make eval` share it."""

    seed: int = 0
    corpus_size: int = 4000
    sft_epochs: int = 30          # at most: stopped on clean validation NLL
    sft_patience: int = 3
    sft_lr: float = 1e-3
    sft_batch: int = 32
    pref_epochs: int = 1
    pref_lr: float = 5e-5
    pref_batch: int = 16
    beta: float = 0.1
    rpo_alpha: float = 1.0        # NLL anchor on the chosen text (trainer/config.py); 0 collapsed the answers
    norm: float | None = None     # MCM-DPO divisor; None = the paper's sum of weights
    rejected_per_example: int = 1
    corruption: str = "diffusion"
    image_weight: float | None = None  # MCM-DPO's image facet weight r2; None = the paper's 0.5
    facets: tuple[str, ...] | None = None  # MCM-DPO facets kept (trainer.losses.FACETS); None = all seven
    partners: str = "any"         # whose context/image is a negative (trainer/config.py: partners)
    own_mistakes: bool = False    # add pairs rejecting the SFT model's own wrong answers (own_mistake_pairs)
    # OCR pointer tokens (backend/modelinput.py): an answer names the words read in the image by their
    # number, so the model can write text it never saw. Only images of text point; charts spell their
    # titles (pointing there cost chart accuracy): eval_harness/results/LOG.md, entries pointers-p1-p2
    # to reading-order.
    pointers: bool = True
    stray_ocr_words: float = 0.0  # share of SFT examples whose OCR text gets stray words (trainer/ocr_noise.py)
    pointed_categories: tuple[str, ...] | None = ("text",)  # corpus categories whose answers point; None: all
    # Seed of the weights, batches and pairs; None: ``seed``, which also draws the corpus. Builds of
    # one recipe differ by more than some settings do, so the shipped build was drawn on the same
    # corpus with training seeds 0-2 and chosen on val (models/README.md).
    training_seed: int | None = 1
    # The corpus with real logos, flags and icon and emoji designs (corpus/README.md, "Real assets"): not
    # shipped, measured on 2026-12-07 (eval_harness/results/LOG.md, "real assets").
    real_assets: bool = False

    @property
    def train_seed(self) -> int:
        return self.seed if self.training_seed is None else self.training_seed


# What `make model` ships: MCM-DPO with the response and image preferences only, the image negative another
# sample of the same category with another answer (`corruption="swap"`, not a diffusion-noised copy), at four
# times the paper's image weight. With all the pairs this build trains on it beats DPO on CIDEr and ROUGE-L
# in every seed on val and on test; the paper's context facets, with the same negatives, cost the icons their
# context decides and put it behind DPO (eval_harness/results/LOG.md, entries of 2026-12-05).
# `make eval` starts from Recipe() and names each row's negatives and facets.
BUNDLED_RECIPE = Recipe(partners="same_category", corruption="swap", image_weight=2.0, facets=("response", "image"))


# -- data --------------------------------------------------------------------------


def ensure_corpus(corpus_dir: Path, recipe: Recipe, weights: dict[str, float] | None = None) -> Path:
    """Generate the corpus unless one made with the same seed, size, category mix (default: the corpus's
    own), real assets and generator version is already there."""
    weights = weights or CorpusConfig().category_weights
    if made_with(corpus_dir) == (recipe.seed, recipe.corpus_size, weights, recipe.real_assets, GENERATOR):
        return corpus_dir
    command = [sys.executable, "-m", "corpus", "--out", str(corpus_dir), "--seed", str(recipe.seed),
               "--size", str(recipe.corpus_size), "--category-weights", *(f"{c}={w}" for c, w in weights.items())]
    subprocess.run(command + (["--real-assets"] if recipe.real_assets else []), check=True, cwd=REPO)
    return corpus_dir


def corpus_known_world(train_jsonl: Path):
    """What the model may say from pixels alone (backend/support.py), from the clean answers of the
    corpus's train split; stored in ``altlens.json`` so the backend's support check knows it."""
    from backend.support import known_world

    rows = [json.loads(line) for line in train_jsonl.read_text().splitlines() if line.strip()]
    return known_world((r["category"], r.get("reference") or "", r["context"].get("width", 0),
                        r["context"].get("height", 0)) for r in rows)


def ocr_texts(corpus_dir: Path, cached_only: bool = False, workers: int = 0) -> dict[str, str]:
    """OCR text of every corpus image, read by the backend's own reader (train/serve parity).

    Cached in ``ocr.json`` beside the corpus: OCR is the slowest step of `make model`,
    so it runs in ``workers`` processes (default: one per core) and the cache is saved
    every 200 images, so an interrupted build resumes where it stopped.
    ``cached_only`` returns the cache as it is (a time-boxed build then trains on the
    images already read; see :func:`load_split`).
    """
    cache_path = corpus_dir / "ocr.json"
    cache = json.loads(cache_path.read_text()) if cache_path.is_file() else {}
    if cached_only:
        return cache
    images = sorted({json.loads(line)["image_path"] for split in ("train", "val", "test")
                     for line in (corpus_dir / f"{split}.jsonl").read_text().splitlines() if line.strip()})
    todo = [i for i in images if i not in cache]
    if todo:
        workers = workers or min(len(todo), os.cpu_count() or 1)
        context = multiprocessing.get_context("spawn")  # no fork of a process that holds torch threads
        with context.Pool(workers, initializer=_start_ocr_worker, initargs=(str(corpus_dir),)) as pool:
            read = pool.imap_unordered(_ocr_one, todo, chunksize=8)
            for n, (name, text) in enumerate(tqdm(read, total=len(todo), desc="OCR"), 1):
                cache[name] = text
                if n % 200 == 0:
                    cache_path.write_text(json.dumps(cache))
        cache_path.write_text(json.dumps(cache))
    return cache


_OCR_WORKER: dict = {}


def _start_ocr_worker(corpus_dir: str) -> None:
    _OCR_WORKER.update(reader=OcrReader(enabled=True, timeout_s=60), corpus_dir=Path(corpus_dir))


def _ocr_one(name: str) -> tuple[str, str]:
    from PIL import Image

    with Image.open(_OCR_WORKER["corpus_dir"] / name) as image:
        return name, _OCR_WORKER["reader"].read(image)


def load_split(corpus_dir: Path, split: str, ocr: dict[str, str]) -> list[PreferenceExample]:
    """One example per (record, rejected text), with the OCR text the backend would read.

    Records whose image has no OCR reading yet are left out rather than given
    an empty one, which would teach the model a situation serving never has.
    """
    examples = load_corpus(corpus_dir / f"{split}.jsonl").examples
    return [dataclasses.replace(e, ocr_text=ocr[_relative(e, corpus_dir)]) for e in examples
            if _relative(e, corpus_dir) in ocr]


def _relative(example: PreferenceExample, corpus_dir: Path) -> str:
    return str(Path(example.image_path).resolve().relative_to(corpus_dir.resolve()))


def sft_examples(examples: list[PreferenceExample]) -> list[PreferenceExample]:
    """One example per record, target = the noisy SFT target (as real user alt text is)."""
    seen, out = set(), []
    for e in examples:
        if e.meta.get("id") not in seen:
            seen.add(e.meta.get("id"))
            out.append(dataclasses.replace(e, rejected=None))
    return out


def preference_examples(examples: list[PreferenceExample], per_record: int, seed: int) -> list[PreferenceExample]:
    """Chosen = the correct alt, rejected = up to ``per_record`` of the record's defects and near misses."""
    by_record: dict[str, list[PreferenceExample]] = {}
    for e in examples:
        if e.is_pair:
            by_record.setdefault(e.meta["id"], []).append(e)
    rng = random.Random(seed)
    out = []
    for record_id in sorted(by_record):
        group = by_record[record_id]
        reference = group[0].meta["reference"]
        decorative = bool(group[0].meta["decorative"])
        candidates = [e for e in group if (e.rejected, e.rejected_decorative) != (reference, decorative)]
        for e in rng.sample(candidates, min(per_record, len(candidates))):
            out.append(dataclasses.replace(e, chosen=reference, chosen_decorative=decorative))
    return out


def own_mistake_pairs(model_dir: Path, examples: list[PreferenceExample]) -> list[PreferenceExample]:
    """Pairs that reject what the model itself answers wrongly: chosen = the correct alt.

    These are the pairs the product's feedback loop makes when a user corrects
    a generated description (DESIGN.md §4): negatives from the model's own
    distribution (a handle made up from the poster's name, a quote that loses
    its place and repeats itself), where the corpus's hand-made defects are
    things it no longer says. One per record the model gets wrong (greedy
    decoding, the backend's input builder); right answers give none.
    """
    from eval_harness.metrics import normalize_for_match
    from eval_harness.runner import CheckpointDescriber, to_eval_examples

    records = clean_examples(examples)
    answers = CheckpointDescriber(model_dir).describe(to_eval_examples(records))
    return [dataclasses.replace(e, rejected=a.text, rejected_decorative=a.decorative,
                                meta={**e.meta, "rejected_from": "model"})
            for e, a in zip(records, answers)
            if (a.decorative, normalize_for_match(a.text) if not a.decorative else "")
            != (e.chosen_decorative, normalize_for_match(e.chosen) if not e.chosen_decorative else "")]


def clean_examples(examples: list[PreferenceExample]) -> list[PreferenceExample]:
    """Evaluation examples: one per record, target = the correct alt."""
    return [dataclasses.replace(e, chosen=e.meta["reference"], chosen_decorative=bool(e.meta["decorative"]))
            for e in sft_examples(examples)]


# -- training ----------------------------------------------------------------------


def build_base(out_dir: Path, train_examples: list[PreferenceExample], seed: int,
               size: ModelSize = BUNDLED_SIZE, pointers: bool = False) -> Path:
    """Untrained model whose tokenizer is trained on the texts it will read and write."""
    texts = []
    for e in train_examples:
        texts += [e.chosen, e.rejected or "", format_prompt(e.context, e.ocr_text), e.meta.get("reference", "")]
    return build_model(out_dir, texts=texts, size=size, seed=seed, pointers=pointers)


def sft(base: Path, examples: list[PreferenceExample], out: Path, recipe: Recipe, seed: int,
        val_examples: list[PreferenceExample]) -> Path:
    """SFT on the noisy targets, stopped where the *clean* validation NLL is lowest.

    Trained long enough, a model learns the defects of noisy alt text (file
    names, "image", a decorative image described) along with the rest; the
    validation split's correct alt texts say when that starts. The test split
    is never looked at.
    """
    cfg = TrainConfig(objective="sft", model_name_or_path=str(base), checkpoint_dir=str(out),
                      learning_rate=recipe.sft_lr, epochs=recipe.sft_epochs, batch_size=recipe.sft_batch,
                      seed=seed, weight_decay=0.01)
    best_dir = out / "best"
    held_out = pointing(clean_examples(val_examples), recipe)  # encoded as training encodes them
    history: list[float] = []

    def select(policy, epoch: int) -> bool:
        history.append(mean_nll(policy, held_out))
        log.info("SFT epoch %d: clean validation NLL %.4f", epoch + 1, history[-1])
        if history[-1] == min(history):
            policy.save_pretrained(best_dir)
        return len(history) - 1 - history.index(min(history)) >= recipe.sft_patience

    examples = add_stray_words(pointing(examples, recipe), recipe.stray_ocr_words, seed)
    result = train(cfg, examples, on_epoch_end=select)
    best_epoch = history.index(min(history)) + 1
    selection = {"validation_nll": history, "best_epoch": best_epoch}
    (out / "selection.json").write_text(json.dumps(selection, indent=2))
    trained = json.loads((result.model_dir / "altlens_training.json").read_text())
    trained.update(steps=best_epoch * math.ceil(len(examples) / cfg.batch_size), selection=selection)
    (best_dir / "altlens_training.json").write_text(json.dumps(trained, indent=2))
    return best_dir


def preference(start: Path, examples: list[PreferenceExample], out: Path, recipe: Recipe, seed: int,
               objective: str = "mcm_dpo", facets: tuple[str, ...] | None = None,
               only_wrong_negatives: bool = False, partners: str | None = None,
               corruption: str | None = None, norm: float | None = None,
               beta: float | None = None, rpo_alpha: float | None = None,
               epochs: int | None = None, image_weight: float | None = None) -> Path:
    """A preference stage from ``start``; ``partners``, ``corruption``, ``norm``, ``beta``, ``rpo_alpha``,
    ``epochs`` and ``image_weight`` (the image facet's weight r2) None take the recipe's.

    ``objective`` ``"chosen_nll"`` is the stage with its preference terms taken out: the same steps of
    NLL on the chosen texts that ``rpo_alpha`` adds, which says how much of a preference method's gain
    over SFT is only the cleaner targets.
    """
    facets = recipe.facets if facets is None else facets
    weights = FacetWeights().only(*facets) if facets else FacetWeights()
    image_weight = recipe.image_weight if image_weight is None else image_weight
    if image_weight is not None:
        weights = dataclasses.replace(weights, r2=image_weight)
    cfg = TrainConfig(objective="sft" if objective == "chosen_nll" else objective, model_name_or_path=str(start),
                      checkpoint_dir=str(out),
                      learning_rate=recipe.pref_lr, epochs=recipe.pref_epochs if epochs is None else epochs,
                      batch_size=recipe.pref_batch, beta=recipe.beta if beta is None else beta, seed=seed, facet_weights=weights,
                      corruption=corruption or recipe.corruption,
                      rpo_alpha=recipe.rpo_alpha if rpo_alpha is None else rpo_alpha,
                      norm=(recipe.norm if norm is None else norm) if objective == "mcm_dpo" else None,
                      only_wrong_negatives=only_wrong_negatives, partners=partners or recipe.partners)
    return train(cfg, pointing(examples, recipe)).model_dir


def pointing(examples: list[PreferenceExample], recipe: Recipe) -> list[PreferenceExample]:
    """``examples`` with pointers kept only where the recipe points (by corpus category)."""
    if recipe.pointed_categories is None:
        return list(examples)
    return [dataclasses.replace(e, points_at_ocr=e.meta.get("category") in recipe.pointed_categories)
            for e in examples]


# -- evaluation ----------------------------------------------------------------------


def category_accuracy(examples, predictions) -> dict[str, float]:
    """Share of right answers per corpus category.

    decorative: called decorative; text, icon_control, emoji: the alt text
    itself (case and spacing ignored); chart: the chart's kind and title, the
    summary's first clause. ``not_decorative`` is the share of meaningful
    images the model did not hide.
    """
    from eval_harness.metrics import normalize_for_match

    hits: dict[str, list[bool]] = {}
    for ex, pred in zip(examples, predictions):
        category = ex.reference.category
        reference = ex.reference.texts[0]
        if category == "decorative":
            right = pred.decorative
        elif category == "chart":
            right = not pred.decorative and (normalize_for_match(pred.text.split(",")[0])
                                             == normalize_for_match(reference.split(",")[0]))
        else:
            right = not pred.decorative and normalize_for_match(pred.text) == normalize_for_match(reference)
        hits.setdefault(category, []).append(bool(right))
        if category != "decorative":
            hits.setdefault("not_decorative", []).append(not pred.decorative)
    return {k: sum(v) / len(v) for k, v in sorted(hits.items())}


def asset_accuracy(examples, predictions) -> dict[str, dict]:
    """Right answers per kind of real asset (corpus/README.md, "Unseen assets"): on the test split every
    brand, flag, emoji design and phrase here is one training never showed, so this is generalisation."""
    from eval_harness.metrics import normalize_for_match

    hits: dict[str, list[bool]] = {}
    for ex, pred in zip(examples, predictions):
        asset = ex.example.meta.get("asset")
        if asset:
            right = not pred.decorative and normalize_for_match(pred.text) == normalize_for_match(ex.reference.texts[0])
            hits.setdefault(asset.split(":", 1)[0], []).append(right)
    return {k: {"examples": len(v), "right": sum(v) / len(v)} for k, v in sorted(hits.items())}


def evaluate(model_dir: Path, examples: list[PreferenceExample]) -> dict:
    """The paper's metrics and per-category accuracy of an ONNX model on corpus examples, and the
    unseen-phrase probe (eval_harness/unseen_text.py): the test split repeats phrases training saw."""
    from eval_harness import unseen_text
    from eval_harness.metrics import score
    from eval_harness.runner import EngineDescriber, to_eval_examples

    eval_examples = to_eval_examples(clean_examples(examples))
    predictions = EngineDescriber(model_dir).describe(eval_examples)
    sheet = score(predictions, [e.reference for e in eval_examples])
    return {"examples": len(eval_examples), "metrics": sheet.corpus,
            "category_accuracy": category_accuracy(eval_examples, predictions),
            "asset_accuracy": asset_accuracy(eval_examples, predictions),
            "unseen_text": unseen_text.run(model_dir)}


# -- the command ---------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", default=str(REPO / "var" / "model-build"), help="corpus and checkpoints")
    parser.add_argument("--out", default=str(REPO / "models" / "bundled"), help="the ONNX model goes here")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only-ocr-cached", action="store_true",
                        help="time-boxed build: use only the corpus images whose OCR reading is already cached")
    experiment = parser.add_argument_group("experiments (the shipped model uses none of these)")
    experiment.add_argument("--real-assets", action="store_true", help="the corpus with real logos, flags and designs")
    experiment.add_argument("--corpus-size", type=int, default=BUNDLED_RECIPE.corpus_size)
    experiment.add_argument("--category-weights", nargs="+", default=[], metavar="CATEGORY=WEIGHT",
                            help="the corpus's category mix (python -m corpus --help)")
    args = parser.parse_args(argv)
    try:
        weights = parse_category_weights(args.category_weights)
    except ValueError as error:
        parser.error(f"--category-weights: {error}")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    torch.set_num_threads(1)  # measured: 2 threads on 2 busy cores ran 10x slower than 1
    recipe = dataclasses.replace(BUNDLED_RECIPE, seed=args.seed, real_assets=args.real_assets,
                                 corpus_size=args.corpus_size)
    work = Path(args.work)
    started = time.time()

    for stale in ("base", "sft", "mcm_dpo"):  # a previous build's checkpoints and metrics logs
        shutil.rmtree(work / stale, ignore_errors=True)
    corpus_dir = ensure_corpus(work / "corpus", recipe, weights)
    ocr = ocr_texts(corpus_dir, cached_only=args.only_ocr_cached)
    train_split = load_split(corpus_dir, "train", ocr)
    log.info("training on %d corpus records", len({e.meta["id"] for e in train_split}))
    base = build_base(work / "base", train_split, recipe.train_seed, pointers=recipe.pointers)
    sft_dir = sft(base, sft_examples(train_split), work / "sft", recipe, recipe.train_seed,
                  load_split(corpus_dir, "val", ocr))
    pairs = preference_examples(train_split, recipe.rejected_per_example, recipe.train_seed)
    if recipe.own_mistakes:
        pairs += own_mistake_pairs(sft_dir, train_split)
    final = preference(sft_dir, pairs, work / "mcm_dpo", recipe, recipe.train_seed)

    from trainer.export import export_onnx

    out = Path(args.out)
    staging = out.with_name(out.name + ".staging")
    export_onnx(final, staging, {"trained": True, "recipe": dataclasses.asdict(recipe),
                                 "note": "bundled altlens model: SFT on noisy corpus alt text, then MCM-DPO",
                                 "known_world": corpus_known_world(corpus_dir / "train.jsonl").to_info()})
    (staging / "decoder_model_merged.onnx").unlink(missing_ok=True)  # the engine never loads it
    shutil.copytree(final, staging / "pytorch")  # retrain.py fine-tunes the served model from here
    from eval_harness.realweb.records import DEFAULT_ROOT
    from trainer.kinds import build as build_kinds

    kinds = build_kinds(staging, Path(DEFAULT_ROOT), seed=recipe.seed, progress=log.info)  # kinds.json
    log.info("kind recogniser: %s", json.dumps(kinds))
    report = evaluate(staging, load_split(corpus_dir, "test", ocr))
    report["kinds"] = kinds
    (staging / "metrics.json").write_text(json.dumps(report, indent=2))
    log.info("held-out test: %s", json.dumps(report))
    if out.exists():
        shutil.rmtree(out)
    staging.rename(out)
    log.info("bundled model written to %s in %.1f min", out, (time.time() - started) / 60)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
