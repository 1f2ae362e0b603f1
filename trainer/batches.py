"""Preference examples → model-ready tensors, and batches of the combinations an objective scores.

Every example goes through ``backend.modelinput.build_model_input`` — the same
builder the backend serves with — so training and serving cannot drift.

The negatives of an example (corrupted image ``m_l``, swapped context ``c_l``)
are a pure function of ``(seed, index)``: the pass that precomputes reference
log-probs and every later training epoch see exactly the same 8 combinations,
which is what makes precomputing the reference valid.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch
from torch.utils.data import Dataset

from backend.modelinput import build_model_input, encode_prompt, encode_response, prompt_for
from trainer.corruptions import corrupt_images, negative_partners
from trainer.data import PreferenceExample
from trainer.losses import CHOSEN, FACETS, wrong_under
from trainer.modeling import PackedSequences, pack_sequences


@dataclass
class EncodedExample:
    """One example's tensors: both images, both prompts, both responses."""

    index: int
    pixels: torch.Tensor  # m_w [3, H, W]
    corrupted: torch.Tensor  # m_l [3, H, W]
    prompt: list[int]  # c_w
    swapped_prompt: list[int]  # c_l
    chosen: list[int]  # y_w
    rejected: list[int]  # y_l (empty for SFT-only examples)
    chosen_swapped: list[int]  # y_w as written under c_l (differs only for a response that points at OCR words)
    rejected_swapped: list[int]  # y_l likewise
    weight: float
    wrong_under: dict[str, bool]  # per facet: does its negative make the chosen text wrong (losses.wrong_under)


class EncodedPreferences(Dataset):
    """A list of :class:`PreferenceExample` encoded lazily and deterministically.

    ``corruption`` is any of ``trainer.corruptions.CORRUPTIONS``; ``"swap"`` uses
    the image of the same dataset-level partner whose context is swapped in;
    ``partners`` says how that partner is drawn (``trainer.corruptions.negative_partners``).
    """

    def __init__(self, examples: Sequence[PreferenceExample], tokenizer, image_processor, seed: int = 0,
                 corruption: str = "diffusion", diffusion_step: int = 700, partners: str = "any"):
        if len(examples) < 2:
            raise ValueError("preference training needs at least 2 examples (negatives come from other samples)")
        self.examples = list(examples)
        self.tokenizer = tokenizer
        self.image_processor = image_processor
        self.seed = seed
        self.corruption = corruption
        self.diffusion_step = diffusion_step
        self.partner = negative_partners(self.examples, seed, partners)
        # Decoding and preprocessing an image costs more than the tiny model's step on it, and
        # every epoch asks for the same result: kept after the first time (≈50 KB per 64 px image).
        self._inputs: dict[int, tuple[torch.Tensor, list[int]]] = {}

    def __len__(self) -> int:
        return len(self.examples)

    def _pixels(self, index: int) -> tuple[torch.Tensor, list[int]]:
        if index not in self._inputs:
            example = self.examples[index]
            model_input = build_model_input(example.load_image(), example.context, example.ocr_text,
                                            self.tokenizer, self.image_processor)
            self._inputs[index] = (torch.from_numpy(model_input.pixel_values), model_input.prompt_ids)
        return self._inputs[index]

    def __getitem__(self, index: int) -> EncodedExample:
        example = self.examples[index]
        partner = self.examples[self.partner[index]]
        pixels, prompt = self._pixels(index)
        swapped_prompt = encode_prompt(self.tokenizer, prompt_for(self.tokenizer, partner.context, partner.ocr_text))
        generator = torch.Generator().manual_seed(self.seed * 1_000_003 + index)
        other = self._pixels(self.partner[index])[0] if self.corruption == "swap" else None
        corrupted = corrupt_images(pixels, self.corruption, generator, diffusion_step=self.diffusion_step,
                                   other_pixels=other)
        chosen, rejected = self._responses(example, example.ocr_text)
        # A pointer names a position in the prompt's reading, not a word: under the swapped
        # prompt (the partner's context and reading) the same text is other tokens. Scoring
        # the true pointers there would score the partner's own words, a right answer for it,
        # and the context facet would teach the model against pointing at all.
        swapped = self._responses(example, partner.ocr_text) if example.points_at_ocr else (chosen, rejected)
        return EncodedExample(
            index=index, pixels=pixels, corrupted=corrupted, prompt=prompt, swapped_prompt=swapped_prompt,
            chosen=chosen, rejected=rejected, chosen_swapped=swapped[0], rejected_swapped=swapped[1],
            weight=example.weight, wrong_under=wrong_under(example.meta.get("decided_by"), bool(example.ocr_text)))

    def _responses(self, example: PreferenceExample, ocr_text: str) -> tuple[list[int], list[int]]:
        """(chosen, rejected) ids as written after a prompt that shows ``ocr_text``."""
        pointed = ocr_text if example.points_at_ocr else ""  # the words a response may point at
        rejected = ([] if example.rejected is None
                    else encode_response(self.tokenizer, example.rejected, example.rejected_decorative, pointed))
        return encode_response(self.tokenizer, example.chosen, example.chosen_decorative, pointed), rejected


@dataclass
class ComboBatch:
    """The sequences of ``keys`` (``response_image_context`` combinations) for B examples.

    Sequence ``k * B + b`` is combination ``keys[k]`` of example ``b``, so the
    policy's ``[K*B]`` output reshapes to ``[K, B]``. ``pixel_values`` holds
    each example's true image, then (only if a key needs it) its corrupted one.
    """

    keys: tuple[str, ...]
    indices: torch.Tensor  # long [B], dataset positions (to look up reference log-probs)
    pixel_values: torch.Tensor  # [B or 2B, 3, H, W]
    image_index: torch.Tensor  # long [K*B]
    seqs: PackedSequences
    weights: torch.Tensor  # float [B]
    facet_mask: dict[str, torch.Tensor]  # facet -> bool [B]

    @property
    def size(self) -> int:
        return len(self.indices)

    def to(self, device) -> "ComboBatch":
        return ComboBatch(self.keys, self.indices.to(device), self.pixel_values.to(device),
                          self.image_index.to(device), self.seqs.to(device), self.weights.to(device),
                          {f: m.to(device) for f, m in self.facet_mask.items()})

    def split(self, logps: torch.Tensor) -> dict[str, torch.Tensor]:
        """``[K*B]`` log-probs → ``{key: [B]}``."""
        return dict(zip(self.keys, logps.view(len(self.keys), self.size).unbind(0)))


class ComboCollator:
    """Builds a :class:`ComboBatch` for a fixed list of combination keys (SFT: just ``w_w_w``)."""

    def __init__(self, keys: Sequence[str], pad_id: int, max_length: int | None = None):
        if not keys or keys[0] != CHOSEN:
            raise ValueError(f"keys must start with {CHOSEN!r}, got {keys}")
        self.keys = tuple(keys)
        self.pad_id = pad_id
        self.max_length = max_length
        self.needs_corrupted = any(k.split("_")[1] == "l" for k in self.keys)

    def __call__(self, items: Sequence[EncodedExample]) -> ComboBatch:
        b = len(items)
        images = [it.pixels for it in items] + ([it.corrupted for it in items] if self.needs_corrupted else [])
        prompts, responses, image_index = [], [], []
        for key in self.keys:
            response, image, context = key.split("_")
            for row, it in enumerate(items):
                if context == "w":
                    ids = it.chosen if response == "w" else it.rejected
                else:
                    ids = it.chosen_swapped if response == "w" else it.rejected_swapped
                if not ids:
                    raise ValueError(f"example {it.index} has no rejected response but {key} needs one")
                responses.append(ids)
                prompts.append(it.prompt if context == "w" else it.swapped_prompt)
                image_index.append(row if image == "w" else b + row)
        return ComboBatch(
            keys=self.keys,
            indices=torch.tensor([it.index for it in items], dtype=torch.long),
            pixel_values=torch.stack(images),
            image_index=torch.tensor(image_index, dtype=torch.long),
            seqs=pack_sequences(prompts, responses, self.pad_id, self.max_length),
            weights=torch.tensor([it.weight for it in items], dtype=torch.float32),
            facet_mask={f: torch.tensor([it.wrong_under[f] for it in items]) for f in FACETS},
        )
