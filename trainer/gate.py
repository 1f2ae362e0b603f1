"""Would users be worse off with this candidate? The retrain gate's real-web and corpus figures.

``retrain.py`` publishes a candidate only if, against the model it would replace, no gated
figure is worse by more than its tolerance. Both models are judged as the backend serves
them: the exported ONNX model through ``backend.engine.AltTextEngine`` (beam search, the
confidence policy, the support check with the model's known world), with the text the
backend's own OCR reader finds in each image. The sets:

* ``realweb``: the ``dev`` split of ``../shared/data/realweb`` (the split the project
  chooses on; ``test`` stays for reports), judged by the real-web judge
  (``eval_harness.realweb``): grounded, ungrounded, hidden, decorative right;
* ``corpus``: the generated corpus's held-out split (``test.jsonl`` of a corpus folder):
  exact match per category, decorative images found, CIDEr and BLEU-4.

The held-out feedback pairs are gated in ``retrain.py`` itself (preference accuracy and
margin, from the PyTorch checkpoints). OCR readings are cached by image content under the
gate's cache folder, and so is the served model's evaluation (by version and set), so a
periodic run pays for OCR once and evaluates the current model once per version.
"""
from __future__ import annotations

import hashlib
import json
import logging
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

from PIL import Image

from backend.modelinput import OCR_LIMIT, ocr_limit

log = logging.getLogger("trainer.gate")

BATCH = 8
# What the gated figures measure; a served model's figures cached under another version are measured anew.
# 2: the real-web judge credits an honest form that says the author's words, and reads carry titles (2026-12-07).
# 3: the engine's honest forms say sites, logo names and link targets; photographs beyond the model's world (2026-12-08).
FIGURES_VERSION = 3
# figure -> (+1: higher is better, -1: lower is better; the most it may get worse). Shares move in
# steps of 1/n: 0.01 is 3 of the ~300 informative dev images, 0.02 of a corpus category about 1 image.
TOLERANCES: dict[str, tuple[int, float]] = {
    "realweb.grounded_share": (+1, 0.01),
    "realweb.ungrounded_share": (-1, 0.01),
    "realweb.hidden_share": (-1, 0.01),
    "realweb.decorative_right_share": (+1, 0.02),
    "corpus.acc[text]": (+1, 0.02),
    "corpus.acc[icon_control]": (+1, 0.02),
    "corpus.acc[chart]": (+1, 0.02),
    "corpus.acc[emoji]": (+1, 0.05),
    "corpus.acc[decorative]": (+1, 0.02),
    "corpus.CIDEr": (+1, 0.1),
    "corpus.BLEU-4": (+1, 0.02),
}


@dataclass(frozen=True)
class GateSets:
    """What the gate evaluates on. ``None`` leaves a set out (say so in the run's record)."""

    realweb: Path | None = None
    realweb_per_set: int | None = None  # a seeded sample per set (tests, quick checks); None: the whole split
    realweb_split: str = "dev"  # the gate chooses on dev; reports (eval_harness.feedback_loop) measure on test
    corpus: Path | None = None
    corpus_limit: int | None = None
    ocr: bool = True
    cache_dir: Path = Path("var/retrain/gate")
    #: the served model's ``KnownWorld.seen_area``: how much of a real image's text is read, as served
    seen_area: int | None = None

    def fingerprint(self) -> str:
        text = json.dumps([FIGURES_VERSION, str(self.realweb), self.realweb_per_set, str(self.corpus),
                           self.corpus_limit, self.ocr]
                          + ([self.realweb_split] if self.realweb_split != "dev" else [])
                          + ([self.seen_area] if self.seen_area is not None else []))
        return hashlib.sha256(text.encode()).hexdigest()[:12]


@dataclass
class Decision:
    passed: bool
    failures: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return "no gated figure worse beyond tolerance" if self.passed else "; ".join(self.failures)


def compare(before: dict[str, float], after: dict[str, float],
            tolerances: dict[str, tuple[int, float]] = TOLERANCES) -> Decision:
    """Every figure both sides have (and not NaN), checked against its tolerance."""
    failures = []
    for name, (direction, tolerance) in tolerances.items():
        old, new = before.get(name), after.get(name)
        if old is None or new is None:
            continue
        worse_by = (old - new) * direction
        if worse_by > tolerance + 1e-9:
            failures.append(f"{name} {old:.3f} -> {new:.3f} (worse by {worse_by:.3f} > {tolerance})")
    return Decision(not failures, failures)


class OcrCache:
    """The backend reader's reads per image content (text and title, backend.ocr.TextRead), kept on disk
    between runs, so a gate hears the honest forms the backend says. A file of another format (the text
    alone, before 2026-12-07) is read anew."""

    FORMAT = 2

    def __init__(self, path: Path, enabled: bool):
        self.path, self.enabled = path, enabled
        stored = json.loads(path.read_text()) if enabled and path.is_file() else {}
        fresh = isinstance(stored, dict) and stored.get("format") == self.FORMAT
        self.reads: dict[str, list[str]] = stored["reads"] if fresh else {}
        self._reader = None

    def read(self, image: Image.Image, data: bytes, limit: int = OCR_LIMIT):
        """What the backend's reader reads in ``image`` (whose bytes are ``data``): a backend.ocr.TextRead."""
        from backend.ocr import NOTHING_READ, OcrReader, TextRead

        if not self.enabled:
            return NOTHING_READ
        key = hashlib.sha256(data).hexdigest() + ("" if limit == OCR_LIMIT else f":{limit}")
        if key not in self.reads:
            if self._reader is None:
                self._reader = OcrReader(timeout_s=120)  # the served budget is 3 s; a gate waits for the text
            found = self._reader.read_with_title(image, limit)
            self.reads[key] = [found.text, found.title]
        return TextRead(*self.reads[key])

    def save(self) -> None:
        if self.enabled:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.write_text(json.dumps({"format": self.FORMAT, "reads": self.reads}))


@dataclass
class Inputs:
    """One set's images (loaded a batch at a time: real pages' images are large), page contexts and OCR
    texts, read once for both models."""

    load_images: Callable[[int, int], list[Image.Image]]  # (start, end) -> those images, as the backend decodes them
    contexts: list
    ocr_texts: list[str]
    ocr_titles: list[str]  # the title among each image's text, which the honest form may say (backend.ocr.TextRead)
    score: Callable[[list], dict[str, float]]  # descriptions (backend.engine.Description) -> figures


def _opened(path: Path) -> Image.Image:
    from backend.modelinput import prepare_image

    with Image.open(path) as raw:
        return prepare_image(raw)


def realweb_inputs(sets: GateSets, ocr: OcrCache) -> Inputs:
    from eval_harness.realweb.records import load

    records = [r for r in load([sets.realweb], (sets.realweb_split,), sets.realweb_per_set) if not r.is_svg]  # as the backend level
    return records_inputs(records, ocr, sets.seen_area)


def records_inputs(records: Sequence, ocr: OcrCache, seen_area: int | None = None) -> Inputs:
    """Real-web records (eval_harness.realweb.records.Record) as a gated set, their text read as the
    backend reads it for a model that learned from images of at most ``seen_area`` px²."""
    from eval_harness.realweb.judge import Answer
    from eval_harness.realweb.records import page_context
    from eval_harness.realweb.summary import figures, judge_all

    reads = []
    for record in records:
        image = _opened(record.image_path)
        reads.append(ocr.read(image, record.image_path.read_bytes(), ocr_limit(image.size, seen_area)))
    texts = [r.text for r in reads]

    def score(found: list) -> dict[str, float]:
        answers = [Answer(r.id, text=d.description, decorative=d.decorative, low_confidence=d.low_confidence,
                          confidence=d.confidence, ocr_text=t) for r, d, t in zip(records, found, texts)]
        figs = figures(judge_all("backend", records, answers))
        keys = ("grounded_share", "ungrounded_share", "hidden_share", "honest_share", "decorative_right_share")
        return {f"realweb.{k}": figs[k] for k in keys} | {"realweb.images": float(len(records))}

    return Inputs(lambda start, end: [_opened(r.image_path) for r in records[start:end]],
                  [page_context(r) for r in records], texts, [r.title for r in reads], score)


def corpus_inputs(sets: GateSets, ocr: OcrCache) -> Inputs:
    from eval_harness.metrics import Prediction, score as caption_scores
    from eval_harness.runner import to_eval_examples
    from trainer.data import load_corpus

    examples = to_eval_examples(load_corpus(sets.corpus / "test.jsonl").examples)[:sets.corpus_limit]
    reads = [ocr.read(e.example.load_image(), Path(e.example.image_path).read_bytes()) for e in examples]

    def score(found: list) -> dict[str, float]:
        predictions = [Prediction(d.description, d.decorative) for d in found]
        sheet = caption_scores(predictions, [e.reference for e in examples])
        out = {f"corpus.{m}": float(sheet.corpus[m]) for m in ("CIDEr", "BLEU-4") if m in sheet.corpus}
        for category in ("text", "icon_control", "chart", "emoji"):
            out[f"corpus.acc[{category}]"] = float(sheet.corpus.get(f"exact_match[{category}]", math.nan))
        decorative = [p.decorative for p, e in zip(predictions, examples) if e.reference.category == "decorative"]
        out["corpus.acc[decorative]"] = sum(decorative) / len(decorative) if decorative else math.nan
        out["corpus.images"] = float(len(examples))
        return out

    return Inputs(lambda start, end: [e.example.load_image() for e in examples[start:end]],
                  [e.context for e in examples], [r.text for r in reads], [r.title for r in reads], score)


def prepare(sets: GateSets) -> dict[str, Inputs]:
    """Read every gated set once (OCR from the cache, else read now and cached)."""
    ocr = OcrCache(sets.cache_dir / "ocr.json", sets.ocr)
    out = {}
    try:
        if sets.realweb is not None:
            out["realweb"] = realweb_inputs(sets, ocr)
        if sets.corpus is not None:
            out["corpus"] = corpus_inputs(sets, ocr)
    finally:
        ocr.save()
    return out


def evaluate(model_dir: Path, inputs: dict[str, Inputs]) -> dict[str, float | None]:
    """The gated figures of one exported model, as the backend would serve it (None: no image to say it)."""
    from backend.engine import AltTextEngine

    engine = AltTextEngine(model_dir)
    figures: dict[str, float] = {}
    for part in inputs.values():
        found = []
        for start in range(0, len(part.contexts), BATCH):
            end = start + BATCH
            found += engine.describe(part.load_images(start, end), part.contexts[start:end], part.ocr_texts[start:end],
                                     part.ocr_titles[start:end])
        figures.update(part.score(found))
    return {name: None if isinstance(value, float) and math.isnan(value) else value  # JSON-safe in PostgreSQL
            for name, value in figures.items()}


def evaluate_served(model_dir: Path, version: str, sets: GateSets, inputs: dict[str, Inputs]) -> dict[str, float]:
    """:func:`evaluate` for the served version, cached by version and sets (it does not change)."""
    path = sets.cache_dir / f"served-{version}-{sets.fingerprint()}.json"
    if path.is_file():
        return json.loads(path.read_text())
    figures = evaluate(model_dir, inputs)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(figures))
    return figures


def run_gate(current_dir: Path, current_version: str, candidate_dir: Path,
             sets: GateSets) -> tuple[dict[str, float], dict[str, float], Decision, float]:
    """(figures before, figures after, the decision, seconds taken) for a candidate against the served model."""
    started = time.perf_counter()
    inputs = prepare(sets)
    before = evaluate_served(current_dir, current_version, sets, inputs)
    after = evaluate(candidate_dir, inputs)
    decision = compare(before, after)
    return before, after, decision, time.perf_counter() - started


def default_sets(repo: Path, cache_dir: Path, realweb: Path | None, corpus: Path | None,
                 names: Sequence[str], seen_area: int | None = None) -> GateSets:
    """The sets asked for by name, each where it is found: a missing folder is left out with a warning."""
    realweb = realweb or repo.parent / "shared" / "data" / "realweb"
    corpus = corpus or repo / "var" / "model-build" / "corpus"
    if "realweb" in names and not realweb.is_dir():
        log.warning("gate: no real-web data at %s; the real-web figures are not gated", realweb)
    if "corpus" in names and not (corpus / "test.jsonl").is_file():
        log.warning("gate: no corpus held-out split at %s (make model writes it); corpus figures not gated", corpus)
    return GateSets(realweb=realweb if "realweb" in names and realweb.is_dir() else None,
                    corpus=corpus if "corpus" in names and (corpus / "test.jsonl").is_file() else None,
                    cache_dir=cache_dir, seen_area=seen_area)
