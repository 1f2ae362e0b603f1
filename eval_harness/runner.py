"""Evaluation examples, and the systems that describe them.

Examples come from ``trainer.data`` (the paper's formats, the project's corpus,
exported feedback pairs), so evaluation reads data exactly as training does.
Every system that answers — an exported ONNX model through the backend's
engine, a PyTorch checkpoint, or a file of precomputed predictions — is a
:class:`Describer`, and all of them build model input with
``backend.modelinput.build_model_input``, the input builder the backend uses.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Protocol, Sequence

from backend.modelinput import PageContext
from eval_harness.metrics import Prediction, Reference
from trainer.data import LOADERS, PreferenceExample, detect_format

_SOURCE = re.compile(r"^(?P<file>.*)[#:](?P<pos>\d+)$")


@dataclass(frozen=True)
class EvalExample:
    """One image to describe, what the page says about it, and what a good answer is."""

    id: str
    example: PreferenceExample
    reference: Reference

    @property
    def context(self) -> PageContext:
        return self.example.context

    @property
    def ocr_text(self) -> str:
        return self.example.ocr_text


def _example_id(example: PreferenceExample) -> str:
    """``<file stem>:<idx or id>`` when the record has one, else ``<file stem>:<record position>``."""
    match = _SOURCE.match(example.source)
    stem, pos = (Path(match["file"]).stem, match["pos"]) if match else ("", example.source)
    own = example.meta.get("id", example.meta.get("idx"))
    return f"{stem}:{own if own is not None else pos}"


def to_eval_examples(examples: Iterable[PreferenceExample], labels_decorative: bool = True) -> list[EvalExample]:
    """One evaluation example per source record (a corpus record yields one training example per rejected text).

    The reference is the corpus's correct alt and label (``reference``, ``decorative``) when present,
    else the chosen text: a corpus record's chosen text is its SFT target, which may be noisy, and two
    of the noise defects change decorativeness. ``labels_decorative`` is False for sources that never
    say whether an image is decorative (the paper's data), so decorative agreement skips them.
    """
    out: dict[str, EvalExample] = {}
    for ex in examples:
        key = ex.source or str(len(out))
        if key in out:
            continue
        decorative = bool(ex.meta.get("decorative", ex.chosen_decorative)) if labels_decorative else None
        reference = Reference([ex.meta.get("reference", ex.chosen) or ""], decorative, ex.meta.get("category", ""))
        out[key] = EvalExample(_example_id(ex), ex, reference)
    ids = [e.id for e in out.values()]
    if len(set(ids)) != len(ids):  # ids must key predictions files; fall back to the unique source
        return [EvalExample(e.example.source, e.example, e.reference) for e in out.values()]
    return list(out.values())


def load_eval_set(paths: Sequence[str | Path], fmt: str = "auto", limit: int | None = None) -> list[EvalExample]:
    """Read evaluation data with the trainer's loaders; unreadable records are skipped and logged."""
    examples: list[EvalExample] = []
    problems: list[str] = []
    for path in paths:
        kind = detect_format(path) if fmt == "auto" else fmt
        result = LOADERS[kind](path)
        problems += result.problems
        examples += to_eval_examples(result.examples, labels_decorative=kind != "paper")
    if not examples:
        raise ValueError(f"no usable examples in {', '.join(map(str, paths))}: {'; '.join(problems[:5])}")
    return examples[:limit] if limit else examples


class Describer(Protocol):
    """Anything that answers for a list of examples, in order."""

    name: str

    def describe(self, examples: Sequence[EvalExample]) -> list[Prediction]: ...


class EngineDescriber:
    """An exported ONNX model directory, through the backend's ``AltTextEngine`` (beam search, confidence policy)."""

    def __init__(self, model_dir: str | Path, name: str = "", batch_size: int = 8):
        from backend.engine import AltTextEngine

        self.engine = AltTextEngine(model_dir)
        self.name = name or Path(model_dir).name
        self.batch_size = batch_size

    def describe(self, examples: Sequence[EvalExample]) -> list[Prediction]:
        out: list[Prediction] = []
        for start in range(0, len(examples), self.batch_size):
            batch = examples[start:start + self.batch_size]
            answers = self.engine.describe([e.example.load_image() for e in batch], [e.context for e in batch],
                                           [e.ocr_text for e in batch])
            out += [Prediction(a.description, a.decorative) for a in answers]
        return out


class CheckpointDescriber:
    """A PyTorch checkpoint directory (what the trainer saves), greedy decoding as during training."""

    def __init__(self, checkpoint_dir: str | Path, name: str = "", max_new_tokens: int = 32):
        from trainer.modeling import VisionEncoderDecoderPolicy

        self.policy = VisionEncoderDecoderPolicy.from_pretrained(checkpoint_dir).eval()
        self.name = name or Path(checkpoint_dir).name
        self.max_new_tokens = max_new_tokens

    def describe(self, examples: Sequence[EvalExample]) -> list[Prediction]:
        import torch

        from backend.modelinput import build_model_input, decode_response

        tokenizer, eos = self.policy.tokenizer, self.policy.tokenizer.eos_token_id
        out = []
        for e in examples:
            model_input = build_model_input(e.example.load_image(), e.context, e.ocr_text, tokenizer,
                                            self.policy.image_processor)
            ids = self.policy.generate(torch.from_numpy(model_input.pixel_values)[None], [model_input.prompt_ids],
                                       self.max_new_tokens)[0]
            ids = ids[: ids.index(eos)] if eos in ids else ids
            text, decorative = decode_response(tokenizer, ids, e.ocr_text)
            out.append(Prediction(text, decorative))
        return out


class PredictionsFile:
    """Precomputed answers: JSON Lines of ``{"id", "prediction", "decorative"}``, matched by id."""

    def __init__(self, path: str | Path, name: str = ""):
        self.path = Path(path)
        self.name = name or self.path.stem
        self.answers: dict[str, Prediction] = {}
        for line_no, line in enumerate(self.path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            record = json.loads(line)
            if "id" not in record or "prediction" not in record:
                raise ValueError(f"{self.path}:{line_no}: needs 'id' and 'prediction'")
            self.answers[str(record["id"])] = Prediction(str(record["prediction"] or ""),
                                                         bool(record.get("decorative", False)))

    def describe(self, examples: Sequence[EvalExample]) -> list[Prediction]:
        missing = [e.id for e in examples if e.id not in self.answers]
        if missing:
            raise KeyError(f"{self.path} has no prediction for {len(missing)} examples, e.g. {missing[:3]}")
        return [self.answers[e.id] for e in examples]


def write_predictions(path: str | Path, examples: Sequence[EvalExample], predictions: Sequence[Prediction]) -> None:
    """Save answers in the format :class:`PredictionsFile` reads, with the reference for reading by eye."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        for e, p in zip(examples, predictions):
            f.write(json.dumps({"id": e.id, "prediction": p.text, "decorative": p.decorative,
                                "reference": e.reference.texts[0]}, ensure_ascii=False) + "\n")


def open_describer(spec: str) -> Describer:
    """``[name=]path``: a ``.jsonl`` file of predictions, an ONNX model directory or a PyTorch checkpoint."""
    name, _, path_text = spec.rpartition("=") if "=" in spec else ("", "", spec)
    path = Path(path_text)
    if path.is_file() and path.suffix in (".jsonl", ".json"):
        return PredictionsFile(path, name)
    if (path / "encoder_model.onnx").is_file():
        return EngineDescriber(path, name)
    if (path / "config.json").is_file():
        return CheckpointDescriber(path, name)
    raise ValueError(f"{spec}: not a predictions .jsonl, an ONNX model directory or a PyTorch checkpoint")
