"""What MCM-DPO's facets are meant to buy, measured directly on one model.

The caption metrics say how close answers are to references; they do not say
*why*. MCM-DPO adds preference terms that punish a model for ignoring the
image (``w_l_w``) or the page context (``w_w_l``). These checks ask the
trained model the matching questions on held-out data:

* **context sensitivity** — give each example another example's page context
  (same category, different correct alt) and regenerate. Where the corpus says
  the context decides the answer (``decided_by == "context"``: the same glyph
  is "Search" in one place and "Zoom in" in another) the answer *should*
  change; where the picture alone decides (``decided_by == "image"``) it
  should not. Both rates are reported.
* **image grounding** — per-token log-likelihood of the correct description
  with the true image minus with a corrupted one (the trainer's default
  corruption, forward diffusion noise at step 700 of 1000, seeded). Positive
  means the model reads the picture; the share of examples where it falls is
  reported too.
* **use of context** — on examples whose correct alt is spelt out in the page
  context (every word of it appears in a context field), the exact-match rate
  and the per-token log-likelihood drop when the context is swapped.

The likelihoods come from the same ``VisionEncoderDecoderPolicy.forward`` the
trainer optimises, inputs from ``backend.modelinput`` (the backend's builder).
"""
from __future__ import annotations

import random
import re
from dataclasses import dataclass, replace
from typing import Mapping, Sequence

import numpy as np
import torch

from backend.modelinput import build_model_input, encode_prompt, encode_response, prompt_for
from eval_harness.metrics import Prediction, normalize_for_match
from eval_harness.runner import EvalExample
from trainer.corruptions import corrupt_images

_WORD = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True)
class SensitivityConfig:
    """Seeds and sizes of the checks (fixed, so that every model is asked the same questions)."""

    seed: int = 0
    corruption: str = "diffusion"
    batch_size: int = 32
    # Categories whose answers the model learned to write with OCR pointers (Recipe.pointed_categories);
    # None: all. The others are spelled, so their reference is scored spelled, as it was trained.
    pointed_categories: tuple[str, ...] | None = None


def swap_partners(examples: Sequence[EvalExample], seed: int = 0) -> list[int]:
    """For each example, the index of another of the same category with a different reference.

    Falls back to any example with a different reference when its category has
    none; -1 when there is no such example at all (a one-example set).
    """
    rng = random.Random(seed)
    refs = [e.reference.texts[0] for e in examples]
    by_category: dict[str, list[int]] = {}
    for i, e in enumerate(examples):
        by_category.setdefault(e.reference.category, []).append(i)
    out = []
    for i, e in enumerate(examples):
        pool = [j for j in by_category[e.reference.category] if refs[j] != refs[i]]
        pool = pool or [j for j in range(len(examples)) if refs[j] != refs[i]]
        out.append(rng.choice(pool) if pool else -1)
    return out


def answer_in_context(example: EvalExample) -> bool:
    """True when every word of a non-empty correct alt appears in the page context's fields."""
    words = set(_WORD.findall(normalize_for_match(example.reference.texts[0])))
    if not words or example.reference.decorative:
        return False
    context = " ".join(str(v) for v in example.context.to_dict().values()).casefold()
    return words <= set(_WORD.findall(context))


def with_context_of(example: EvalExample, partner: EvalExample) -> EvalExample:
    """``example`` (its image and OCR) placed in ``partner``'s page context."""
    return replace(example, example=replace(example.example, context=partner.context))


@torch.no_grad()
def reference_logprobs(policy, examples: Sequence[EvalExample], contexts: Sequence[EvalExample] | None = None,
                       corrupt: bool = False, config: SensitivityConfig = SensitivityConfig()) -> np.ndarray:
    """Per-token log-likelihood of each example's correct answer (decorative token or text).

    ``contexts[i]`` supplies example i's page context (default: its own);
    ``corrupt`` replaces each image by its seeded corruption.
    """
    tokenizer, processor = policy.tokenizer, policy.image_processor
    generator = torch.Generator().manual_seed(config.seed)
    out: list[float] = []
    for start in range(0, len(examples), config.batch_size):
        batch = examples[start:start + config.batch_size]
        ctx = (contexts or examples)[start:start + config.batch_size]
        pixels, prompts, responses = [], [], []
        for e, c in zip(batch, ctx):
            model_input = build_model_input(e.example.load_image(), e.context, e.ocr_text, tokenizer, processor)
            pixels.append(torch.from_numpy(model_input.pixel_values))
            prompts.append(encode_prompt(tokenizer, prompt_for(tokenizer, c.context, e.ocr_text)))
            points = config.pointed_categories is None or e.reference.category in config.pointed_categories
            responses.append(encode_response(tokenizer, e.reference.texts[0], bool(e.reference.decorative),
                                             e.ocr_text if points else ""))
        images = torch.stack(pixels)
        if corrupt:
            images = corrupt_images(images, config.corruption, generator)
        seqs = policy.pack(prompts, responses)
        logps = policy(images, torch.arange(len(batch)), seqs)
        out += (logps / seqs.response_mask.sum(-1).clamp_min(1)).tolist()
    return np.array(out, dtype=float)


def _same(a: Prediction, b: Prediction) -> bool:
    return a.decorative == b.decorative and (a.decorative or normalize_for_match(a.text) == normalize_for_match(b.text))


def _mean(values) -> float:
    values = np.asarray(values, dtype=float)
    return float(values.mean()) if values.size else float("nan")


def sensitivity(describer, examples: Sequence[EvalExample], predictions: Sequence[Prediction],
                decided_by: Mapping[str, str], config: SensitivityConfig = SensitivityConfig()) -> dict[str, float]:
    """All three checks for one model (a :class:`~eval_harness.runner.CheckpointDescriber`).

    ``predictions`` are the model's answers with the true context (already
    computed for the caption metrics); ``decided_by`` maps example id to the
    corpus's ``decided_by``.
    """
    partners = swap_partners(examples, config.seed)
    keep = [i for i, p in enumerate(partners) if p >= 0]
    swapped = [with_context_of(examples[i], examples[partners[i]]) for i in keep]
    swapped_answers = dict(zip(keep, describer.describe(swapped)))
    changed = {i: not _same(predictions[i], swapped_answers[i]) for i in keep}
    by = {i: decided_by.get(examples[i].id, "") for i in keep}

    policy = describer.policy
    true_lp = reference_logprobs(policy, examples, config=config)
    corrupt_lp = reference_logprobs(policy, examples, corrupt=True, config=config)
    swapped_lp = np.full(len(examples), np.nan)
    if keep:
        swapped_lp[keep] = reference_logprobs(policy, [examples[i] for i in keep],
                                              contexts=[examples[partners[i]] for i in keep], config=config)
    image_drop = true_lp - corrupt_lp
    context_drop = true_lp - swapped_lp
    in_context = [i for i, e in enumerate(examples) if answer_in_context(e) and i in swapped_answers]
    exact_in_context = [not predictions[i].decorative and
                        normalize_for_match(predictions[i].text) == normalize_for_match(examples[i].reference.texts[0])
                        for i in in_context]
    image_decided = [i for i in range(len(examples)) if decided_by.get(examples[i].id) == "image"]
    return {
        "context_change_rate[decided_by=context]": _mean([changed[i] for i in keep if by[i] == "context"]),
        "context_change_rate[decided_by=image]": _mean([changed[i] for i in keep if by[i] == "image"]),
        "image_logp_drop": _mean(image_drop),
        "image_logp_drop[decided_by=image]": _mean(image_drop[image_decided]),
        "image_logp_falls_share": _mean(image_drop > 0),
        "context_logp_drop": _mean(context_drop[keep]),
        "answer_in_context_examples": float(len(in_context)),
        "answer_in_context_exact_match": _mean(exact_in_context),
        "answer_in_context_logp_drop": _mean(context_drop[in_context]),
    }


SENSITIVITY_METRICS = (
    "context_change_rate[decided_by=context]", "context_change_rate[decided_by=image]", "image_logp_drop",
    "image_logp_drop[decided_by=image]", "image_logp_falls_share", "context_logp_drop",
    "answer_in_context_exact_match", "answer_in_context_logp_drop",
)
