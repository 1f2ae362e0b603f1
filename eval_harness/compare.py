"""``make eval``: SFT vs SFT→DPO vs SFT→MCM-DPO (and facet ablations), same start, same budget, held-out test.

One base model and one SFT run on the *noisy* SFT targets of the corpus's
train split (trainer/default_model.py, the bundled model's own functions and
recipe), stopped at its lowest clean NLL on the val split. From that same SFT
checkpoint, for every seed, every preference method trains on the *same*
preference pairs with the same learning rate, batch size and number of steps —
only the objective (and, for ablations, which MCM-DPO facets are on) differs;
the seed draws the pairs and sets their order, the image corruptions and the
swapped contexts. Every model is then scored on the corpus's **test** split,
which no run trains on and which decides nothing. ``honesty`` in the result
records the split ids and the checks made on them.

The SFT stage is shared rather than repeated per seed: the question is what
each preference objective adds to one starting point, and 3 SFT runs would
cost as much as the whole comparison on 2 cores. ``--sft-checkpoint`` reuses
an SFT model this recipe already trained (``make model`` trains the identical
one, seed 0) after checking its recipe, size and record count.

Models answer through the PyTorch describer (greedy decoding, the backend's
input builder); exporting every checkpoint to ONNX would add minutes per run
and the engine's beam search and confidence policy would mix a serving choice
into a comparison of training objectives.

The corpus's test split comes from the same generator as its train split, so it
teaches but does not judge (DESIGN.md §7). The methods of ``realweb_methods``
(SFT, DPO, MCM-DPO and the row ``make model`` ships) are also judged on real
pages: each of their checkpoints is exported to ONNX and answers the
``../shared/data/realweb`` images as the backend serves it (trainer.gate: beam
search, the confidence policy, the support checks), judged by the real-web judge
at the backend level; the real-web ``test`` split when the corpus's test split
reports, ``dev`` with ``--split val``.

Outputs (``--out``, default ``eval_harness/results``): ``comparison.md`` (mean
± std over seeds per method), ``comparison.json`` (every number per seed, the
command, config and timings) and ``comparison.png``.

``--quick`` makes a tiny corpus, skips OCR and trains a few steps with a tiny
model: it checks the pipeline (tests run it), not the methods.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import math
import os
import platform
import random
import shlex
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402
from transformers import AutoTokenizer  # noqa: E402

from backend.modelinput import has_pointers  # noqa: E402
from corpus.config import GENERATOR, CorpusConfig, parse_category_weights  # noqa: E402
from corpus.generate import made_with  # noqa: E402
from eval_harness.realweb.records import DEFAULT_ROOT as REALWEB_ROOT  # noqa: E402
from trainer.default_model import (  # noqa: E402
    Recipe, build_base, clean_examples, load_split, ocr_texts, own_mistake_pairs, preference, preference_examples, sft,
    sft_examples,
)
from trainer.tiny import BUNDLED_SIZE, ModelSize  # noqa: E402

log = logging.getLogger("altlens.compare")

if TYPE_CHECKING:
    from trainer.gate import GateSets, Inputs

@dataclass(frozen=True)
class Method:
    """One row of the comparison: a preference objective and how its negatives are made."""

    objective: str  # "sft" (no preference stage), "chosen_nll" (its NLL anchor alone), "dpo" or "mcm_dpo"
    facets: tuple[str, ...] | None = None  # MCM-DPO facets kept; None = all, at the paper's weights
    only_wrong_negatives: bool = False  # TrainConfig.only_wrong_negatives
    partners: str | None = None  # TrainConfig.partners; None = the recipe's
    corruption: str | None = None  # TrainConfig.corruption; None = the recipe's
    norm: float | None = None  # TrainConfig.norm; None = the recipe's
    beta: float | None = None  # TrainConfig.beta; None = the recipe's
    rpo_alpha: float | None = None  # TrainConfig.rpo_alpha (the NLL anchor's weight); None = the recipe's
    epochs: int | None = None  # passes over the pairs; None = the recipe's (1)
    image_weight: float | None = None  # the image facet's weight r2; None = the recipe's (Recipe(): the paper's 0.5)


METHODS: dict[str, Method] = {
    "SFT": Method("sft"),
    "SFT→DPO": Method("dpo"),
    "SFT→MCM-DPO": Method("mcm_dpo", partners="any"),  # the paper: any other sample gives the negatives
    "MCM-DPO[response+image]": Method("mcm_dpo", ("response", "image"), partners="any"),
    "MCM-DPO[response+context]": Method("mcm_dpo", ("response", "context"), partners="any"),
    "MCM-DPO[response+image+context]": Method("mcm_dpo", ("response", "image", "context"), partners="any"),
    "MCM-DPO[wrong negatives only]": Method("mcm_dpo", only_wrong_negatives=True, partners="any"),
    "MCM-DPO[same-category negatives]": Method("mcm_dpo", partners="same_category"),
    "MCM-DPO[same-category, swapped images]": Method("mcm_dpo", partners="same_category", corruption="swap"),
    # The paper divides the weighted margin by the sum of the weights (2.8), which leaves the response
    # margin 1/2.8 of the weight DPO gives it at the same beta; norm 1 gives it DPO's weight.
    "MCM-DPO[norm 1]": Method("mcm_dpo", partners="any", norm=1.0),
    "MCM-DPO[same-category, norm 1]": Method("mcm_dpo", partners="same_category", norm=1.0),
    # The preference stage without its preference terms: NLL on the chosen texts only (rpo_alpha's anchor).
    "SFT→chosen NLL": Method("chosen_nll"),
    # beta 1: at 0.1 a pair's preference gradient (beta * sigmoid(-beta z) ~ 0.05) is about a quarter of the anchor's
    "SFT→DPO[beta 1]": Method("dpo", beta=1.0),
    "MCM-DPO[same-category, beta 1]": Method("mcm_dpo", partners="same_category", beta=1.0),
    # The anchor at a tenth of its weight, so the preference terms are a larger share of each update.
    "SFT→DPO[anchor 0.1]": Method("dpo", rpo_alpha=0.1),
    "MCM-DPO[anchor 0.1]": Method("mcm_dpo", partners="any", rpo_alpha=0.1),
    "MCM-DPO[same-category, anchor 0.1]": Method("mcm_dpo", partners="same_category", rpo_alpha=0.1),
    # The paper's 2 epochs over the pairs instead of the recipe's 1: more room for the facets to move the model.
    "SFT→chosen NLL[2 epochs]": Method("chosen_nll", epochs=2),
    "SFT→DPO[2 epochs]": Method("dpo", epochs=2),
    "MCM-DPO[same-category, 2 epochs]": Method("mcm_dpo", partners="same_category", epochs=2),
    # Emoji and charts are decided by the pixels, and the SFT model hardly looks at them (its image_logp_drop
    # is 0.02-0.03 nats per token). Another emoji's image as the negative, at four times the paper's weight,
    # asks for exactly the missing skill: this name fits this picture and not that one.
    "MCM-DPO[same-category, swapped images, image x4]": Method("mcm_dpo", partners="same_category",
                                                               corruption="swap", image_weight=2.0),
    # The row above, without the negatives that are not wrong: for an icon that only its link explains,
    # another icon in the same link is still "Shopping cart", and at four times the image weight that false
    # negative weighs four times as much (trainer.losses.wrong_under, the corpus's decided_by).
    "MCM-DPO[same-category, swapped images, image x4, wrong negatives only]": Method(
        "mcm_dpo", partners="same_category", corruption="swap", image_weight=2.0, only_wrong_negatives=True),
    # What `make model` ships: the swapped-image row without its context facets. With all the pairs that row
    # loses to DPO on icons in links, which their context decides; without the context facets it beats DPO.
    "MCM-DPO[same-category, swapped images, image x4, response+image]": Method(
        "mcm_dpo", ("response", "image"), partners="same_category", corruption="swap", image_weight=2.0),
}

# What `make eval` runs: the table (SFT, DPO, MCM-DPO and its facet ablations), the anchor alone,
# and the MCM-DPO variants that did best: same-category negatives (level with DPO or behind), swapped images
# at image weight x4 (ahead of DPO with 1,200 pair records, behind with all of them) and the one `make model`
# ships, that row without the context facets. The other rows are variants tried on the way
# (eval_harness/results/LOG.md); name them with --methods.
DEFAULT_METHODS = ("SFT", "SFT→DPO", "SFT→MCM-DPO", "MCM-DPO[response+image]", "MCM-DPO[response+context]",
                   "MCM-DPO[response+image+context]", "SFT→chosen NLL", "MCM-DPO[same-category negatives]",
                   "MCM-DPO[same-category, swapped images, image x4]",
                   "MCM-DPO[same-category, swapped images, image x4, response+image]")

# The rows judged on real pages too (each checkpoint exported to ONNX: about a minute per model on 2 cores):
# the three methods and the one `make model` ships.
SHIPPED_METHOD = "MCM-DPO[same-category, swapped images, image x4, response+image]"
REALWEB_METHODS = ("SFT", "SFT→DPO", "SFT→MCM-DPO", SHIPPED_METHOD)
# trainer.gate's real-web figures (the real-web judge at the backend level), as they appear in the scores.
REALWEB_METRICS = ("realweb.grounded_share", "realweb.ungrounded_share", "realweb.hidden_share",
                   "realweb.honest_share", "realweb.decorative_right_share", "realweb.images")

QUICK_SIZE = ModelSize()

# Per-category accuracy columns: exact match of the alt, and for decorative images "called decorative".
CATEGORY_METRICS = ("acc[text]", "acc[icon_control]", "acc[chart]", "acc[emoji]", "acc[decorative]")
REPORT_METRICS = ("BLEU-1", "BLEU-2", "BLEU-3", "BLEU-4", "METEOR", "ROUGE-L", "CIDEr", *CATEGORY_METRICS,
                  "decorative_agreement", "mean_words", "share_over_125_chars", "repetition_rate")


@dataclass(frozen=True)
class ComparisonConfig:
    """Everything that decides the comparison; written into the result next to the numbers."""

    corpus_dir: Path = REPO / "var" / "model-build" / "corpus"
    work_dir: Path = REPO / "var" / "eval-compare"
    out_dir: Path = REPO / "eval_harness" / "results"
    seeds: tuple[int, ...] = (0, 1, 2)
    methods: tuple[str, ...] = DEFAULT_METHODS
    # The bundled model's recipe and size (trainer/default_model.py): what is compared is what ships.
    # Each MCM-DPO row names its negatives' partners, so BUNDLED_RECIPE's choice is one row of the table.
    recipe: Recipe = Recipe()
    size: ModelSize = BUNDLED_SIZE
    sft_records: int | None = None  # train records for SFT (None: all)
    # train records that give preference pairs (the same pairs for every method); the bundled model
    # uses all 3,192: 1,200 keeps 3 seeds x 8 preference runs within the documented time on 2 cores
    pref_records: int | None = 1200
    test_limit: int | None = None
    # "val" to choose between settings without looking at the test split; SFT's early stopping
    # reads val too, so only a "test" run reports how the methods compare
    split: str = "test"
    ocr: bool = True
    threads: int = 1
    jobs: int = 2  # seeds trained at once, one process each (on 2 cores, 2 nearly halves the time)
    # an SFT model already trained by this recipe (e.g. `make model`'s var/model-build/sft/best): checked, reused
    sft_checkpoint: Path | None = None
    # "corpus": chosen = the correct alt, rejected = the corpus's defects and near misses;
    # "feedback": what a simulated user's thumbs-up and picks on the served SFT model yield, chosen = one
    # of the model's own answers (eval_harness/simulated_feedback.py)
    pairs: str = "corpus"
    # the corpus's category mix (corpus/config.py); None: the default mix that `make model` trains on
    category_weights: dict[str, float] | None = None
    # real pages (eval_harness.realweb's records); None, or a folder that is not there: no real-web rows
    realweb: Path | None = REALWEB_ROOT
    realweb_methods: tuple[str, ...] = REALWEB_METHODS  # those of `methods` judged on real pages
    realweb_per_set: int | None = None  # a seeded sample of each set's split (quick runs); None: all of it

    @property
    def realweb_split(self) -> str:
        """Choose on dev, report on test: the real-web split that goes with the corpus split evaluated."""
        return "test" if self.split == "test" else "dev"


def quick_config(work_dir: Path, out_dir: Path) -> ComparisonConfig:
    """A tiny end-to-end run (about a minute): pipeline check, not a method comparison."""
    return ComparisonConfig(corpus_dir=work_dir / "corpus", work_dir=work_dir, out_dir=out_dir, seeds=(0, 1),
                            methods=("SFT", "SFT→DPO", "SFT→MCM-DPO", "MCM-DPO[response+image]"),
                            recipe=Recipe(corpus_size=100, sft_epochs=2, sft_batch=16, pref_epochs=1, pref_batch=8,
                                          rejected_per_example=1),
                            size=QUICK_SIZE, pref_records=16, ocr=False, threads=1,
                            realweb_methods=("SFT", "SFT→MCM-DPO"), realweb_per_set=2)


# -- data --------------------------------------------------------------------------


def prepare_corpus(config: ComparisonConfig) -> Path:
    """Generate the corpus if missing; never reuse one made with another seed, size or category mix."""
    recipe = config.recipe
    default_mix = CorpusConfig().category_weights
    mix = config.category_weights or default_mix
    found = made_with(config.corpus_dir)
    if found is not None:
        if found != (recipe.seed, recipe.corpus_size, mix, recipe.real_assets, GENERATOR):
            raise SystemExit(f"{config.corpus_dir} holds a corpus of seed {found[0]} size {found[1]} mix {found[2]} "
                             f"real assets {found[3]} generator {found[4]}, not {recipe.seed}/{recipe.corpus_size} "
                             f"mix {mix} real assets {recipe.real_assets} generator {GENERATOR}: pass another --corpus")
        return config.corpus_dir
    command = [sys.executable, "-m", "corpus", "--out", str(config.corpus_dir), "--seed", str(recipe.seed),
               "--size", str(recipe.corpus_size), "--quiet"]
    if mix != default_mix:
        command += ["--category-weights", *(f"{name}={weight}" for name, weight in mix.items())]
    if recipe.real_assets:
        command.append("--real-assets")
    subprocess.run(command, check=True, cwd=REPO)
    return config.corpus_dir


def record_fields(corpus_dir: Path, split: str) -> dict[str, dict]:
    """id -> raw corpus record (for ``decided_by`` and the honesty checks)."""
    lines = (corpus_dir / f"{split}.jsonl").read_text(encoding="utf-8").splitlines()
    return {r["id"]: r for r in map(json.loads, filter(str.strip, lines))}


def no_ocr(corpus_dir: Path) -> dict[str, str]:
    """OCR switched off (quick mode): every image reads as no text, as the backend with ALTLENS_OCR=off."""
    return {r["image_path"]: "" for split in ("train", "val", "test") for r in record_fields(corpus_dir, split).values()}


def _subset(examples, records: int | None, seed: int):
    """The examples of ``records`` train records, picked by a seeded draw over record ids."""
    if records is None:
        return examples
    ids = sorted({e.meta["id"] for e in examples})
    keep = set(random.Random(seed).sample(ids, min(records, len(ids))))
    return [e for e in examples if e.meta["id"] in keep]


def honesty_checks(corpus_dir: Path) -> dict:
    """Ids and (image, context) pairs of the test split must not occur in train or val."""
    splits = {s: record_fields(corpus_dir, s) for s in ("train", "val", "test")}

    def pairs(split: str) -> set[str]:
        return {r["image_path"] + json.dumps(r["context"], sort_keys=True) for r in splits[split].values()}

    test_ids = set(splits["test"])
    report = {
        "split_sizes": {s: len(v) for s, v in splits.items()},
        "test_ids_in_train_or_val": len(test_ids & (set(splits["train"]) | set(splits["val"]))),
        "test_image_context_pairs_in_train_or_val": len(pairs("test") & (pairs("train") | pairs("val"))),
        "model_selection": "SFT stops at its lowest clean NLL on the val split; preference runs end at their "
                           "last step; the test split decides nothing",
    }
    if report["test_ids_in_train_or_val"] or report["test_image_context_pairs_in_train_or_val"]:
        raise SystemExit(f"test split leaks into training data: {report}")
    return report


# -- training ----------------------------------------------------------------------


def train_sft(config: ComparisonConfig, train_split, val_split) -> tuple[Path, dict]:
    """The one SFT run every preference method starts from (or ``config.sft_checkpoint``, reused)."""
    sft_data = sft_examples(_subset(train_split, config.sft_records, config.recipe.seed))
    if config.sft_checkpoint is not None:
        return _checked_sft_checkpoint(config, sft_data), {"sft_records": sorted({e.meta["id"] for e in sft_data}),
                                                           "train_seconds": 0.0, "reused": True}
    work = config.work_dir / "sft-start"
    if work.exists():
        shutil.rmtree(work)
    started = time.perf_counter()
    base = build_base(work / "base", train_split, config.recipe.train_seed, config.size, config.recipe.pointers)
    model = sft(base, sft_data, work / "sft", config.recipe, config.recipe.train_seed, val_split)
    return model, {"sft_records": sorted({e.meta["id"] for e in sft_data}),
                   "train_seconds": round(time.perf_counter() - started, 1), "reused": False}


def _checked_sft_checkpoint(config: ComparisonConfig, sft_data) -> Path:
    """A reused SFT model must be what this comparison would train: same recipe, size and records."""
    path = Path(config.sft_checkpoint)
    trained = json.loads((path / "altlens_training.json").read_text())
    cfg = trained["config"]
    recipe = config.recipe
    expected = {"objective": "sft", "learning_rate": recipe.sft_lr, "epochs": recipe.sft_epochs,
                "batch_size": recipe.sft_batch, "seed": recipe.train_seed}
    wrong = {k: (cfg.get(k), v) for k, v in expected.items() if cfg.get(k) != v}
    if trained.get("examples") != len(sft_data):
        wrong["examples"] = (trained.get("examples"), len(sft_data))
    model_cfg = json.loads((path / "config.json").read_text())
    if model_cfg["decoder"]["n_embd"] != config.size.hidden:
        wrong["hidden"] = (model_cfg["decoder"]["n_embd"], config.size.hidden)
    pointed = has_pointers(AutoTokenizer.from_pretrained(path))
    if pointed != recipe.pointers:
        wrong["pointers"] = (pointed, recipe.pointers)
    if wrong:
        raise SystemExit(f"{path} was not trained by this comparison's SFT recipe: {wrong}")
    return path


def train_preferences(config: ComparisonConfig, sft_dir: Path, train_split, seed: int,
                      feedback: list | None = None) -> tuple[dict[str, Path], dict]:
    """Every preference method from the same SFT checkpoint on the same pairs; ``seed`` varies
    the pairs' draw, their order, the image corruptions and the swapped contexts. ``feedback``:
    the simulated-feedback pairs of every train record (``config.pairs == "feedback"``), of which
    the seed's records are kept."""
    work = config.work_dir / f"seed-{seed}"
    if work.exists():
        shutil.rmtree(work)
    recipe = dataclasses.replace(config.recipe, seed=seed)
    records = _subset(train_split, config.pref_records, seed)
    if feedback is not None:  # the simulated feedback on the same records
        ids = {e.meta["id"] for e in records}
        pairs = [p for p in feedback if p.meta["id"] in ids]
    else:
        pairs = preference_examples(records, recipe.rejected_per_example, seed)
    if recipe.own_mistakes:
        pairs += own_mistake_pairs(sft_dir, records)
    models, timings, steps = {}, {}, {}
    for name in config.methods:
        method = METHODS[name]
        if method.objective == "sft":
            continue
        started = time.perf_counter()
        models[name] = preference(sft_dir, pairs, work / _slug(name), recipe, seed, **dataclasses.asdict(method))
        timings[name] = time.perf_counter() - started
        steps[name] = _steps(models[name])
    used = {"pair_records": sorted({e.meta["id"] for e in pairs}), "pairs": len(pairs), "steps": steps}
    return models, {"train_seconds": timings, **used}


def simulated_feedback_pairs(config: ComparisonConfig, sft_dir: Path, train_split) -> tuple[list, dict]:
    """The simulated user's pairs on every record some seed trains on, from the SFT model as served."""
    from eval_harness import simulated_feedback

    ids = set().union(*({e.meta["id"] for e in _subset(train_split, config.pref_records, s)} for s in config.seeds))
    records = [e for e in clean_examples(train_split) if e.meta["id"] in ids]
    started = time.perf_counter()
    engine = simulated_feedback.served_sft(sft_dir, config.work_dir / "sft-onnx")
    pairs = simulated_feedback.feedback_pairs(engine, records)
    simulated_feedback.write_pairs(config.work_dir / "feedback-pairs.jsonl", pairs)
    summary = {**simulated_feedback.summary(pairs, len(records)), "seconds": round(time.perf_counter() - started, 1)}
    log.info("simulated feedback: %s", json.dumps(summary))
    return pairs, summary


def _steps(model_dir: Path) -> int:
    return int(json.loads((model_dir / "altlens_training.json").read_text())["steps"])


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in name.replace("→", "_to_")).strip("_").lower()


# -- evaluation --------------------------------------------------------------------


def evaluate(model_dir: Path, examples, decided_by: dict[str, str], jar,
             pointed: tuple[str, ...] | None = None) -> tuple[dict[str, float], list]:
    """Caption metrics, per-category accuracy and the sensitivity checks of one checkpoint on ``examples``
    (``pointed``: the recipe's pointed categories, so that references are scored as they were trained)."""
    from eval_harness.metrics import score
    from eval_harness.runner import CheckpointDescriber
    from eval_harness.sensitivity import SensitivityConfig, sensitivity

    describer = CheckpointDescriber(model_dir)
    predictions = describer.describe(examples)
    sheet = score(predictions, [e.reference for e in examples], jar)
    scores = {m: v for m, v in sheet.corpus.items()}
    for category in ("text", "icon_control", "chart", "emoji"):
        scores[f"acc[{category}]"] = scores.get(f"exact_match[{category}]", math.nan)
    decorative = [p.decorative for p, e in zip(predictions, examples) if e.reference.category == "decorative"]
    scores["acc[decorative]"] = float(np.mean(decorative)) if decorative else math.nan
    scores.update(sensitivity(describer, examples, predictions, decided_by,
                              SensitivityConfig(pointed_categories=pointed)))
    return scores, predictions


@dataclass(frozen=True)
class RealWeb:
    """How the rows of ``realweb_methods`` are judged on real pages (picklable: seeds run in their own processes)."""

    sets: "GateSets"  # trainer.gate's: the records, the split, the OCR cache
    known_world: dict  # stored with each exported model, as `make model` stores it: the support checks read it
    images: int


def real_web(config: ComparisonConfig, corpus_dir: Path) -> tuple[RealWeb, "Inputs"] | None:
    """The real-web set of this run and its inputs in this process, its images' text read once here (cached on
    disk for every seed), or None when no row is to be judged on real pages or the data is not there (said in
    the log and the report)."""
    from trainer.default_model import corpus_known_world
    from trainer.gate import GateSets, prepare

    if config.realweb is None or not any(m in config.realweb_methods for m in config.methods):
        return None
    if not config.realweb.is_dir():
        log.warning("no real-web data at %s: the comparison has no real-web rows", config.realweb)
        return None
    world = corpus_known_world(corpus_dir / "train.jsonl")
    sets = GateSets(realweb=config.realweb, realweb_split=config.realweb_split, realweb_per_set=config.realweb_per_set,
                    ocr=config.ocr, cache_dir=config.work_dir / "realweb", seen_area=world.seen_area)
    t = time.perf_counter()
    inputs = prepare(sets)["realweb"]
    images = len(inputs.contexts)
    log.info("real web: %d images of the %s split read in %.0f s", images, sets.realweb_split, time.perf_counter() - t)
    return RealWeb(sets, world.to_info(), images), inputs


def seed_inputs(realweb: RealWeb) -> "Inputs":
    """The real-web inputs in a seed's own process: the text from the cache real_web() filled, not saved
    (seeds running at once share the file)."""
    from trainer.gate import OcrCache, realweb_inputs

    return realweb_inputs(realweb.sets, OcrCache(realweb.sets.cache_dir / "ocr.json", realweb.sets.ocr))


def realweb_figures(model_dir: Path, realweb: RealWeb, inputs: "Inputs") -> dict[str, float | None]:
    """The real-web judge's figures for one checkpoint, exported to ONNX and answering as the backend serves it."""
    from trainer.export import export_onnx
    from trainer.gate import evaluate as served_figures

    onnx_dir = model_dir.parent / f"{model_dir.name}-onnx"
    export_onnx(model_dir, onnx_dir, {"trained": True, "known_world": realweb.known_world})
    try:
        return served_figures(onnx_dir, {"realweb": inputs})
    finally:
        shutil.rmtree(onnx_dir, ignore_errors=True)


def run(config: ComparisonConfig, command: str) -> dict:
    """Train and evaluate every method for every seed; write and return the result."""
    import torch

    from eval_harness.metrics import MeteorJar
    from eval_harness.runner import to_eval_examples, write_predictions

    torch.set_num_threads(config.threads)
    started = time.perf_counter()
    corpus_dir = prepare_corpus(config)
    honesty = honesty_checks(corpus_dir)
    ocr = ocr_texts(corpus_dir) if config.ocr else no_ocr(corpus_dir)
    train_split = load_split(corpus_dir, "train", ocr)
    val_split = load_split(corpus_dir, "val", ocr)
    eval_examples = to_eval_examples(clean_examples(load_split(corpus_dir, config.split, ocr)))
    if config.test_limit:
        eval_examples = eval_examples[: config.test_limit]
    split_records = record_fields(corpus_dir, config.split)
    decided_by = {e.id: split_records[e.example.meta["id"]]["decided_by"] for e in eval_examples}
    jar = MeteorJar.shared()
    evaluated_ids = sorted(e.example.meta["id"] for e in eval_examples)
    log.info("SFT: the common starting point of every method and seed")
    sft_dir, sft_info = train_sft(config, train_split, val_split)
    _refuse_overlap("SFT", evaluated_ids, sft_info["sft_records"])
    t = time.perf_counter()
    sft_scores, predictions = evaluate(sft_dir, eval_examples, decided_by, jar, config.recipe.pointed_categories)
    write_predictions(config.work_dir / "predictions-sft.jsonl", eval_examples, predictions)
    realweb, realweb_inputs = real_web(config, corpus_dir) or (None, None)
    if realweb and "SFT" in config.realweb_methods:
        sft_scores.update(realweb_figures(sft_dir, realweb, realweb_inputs))
    sft_result = {"scores": sft_scores, "checkpoint": _display(sft_dir), "steps": _steps(sft_dir),
                  "train_seconds": sft_info["train_seconds"], "reused_checkpoint": sft_info["reused"],
                  "eval_seconds": round(time.perf_counter() - t, 1), "records": len(sft_info["sft_records"])}
    feedback, feedback_summary = None, None
    if config.pairs == "feedback":
        feedback, feedback_summary = simulated_feedback_pairs(config, sft_dir, train_split)
    shared = SeedInputs(config, sft_dir, train_split, eval_examples, decided_by, evaluated_ids,
                        sft_info["sft_records"], sft_result["steps"], feedback, realweb)
    if config.jobs > 1 and len(config.seeds) > 1:
        # seeds are independent: one process each (spawned, so no OpenMP state is forked)
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(min(config.jobs, len(config.seeds)),
                                 mp_context=multiprocessing.get_context("spawn")) as pool:
            results = list(pool.map(run_seed, [shared] * len(config.seeds), config.seeds))
    else:
        results = [run_seed(shared, seed, jar) for seed in config.seeds]
    per_seed = {str(seed): data for seed, data in zip(config.seeds, results)}
    for data in per_seed.values():
        data["scores"] = {"SFT": sft_scores, **data["scores"]}
    result = {
        "command": command,
        "config": _config_dict(config),
        "machine": {"cpus": os.cpu_count(), "torch_threads": config.threads, "jobs": config.jobs,
                    "python": platform.python_version()},
        "wall_minutes": round((time.perf_counter() - started) / 60, 1),
        "test_examples": len(eval_examples),
        "honesty": honesty,
        "corpus_mix": made_with(corpus_dir)[2],
        "summary": summarize(per_seed, config.methods),
        "sft": sft_result,
        "feedback": feedback_summary,
        "realweb": None if realweb is None else {
            "data": _display(realweb.sets.realweb), "split": realweb.sets.realweb_split, "images": realweb.images,
            "per_set": realweb.sets.realweb_per_set, "methods": [m for m in config.methods if m in config.realweb_methods]},
        "seeds": per_seed,
    }
    write_outputs(result, config.out_dir)
    return result


@dataclass(frozen=True)
class SeedInputs:
    """What every seed's preference runs share (picklable: a seed may run in its own process)."""

    config: ComparisonConfig
    sft_dir: Path
    train_split: list
    eval_examples: list  # of the split the run reports on (config.split)
    decided_by: dict[str, str]
    evaluated_ids: list[str]
    sft_records: list[str]
    sft_steps: int
    feedback: list | None = None  # simulated-feedback pairs (config.pairs == "feedback")
    realweb: RealWeb | None = None  # the real-web set, for the rows of config.realweb_methods


def run_seed(inputs: SeedInputs, seed: int, jar=None) -> dict:
    """Train every preference method for one seed from the shared SFT start, then evaluate each."""
    import torch

    from eval_harness.metrics import MeteorJar
    from eval_harness.runner import write_predictions

    config = inputs.config
    torch.set_num_threads(config.threads)
    if not logging.getLogger().handlers:  # a spawned worker: log as the parent does
        _configure_logging()
    jar = jar or MeteorJar.shared()
    log.info("seed %d: training %s", seed, ", ".join(m for m in config.methods if m != "SFT"))
    models, training = train_preferences(config, inputs.sft_dir, inputs.train_split, seed, inputs.feedback)
    _refuse_overlap(f"seed {seed}", inputs.evaluated_ids, training["pair_records"])
    scores, eval_seconds = {}, {}
    judged = inputs.realweb and any(name in config.realweb_methods for name in models)
    realweb_inputs = seed_inputs(inputs.realweb) if judged else None  # read once for every row of this seed
    for name, model_dir in models.items():
        t = time.perf_counter()
        scores[name], predictions = evaluate(model_dir, inputs.eval_examples, inputs.decided_by, jar,
                                             config.recipe.pointed_categories)
        if inputs.realweb and name in config.realweb_methods:
            scores[name].update(realweb_figures(model_dir, inputs.realweb, realweb_inputs))
        eval_seconds[name] = round(time.perf_counter() - t, 1)
        write_predictions(config.work_dir / f"seed-{seed}" / f"predictions-{_slug(name)}.jsonl",
                          inputs.eval_examples, predictions)
    training["sft_records"] = inputs.sft_records
    return {"scores": scores, "eval_seconds": eval_seconds,
            "train_seconds": {k: round(v, 1) for k, v in training["train_seconds"].items()},
            "steps": {"SFT": inputs.sft_steps, **training["steps"]}, "pairs": training["pairs"],
            "sft_records": len(inputs.sft_records), "pair_records": len(training["pair_records"]),
            "ids_file": _write_ids(config.work_dir / f"seed-{seed}" / "ids.json", training, inputs.evaluated_ids)}


def _refuse_overlap(stage: str, evaluated_ids: list[str], trained_ids: list[str]) -> None:
    overlap = set(evaluated_ids) & set(trained_ids)
    if overlap:
        raise SystemExit(f"{stage}: evaluated examples were trained on: {sorted(overlap)[:5]}")


def _display(path: Path) -> str:
    """A path as the report shows it: relative to the repository, or to its parent (``../shared``)."""
    if path.is_relative_to(REPO):
        return str(path.relative_to(REPO))
    return f"../{path.relative_to(REPO.parent)}" if path.is_relative_to(REPO.parent) else str(path)


def _write_ids(path: Path, training: dict, evaluated_ids: list[str]) -> str:
    """Which record ids each seed trained and was evaluated on (too long for the report; kept beside it)."""
    path.parent.mkdir(parents=True, exist_ok=True)  # a run of SFT alone trains nothing per seed
    path.write_text(json.dumps({"sft": training["sft_records"], "pairs": training["pair_records"],
                                "evaluated": evaluated_ids}))
    return str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(path)


def _config_dict(config: ComparisonConfig) -> dict:
    data = dataclasses.asdict(config)
    for key in ("corpus_dir", "work_dir", "out_dir", "sft_checkpoint", "realweb"):
        if data[key] is not None:
            data[key] = _display(Path(data[key]))
    return data


def summarize(per_seed: dict[str, dict], methods) -> dict[str, dict[str, dict[str, float]]]:
    """method -> metric -> {mean, std (sample, ddof 1), n} over seeds (SFT: its one run, n = 1)."""
    from eval_harness.sensitivity import SENSITIVITY_METRICS

    out: dict[str, dict[str, dict[str, float]]] = {}
    for name in methods:
        out[name] = {}
        for metric in (*REPORT_METRICS, *SENSITIVITY_METRICS, *REALWEB_METRICS):
            runs = per_seed.values() if name != "SFT" else list(per_seed.values())[:1]  # one SFT run, shared
            values = np.array([s["scores"][name].get(metric, math.nan) for s in runs], float)
            values = values[~np.isnan(values)]
            out[name][metric] = {"mean": float(values.mean()) if values.size else math.nan,
                                 "std": float(values.std(ddof=1)) if values.size > 1 else math.nan,
                                 "n": int(values.size)}
    return out


# -- report ------------------------------------------------------------------------


def _cell(stats: dict[str, float]) -> str:
    if stats["n"] == 0 or math.isnan(stats["mean"]):
        return "–"
    return f"{stats['mean']:.3f} ± {stats['std']:.3f}" if not math.isnan(stats["std"]) else f"{stats['mean']:.3f}"


def markdown(result: dict) -> str:
    from eval_harness.sensitivity import SENSITIVITY_METRICS

    summary = result["summary"]
    methods = list(summary)
    cfg = result["config"]
    seeds = result["seeds"]
    first = next(iter(seeds.values()))
    split = cfg.get("split", "test")
    about_split = ("corpus test split, never trained on, used for no choice" if split == "test" else
                   "corpus validation split, never trained on; SFT's early stopping reads it, so it serves to "
                   "choose settings, and the test split reports")
    lines = [f"# Method comparison: SFT vs SFT→DPO vs SFT→MCM-DPO (held-out {split} split)", "",
             f"Produced by `{result['command']}` in {result['wall_minutes']} min on {result['machine']['cpus']} CPUs "
             f"({result['machine']['torch_threads']} torch threads per process, "
             f"{result['machine'].get('jobs', 1)} seeds at once).", "",
             f"- seeds: {', '.join(seeds)} (one SFT run, `{result['sft']['checkpoint']}`, shared by every method and "
             "seed; each seed draws the preference pairs and sets their order, image corruptions and swapped "
             "contexts); SFT has one run, so its std is not defined",
             f"- {split} examples: {result['test_examples']} ({about_split})",
             f"- honesty: {json.dumps(result['honesty'])}",
             f"- corpus: `{cfg['corpus_dir']}`, category mix "
             f"{json.dumps(result['corpus_mix'])}",
             f"- recipe: {json.dumps(cfg['recipe'])}",
             f"- model size: {json.dumps(cfg['size'])}",
             f"- budget: SFT on {first['sft_records']} records; every preference method on the same "
             f"{first['pairs']} pairs ({first['pair_records']} records), steps per run: {json.dumps(first['steps'])}",
             f"- pairs: {_pairs_line(cfg.get('pairs', 'corpus'), result.get('feedback'))}",
             f"- OCR: {'the backend reader (cached corpus/ocr.json)' if cfg['ocr'] else 'off (quick mode)'}; "
             "decoding: greedy, PyTorch checkpoint, backend input builder", "",
             "Mean ± sample std over seeds. acc[c] = exact match of the alt for category c; "
             "acc[decorative] = share of decorative images called decorative.", ""]

    def table(metrics, names=methods) -> list[str]:
        rows = ["| metric | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
        for metric in metrics:
            rows.append(f"| {metric} | " + " | ".join(_cell(summary[m][metric]) for m in names) + " |")
        return rows

    lines += table(REPORT_METRICS)
    lines += ["", "## Sensitivity checks (eval_harness/sensitivity.py)", "",
              "context_change_rate: share of answers that change when the page context is swapped for another "
              "example's of the same category (should be high where the context decides, low where the image "
              "does). *_logp_drop: per-token log-likelihood of the correct alt, true input minus corrupted image "
              "(diffusion, step 700/1000) or swapped context (higher = more grounded). answer_in_context: examples "
              "whose alt is spelt out in the context.", ""]
    lines += table(SENSITIVITY_METRICS)
    realweb = result.get("realweb")
    lines += ["", "## Real pages", ""]
    if realweb is None:
        lines += ["Not measured in this run (no real-web data, or no row of `realweb_methods` among the methods)."]
    else:
        sample = f"{realweb['per_set']} per set, a seeded sample; " if realweb["per_set"] else ""
        reader = "the text in each image read by the backend's OCR" if cfg["ocr"] else "OCR off (quick mode)"
        lines += [f"The `{realweb['split']}` split of `{realweb['data']}`: {realweb['images']} images ({sample}SVG "
                  "files left out: the backend refuses their bytes). Each checkpoint exported to ONNX and served by "
                  "the backend's engine (beam search, the confidence policy, the support checks with the corpus's "
                  f"known world), {reader}; verdicts by the real-web judge "
                  "(`eval_harness/realweb/judge.py`, backend level): shares of the informative images grounded, "
                  "ungrounded, hidden and in the honest form, and of the author-decorative ones answered decorative.",
                  ""]
        lines += table([m for m in REALWEB_METRICS if m != "realweb.images"], realweb["methods"])
    lines += ["", "## Time", "", "| seed | " + " | ".join(f"train {m} (s)" for m in methods) + " |",
              "|---|" + "---|" * len(methods)]
    for seed, data in seeds.items():
        lines.append(f"| {seed} | " + " | ".join(str(data["train_seconds"].get(m, "–")) for m in methods) + " |")
    lines += ["", "![comparison](comparison.png)", ""]
    return "\n".join(lines)


def _pairs_line(pairs: str, feedback: dict | None) -> str:
    if pairs != "feedback":
        return "the corpus's: chosen = the correct alt, rejected = one of its defects or near misses"
    return ("a simulated user's feedback on the SFT model as the engine serves it (eval_harness/simulated_feedback.py): "
            f"{json.dumps(feedback)}; chosen = one of the model's own answers")


def plot(result: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    summary = result["summary"]
    methods = list(summary)
    panels = [("caption metrics", ["BLEU-4", "METEOR", "ROUGE-L", "CIDEr"]), ("per-category accuracy", CATEGORY_METRICS)]
    fig, axes = plt.subplots(1, 2, figsize=(14, 4.5))
    width = 0.8 / len(methods)
    for ax, (title, metrics) in zip(axes, panels):
        x = np.arange(len(metrics))
        for i, m in enumerate(methods):
            means = [summary[m][k]["mean"] for k in metrics]
            stds = [summary[m][k]["std"] for k in metrics]
            ax.bar(x + i * width - 0.4 + width / 2, np.nan_to_num(means), width, yerr=np.nan_to_num(stds),
                   capsize=2, label=m)
        ax.set_xticks(x, metrics, rotation=20, ha="right", fontsize=8)
        ax.set_title(title + " (mean ± std over seeds)")
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def write_outputs(result: dict, out_dir: Path) -> dict[str, Path]:
    from eval_harness.report import _json_safe

    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {"json": out_dir / "comparison.json", "markdown": out_dir / "comparison.md",
             "plot": out_dir / "comparison.png"}
    paths["json"].write_text(json.dumps(_json_safe(result), indent=1, allow_nan=False) + "\n", encoding="utf-8")
    paths["markdown"].write_text(markdown(result), encoding="utf-8")
    plot(result, paths["plot"])
    return paths


# -- the command ---------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> ComparisonConfig:
    defaults = ComparisonConfig()
    p = argparse.ArgumentParser(prog="python -m eval_harness.compare", description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="tiny corpus and model, few steps (pipeline check)")
    p.add_argument("--corpus", type=Path, default=None, help=f"corpus folder (default {defaults.corpus_dir})")
    p.add_argument("--work", type=Path, default=defaults.work_dir, help="checkpoints and predictions")
    p.add_argument("--out", type=Path, default=defaults.out_dir, help="comparison.{md,json,png} go here")
    p.add_argument("--seeds", type=int, nargs="+", default=None)
    p.add_argument("--methods", nargs="+", default=None, choices=list(METHODS))
    p.add_argument("--test-limit", type=int, default=None, help="evaluate the first N test examples only")
    p.add_argument("--split", choices=("test", "val"), default=None,
                   help="evaluate on this split (default test; val to choose settings without the test split)")
    p.add_argument("--threads", type=int, default=None, help="torch threads per process")
    p.add_argument("--jobs", type=int, default=None, help="seeds trained at once, one process each")
    p.add_argument("--own-mistakes", action="store_true",
                   help="add pairs rejecting the SFT model's own wrong answers (Recipe.own_mistakes)")
    p.add_argument("--pointed", nargs="+", default=None, metavar="CATEGORY",
                   help="answers in these corpus categories point at OCR words (Recipe.pointers, "
                        "pointed_categories; default: the recipe's); 'all' for every category, 'none' for no pointers")
    p.add_argument("--pref-records", type=int, default=None,
                   help=f"train records that give preference pairs, drawn per seed (default {defaults.pref_records})")
    p.add_argument("--pairs", choices=("corpus", "feedback"), default=None,
                   help="preference pairs: the corpus's (chosen = the correct alt, default) or a simulated user's "
                        "feedback on the served SFT model (chosen = one of its answers)")
    p.add_argument("--category-weights", nargs="+", default=None, metavar="CATEGORY=WEIGHT",
                   help="the corpus's category mix, e.g. emoji=0.5 (python -m corpus; use with --corpus: the "
                        "default corpus folder holds make model's default mix)")
    p.add_argument("--corpus-seed", type=int, default=None,
                   help=f"draw the corpus with this seed (default {defaults.recipe.seed}, make model's); another "
                        "draw of the same generator gives a run independent of the committed ones (use with --corpus)")
    p.add_argument("--realweb", default=None, metavar="DIR",
                   help=f"real-web data for the real-web rows (default {_display(defaults.realweb)}; 'none': no rows)")
    p.add_argument("--realweb-methods", nargs="+", default=None, choices=list(METHODS),
                   help=f"the rows also judged on real pages (default: {', '.join(REALWEB_METHODS)})")
    p.add_argument("--realweb-per-set", type=int, default=None,
                   help="a seeded sample of N images per real-web set (default: the whole split)")
    p.add_argument("--sft-checkpoint", type=Path, default=None,
                   help="reuse an SFT model trained by this recipe (checked), e.g. var/model-build/sft/best")
    args = p.parse_args(argv)
    config = quick_config(args.work, args.out) if args.quick else dataclasses.replace(defaults, work_dir=args.work,
                                                                                       out_dir=args.out)
    changes = {"corpus_dir": args.corpus, "seeds": tuple(args.seeds) if args.seeds else None,
               "methods": tuple(args.methods) if args.methods else None, "test_limit": args.test_limit, "split": args.split,
               "threads": args.threads, "jobs": args.jobs, "sft_checkpoint": args.sft_checkpoint,
               "pairs": args.pairs, "pref_records": args.pref_records,
               "realweb_methods": tuple(args.realweb_methods) if args.realweb_methods else None,
               "realweb_per_set": args.realweb_per_set}
    config = dataclasses.replace(config, **{k: v for k, v in changes.items() if v is not None})
    if args.realweb is not None:
        config = dataclasses.replace(config, realweb=None if args.realweb == "none" else Path(args.realweb))
    if args.category_weights:
        try:
            config = dataclasses.replace(config, category_weights=parse_category_weights(args.category_weights))
        except ValueError as error:
            p.error(f"--category-weights: {error}")
    if args.corpus_seed is not None:
        config = dataclasses.replace(config, recipe=dataclasses.replace(config.recipe, seed=args.corpus_seed))
    if args.own_mistakes:
        config = dataclasses.replace(config, recipe=dataclasses.replace(config.recipe, own_mistakes=True))
    if args.pointed:
        pointers = args.pointed != ["none"]
        categories = None if args.pointed in (["all"], ["none"]) else tuple(args.pointed)
        config = dataclasses.replace(config, recipe=dataclasses.replace(config.recipe, pointers=pointers,
                                                                        pointed_categories=categories))
    if "SFT" not in config.methods:
        config = dataclasses.replace(config, methods=("SFT", *config.methods))
    return config


def _configure_logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    for name in ("transformers", "accelerate"):
        logging.getLogger(name).setLevel(logging.ERROR)


def main(argv: list[str] | None = None) -> int:
    _configure_logging()
    config = parse_args(argv)
    argv = sys.argv[1:] if argv is None else argv
    result = run(config, "python -m eval_harness.compare " + shlex.join(argv))
    print(json.dumps({m: {k: round(v["mean"], 4) for k, v in s.items() if k in ("CIDEr", "ROUGE-L")}
                      for m, s in result["summary"].items()}, indent=1))
    print(f"wrote {config.out_dir / 'comparison.md'} in {result['wall_minutes']} min")
    return 0


if __name__ == "__main__":
    sys.exit(main())
