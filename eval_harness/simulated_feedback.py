"""Preference pairs as the product's feedback loop would make them, from a simulated user.

Every corpus pair so far chose the correct alt text, so NLL on the chosen side
alone taught the model everything the preference terms did (eval_harness/results/LOG.md,
entry val-anchor). Real feedback is different: a user who
thumbs-up an answer or picks a better one from the candidates chooses among
the model's own outputs, and the one picked can be better without being
right. This module makes such pairs without a user, through the product's own
path: the SFT model is exported and served by the backend's engine (beam
search, candidates, confidence policy), and ``backend.preferences.pairs_for``
turns each simulated feedback into pairs exactly as ``POST /v1/feedback`` does.

The simulated user knows the corpus's correct alt and never writes one
(a correction would put the reference back on the chosen side). Per answer:

- right (decorative when it should be, or the correct text up to case and
  spacing): thumbs up, which pairs the answer with the lowest candidate at the
  weaker thumbs-up weight;
- wrong, and a non-decorative candidate is closer to the correct alt (sentence
  ROUGE-L, the metric the comparison reports): picks the closest one, which
  pairs it (chosen) with the answer (rejected);
- otherwise thumbs down, which makes no pair.
"""
from __future__ import annotations

import dataclasses
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from backend.engine import AltTextEngine, Description
from backend.preferences import pairs_for
from eval_harness.metrics import normalize_for_match, rouge_l_scores
from trainer.data import PreferenceExample

log = logging.getLogger("altlens.simulated_feedback")


@dataclass(frozen=True)
class Feedback:
    """What the simulated user sends for one answer (``kind`` and ``payload`` as the API takes them)."""

    kind: str  # "rate" or "pick"
    payload: dict[str, Any]


def _is_correct(text: str, decorative: bool, reference: str, reference_decorative: bool) -> bool:
    """Decorative when it should be, or the correct text up to case, spacing and edge punctuation."""
    if decorative or reference_decorative:
        return decorative == reference_decorative
    return normalize_for_match(text) == normalize_for_match(reference)


def _closeness(texts: Sequence[str], reference: str):
    """Sentence ROUGE-L F of each text against the correct alt, case and spacing ignored."""
    return rouge_l_scores([normalize_for_match(t) for t in texts], [[normalize_for_match(reference)]] * len(texts))


def simulated_feedback(answer: Description, reference: str, reference_decorative: bool) -> Feedback:
    """The feedback a user who knows the correct alt, and never writes one, gives on ``answer``."""
    if _is_correct(answer.description, answer.decorative, reference, reference_decorative):
        return Feedback("rate", {"rating": "up"})
    if reference_decorative or not answer.candidates:
        return Feedback("rate", {"rating": "down"})  # no candidate can say "decorative"
    candidates = _closeness(answer.candidates, reference)
    generated = -1.0 if answer.decorative else float(_closeness([answer.description], reference)[0])
    best = int(candidates.argmax())
    if float(candidates[best]) > generated:
        return Feedback("pick", {"candidate_index": best})
    return Feedback("rate", {"rating": "down"})


def feedback_pairs(engine: AltTextEngine, records: Sequence[PreferenceExample],
                   batch_size: int = 8) -> list[PreferenceExample]:
    """Serve every record's image and context, give the simulated feedback, keep the pairs it yields.

    ``records`` are corpus examples with ``meta["reference"]``; one pair at most per record (the API
    rule for rate and pick). ``meta`` records the feedback kind and whether the chosen text is the
    correct alt, so a report can say how often the chosen side is a right answer.
    """
    out: list[PreferenceExample] = []
    for start in range(0, len(records), batch_size):
        batch = records[start:start + batch_size]
        answers = engine.describe([r.load_image() for r in batch], [r.context for r in batch],
                                  [r.ocr_text for r in batch])
        for record, answer in zip(batch, answers):
            reference, reference_decorative = record.meta["reference"], bool(record.meta["decorative"])
            feedback = simulated_feedback(answer, reference, reference_decorative)
            for pair in pairs_for(answer.description, answer.decorative, answer.candidates, feedback.kind,
                                  feedback.payload, answer.model_answer):
                chosen_right = _is_correct(pair.chosen, pair.chosen == "", reference, reference_decorative)
                out.append(dataclasses.replace(
                    record, chosen=pair.chosen, rejected=pair.rejected, chosen_decorative=pair.chosen == "",
                    rejected_decorative=pair.rejected == "", weight=pair.weight,
                    meta={**record.meta, "feedback": feedback.kind, "chosen_is_reference": chosen_right}))
        if (start // batch_size) % 50 == 0:
            log.info("simulated feedback: %d/%d answers, %d pairs", start + len(batch), len(records), len(out))
    return out


def summary(pairs: Sequence[PreferenceExample], records: int) -> dict[str, Any]:
    """Counts for the report: pairs per feedback kind and how many chose the correct alt."""
    kinds: dict[str, int] = {}
    for p in pairs:
        kinds[p.meta["feedback"]] = kinds.get(p.meta["feedback"], 0) + 1
    right = sum(bool(p.meta["chosen_is_reference"]) for p in pairs)
    return {"records": records, "pairs": len(pairs), "by_kind": kinds, "chosen_is_reference": right,
            "chosen_is_not_reference": len(pairs) - right}


def write_pairs(path: Path, pairs: Sequence[PreferenceExample]) -> None:
    """The pairs as JSON Lines beside the run, with the correct alt, for reading by eye."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        for p in pairs:
            f.write(json.dumps({"id": p.meta["id"], "category": p.meta.get("category", ""),
                                "feedback": p.meta["feedback"], "chosen": p.chosen, "rejected": p.rejected,
                                "weight": p.weight, "reference": p.meta["reference"],
                                "chosen_is_reference": p.meta["chosen_is_reference"]}, ensure_ascii=False) + "\n")


def served_sft(sft_dir: Path, out_dir: Path) -> AltTextEngine:
    """The SFT checkpoint exported (and parity-checked) as the backend would serve it, afresh each run."""
    from trainer.export import export_onnx

    export_onnx(sft_dir, out_dir, {"trained": True, "note": f"SFT start of the comparison ({sft_dir})"})
    return AltTextEngine(out_dir)
