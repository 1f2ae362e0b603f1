"""What the trainer needs from a model, and the VisionEncoderDecoder implementation of it.

The losses (trainer/losses.py) only ever see summed log-probabilities of
response tokens. Everything model-specific — how an image is encoded, how the
context prompt and the response are laid out, how padding works — lives behind
:class:`AltTextPolicy`, so a LLaVA-style model could be added by writing one more
class here, without touching the losses or the training loops.

The whole log-prob computation is the module's ``forward`` so that a
``DistributedDataParallel`` wrapper (``accelerate launch``) sees it and
synchronises gradients.

Efficiency: a batch carries its *distinct* images once (``pixel_values``) and an
``image_index`` saying which image each sequence reads. MCM-DPO's 8 sequences per
sample share 2 images (true and corrupted), so the vision encoder runs twice per
sample, not eight times, and all decoder passes go through one batched call.
"""
from __future__ import annotations

import contextlib
import copy
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Protocol, Sequence, runtime_checkable

import torch
from torch import nn
from transformers import AutoImageProcessor, AutoTokenizer, VisionEncoderDecoderModel

from trainer.losses import sequence_logprobs

log = logging.getLogger(__name__)


@dataclass
class PackedSequences:
    """Prompt+response token sequences, right-padded, with a mask over response targets.

    ``input_ids[:, :-1]`` is fed to the decoder and ``input_ids[:, 1:]`` are the
    targets; ``response_mask`` marks the targets that are response tokens, so
    prompt (context, OCR) tokens never count in a loss.
    """

    input_ids: torch.Tensor  # long [B, T]
    attention_mask: torch.Tensor  # long [B, T]
    response_mask: torch.Tensor  # float [B, T-1]

    def to(self, device: torch.device | str) -> "PackedSequences":
        return PackedSequences(*(t.to(device) for t in (self.input_ids, self.attention_mask, self.response_mask)))


def pack_sequences(prompts: Sequence[Sequence[int]], responses: Sequence[Sequence[int]], pad_id: int,
                   max_length: int | None = None) -> PackedSequences:
    """Concatenate each prompt with its response and right-pad the batch.

    A response that would run past ``max_length`` (the decoder's positions) is
    cut at its end; the prompt is already bounded by ``backend.modelinput``.
    """
    if len(prompts) != len(responses):
        raise ValueError(f"{len(prompts)} prompts but {len(responses)} responses")
    if max_length is not None:
        responses = [list(r)[: max(1, max_length - len(p))] for p, r in zip(prompts, responses)]
    lengths = [len(p) + len(r) for p, r in zip(prompts, responses)]
    width = max(lengths)
    input_ids = torch.full((len(prompts), width), pad_id, dtype=torch.long)
    attention = torch.zeros((len(prompts), width), dtype=torch.long)
    response_mask = torch.zeros((len(prompts), width - 1), dtype=torch.float32)
    for row, (prompt, response) in enumerate(zip(prompts, responses)):
        if not prompt or not response:
            raise ValueError("prompt (with its start token) and response must both be non-empty")
        seq = list(prompt) + list(response)
        input_ids[row, : len(seq)] = torch.tensor(seq, dtype=torch.long)
        attention[row, : len(seq)] = 1
        # target position j predicts seq[j + 1]; it is a response token when j + 1 >= len(prompt)
        response_mask[row, len(prompt) - 1 : len(seq) - 1] = 1.0
    return PackedSequences(input_ids, attention, response_mask)


@runtime_checkable
class AltTextPolicy(Protocol):
    """The model interface every objective is written against."""

    tokenizer: object
    image_processor: object

    def forward(self, pixel_values: torch.Tensor, image_index: torch.Tensor, seqs: PackedSequences) -> torch.Tensor:
        """Summed log-prob of each sequence's response tokens, ``[B]``.

        ``pixel_values`` holds the distinct images ``[N, 3, H, W]``; sequence ``b``
        reads image ``image_index[b]``.
        """

    def pack(self, prompts: Sequence[Sequence[int]], responses: Sequence[Sequence[int]]) -> PackedSequences:
        """Lay out prompt/response ids the way :meth:`forward` expects."""

    def reference(self) -> contextlib.AbstractContextManager:
        """While active, :meth:`forward` computes the *reference* model's log-probs."""

    def generate(self, pixel_values: torch.Tensor, prompts: Sequence[Sequence[int]], max_new_tokens: int = 32) -> list[list[int]]:
        """Greedy response ids (prompt removed) for each image/prompt pair."""

    def save_pretrained(self, out_dir: str | Path) -> None:
        """Write a plain checkpoint (LoRA merged) that ``from_pretrained`` and the exporter read."""


# ViT (query/key/value) and GPT-2 (c_attn/c_proj/c_fc) projections that LoRA adapts
LORA_TARGETS = ("query", "key", "value", "c_attn", "c_proj", "c_fc")


class VisionEncoderDecoderPolicy(nn.Module):
    """A ``VisionEncoderDecoderModel`` (ViT + GPT-2 style) behind :class:`AltTextPolicy`.

    The context prompt is the decoder's prefix (``backend.modelinput``), so one
    forward pass scores any number of (image, context, response) combinations.
    """

    def __init__(self, model: nn.Module, tokenizer, image_processor, lora: bool = False):
        super().__init__()
        self.model = model
        self.tokenizer = tokenizer
        self.image_processor = image_processor
        self.lora = lora
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
        decoder_config = _base(model).decoder.config
        self.max_length = getattr(decoder_config, "n_positions", None) or decoder_config.max_position_embeddings

    @classmethod
    def from_pretrained(
        cls,
        name_or_path: str | Path,
        lora_rank: int = 0,
        lora_alpha: int = 16,
        lora_dropout: float = 0.0,
        freeze_vision_encoder: bool = False,
    ) -> "VisionEncoderDecoderPolicy":
        """Load a checkpoint by hub id or local path; ``lora_rank > 0`` wraps it in LoRA adapters.

        ``freeze_vision_encoder`` freezes the ViT (the paper found keeping it
        trainable best, so that is not the default).
        """
        model = VisionEncoderDecoderModel.from_pretrained(str(name_or_path))
        pooler = getattr(model.encoder, "pooler", None)
        if pooler is not None:  # its output never reaches the decoder; DDP needs every trainable param used
            model.encoder.pooler = None
        tokenizer = AutoTokenizer.from_pretrained(str(name_or_path))
        processor = AutoImageProcessor.from_pretrained(str(name_or_path))
        if lora_rank > 0:
            from peft import LoraConfig, get_peft_model

            present = {name.rsplit(".", 1)[-1] for name, _ in model.named_modules()}
            model = get_peft_model(model, LoraConfig(
                r=lora_rank, lora_alpha=lora_alpha, lora_dropout=lora_dropout,
                target_modules=[t for t in LORA_TARGETS if t in present]))
        if freeze_vision_encoder:
            for param in _base(model).encoder.parameters():
                param.requires_grad_(False)
        return cls(model, tokenizer, processor, lora=lora_rank > 0)

    # -- AltTextPolicy -------------------------------------------------------
    def pack(self, prompts, responses) -> PackedSequences:
        return pack_sequences(prompts, responses, self.pad_id, self.max_length)

    def forward(self, pixel_values: torch.Tensor, image_index: torch.Tensor, seqs: PackedSequences) -> torch.Tensor:
        base = _base(self.model)
        encoder_states = base.encoder(pixel_values=pixel_values).last_hidden_state  # [N, S, H] — once per image
        if base.encoder.config.hidden_size != base.decoder.config.hidden_size and base.decoder.config.cross_attention_hidden_size is None:
            encoder_states = base.enc_to_dec_proj(encoder_states)
        hidden = encoder_states.index_select(0, image_index)  # [B, S, H]: a view per sequence, no re-encoding
        decoder_inputs = seqs.input_ids[:, :-1]
        logits = base.decoder(
            input_ids=decoder_inputs,
            attention_mask=seqs.attention_mask[:, :-1],
            encoder_hidden_states=hidden,
            use_cache=False,
        ).logits
        return sequence_logprobs(logits, seqs.input_ids[:, 1:], seqs.response_mask)

    @contextlib.contextmanager
    def reference(self) -> Iterator[None]:
        """LoRA: the adapter-disabled base *is* the reference (no second copy of the model).

        Full fine-tuning has no frozen copy, so reference log-probs must be
        computed before the first update (the trainer precomputes them).
        """
        if self.lora:
            with self.model.disable_adapter():
                yield
        else:
            yield

    @torch.no_grad()
    def generate(self, pixel_values, prompts, max_new_tokens: int = 32) -> list[list[int]]:
        base = _base(self.model)  # LoRA layers are injected in place, so this includes them
        out: list[list[int]] = []
        for pixels, prompt in zip(pixel_values, prompts):  # one at a time: prompts differ in length
            ids = base.generate(
                pixel_values=pixels[None],
                decoder_input_ids=torch.tensor([list(prompt)], device=pixels.device),
                do_sample=False,
                num_beams=1,
                max_new_tokens=max_new_tokens,
            )[0].tolist()
            out.append(ids[len(prompt):])
        return out

    def save_pretrained(self, out_dir: str | Path) -> None:
        out = Path(out_dir)
        # merging a copy keeps the adapters of the model being trained intact
        model = copy.deepcopy(self.model).merge_and_unload() if self.lora else self.model
        model.save_pretrained(out)
        self.tokenizer.save_pretrained(out)
        self.image_processor.save_pretrained(out)


def _base(model: nn.Module) -> VisionEncoderDecoderModel:
    """The VisionEncoderDecoderModel inside a possible PEFT wrapper."""
    if isinstance(model, VisionEncoderDecoderModel):
        return model
    return model.get_base_model()

