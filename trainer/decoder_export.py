"""The decoder exported with an attention mask and position ids, so the backend can batch images.

optimum exports a VisionEncoderDecoder's decoder with ``input_ids``,
``encoder_hidden_states`` and the key/value cache only. Without a mask, prompts of
different lengths cannot share a batch, and every image is decoded alone: on CPU
a decoder call's fixed cost dominates this small model, so that is most of the
time of a 16-image request. The two graphs written here replace optimum's
``decoder_model.onnx`` and ``decoder_with_past_model.onnx``:

- both take ``attention_mask`` ([batch, past + new], 1 = token, 0 = left
  padding) and ``position_ids`` ([batch, new]);
- the first call also returns the cross-attention keys and values
  (``present.{i}.encoder_key/value``), and the calls with past take them back
  (``past_key_values.{i}.encoder_key/value``) instead of the encoder states:
  optimum's graph recomputes them from the encoder states at every token, for
  every beam, which is most of a step's arithmetic.

The GPT-2 decoder runs with eager attention: its causal mask is built in the
graph from a fixed buffer, and the padding mask is added to it, which traces to
plain ONNX ops (the SDPA path builds its mask with vmap, which does not trace).
"""
from __future__ import annotations

from pathlib import Path

import torch
from transformers import VisionEncoderDecoderModel
from transformers.cache_utils import DynamicCache, EncoderDecoderCache

DECODER_FILES = {False: "decoder_model.onnx", True: "decoder_with_past_model.onnx"}
# Added to attention scores at padded keys. Not finfo.min: a query row that sees only
# padding must stay finite, and exp(-1e4) is exactly 0 in float32 anyway.
PAD_SCORE = -1e4
TRACE_ENCODER_LENGTH = 5  # any length: the encoder axis is dynamic


class DecoderStep(torch.nn.Module):
    """One decoder call: new tokens (+ the caches) → logits and the updated self-attention cache.

    Without past (the prompt): ``(input_ids, attention_mask, position_ids,
    encoder_hidden_states)`` → logits, self-attention and cross-attention caches.
    With past: ``(input_ids, attention_mask, position_ids, *self_cache, *cross_cache)``
    → logits and the self-attention cache.
    """

    def __init__(self, decoder: torch.nn.Module, with_past: bool):
        super().__init__()
        self.decoder, self.with_past = decoder, with_past
        self.layers = decoder.config.n_layer

    def forward(self, input_ids, attention_mask, position_ids, *rest):
        own, cross = DynamicCache(), DynamicCache()
        if self.with_past:
            n = self.layers
            for layer in range(n):
                own.update(rest[2 * layer], rest[2 * layer + 1], layer)
                cross.update(rest[2 * (n + layer)], rest[2 * (n + layer) + 1], layer)
            # GPT-2 runs cross-attention only when given encoder states; with the cross
            # cache filled it reads keys and values from the cache, so a stand-in will do.
            encoder_hidden_states = rest[0].new_zeros(1, 1, 1).expand(input_ids.shape[0], 1, self.decoder.config.n_embd)
        else:
            encoder_hidden_states = rest[0]
        padding = (1.0 - attention_mask[:, None, None, :].to(encoder_hidden_states.dtype)) * PAD_SCORE
        out = self.decoder(input_ids=input_ids, attention_mask=padding, position_ids=position_ids,
                           encoder_hidden_states=encoder_hidden_states,
                           past_key_values=EncoderDecoderCache(own, cross), use_cache=True)
        caches = [out.past_key_values.self_attention_cache]
        if not self.with_past:
            caches.append(out.past_key_values.cross_attention_cache)
        return (out.logits, *[t for cache in caches for layer in cache.layers for t in (layer.keys, layer.values)])


def export_decoders(checkpoint_dir: str | Path, out_dir: str | Path, opset: int = 17) -> None:
    """Write both decoder graphs of ``checkpoint_dir``'s model into ``out_dir`` (replacing optimum's)."""
    model = VisionEncoderDecoderModel.from_pretrained(checkpoint_dir, attn_implementation="eager").eval()
    decoder = model.decoder
    if decoder.config.model_type != "gpt2":
        raise NotImplementedError(f"padded decoder export knows GPT-2 decoders, not {decoder.config.model_type!r}")
    layers, heads = decoder.config.n_layer, decoder.config.n_head
    head_dim = decoder.config.n_embd // heads
    for with_past in (False, True):
        batch, new, past_len = 2, (1 if with_past else 3), (2 if with_past else 0)
        # with past: the self-attention cache, then the cross-attention one (DecoderStep's order)
        past = _cache_names("past_key_values", layers, ["", "encoder_"] if with_past else [])
        present = _cache_names("present", layers, [""] if with_past else ["", "encoder_"])
        names = ["input_ids", "attention_mask", "position_ids"] + ([] if with_past else ["encoder_hidden_states"]) + past
        args = [torch.zeros(batch, new, dtype=torch.int64), torch.ones(batch, past_len + new, dtype=torch.int64),
                torch.arange(past_len, past_len + new).repeat(batch, 1)]
        if not with_past:
            args.append(torch.zeros(batch, TRACE_ENCODER_LENGTH, model.config.encoder.hidden_size))
        args += [torch.zeros(batch, heads, TRACE_ENCODER_LENGTH if _is_cross(n) else past_len, head_dim) for n in past]
        axes = {"input_ids": {0: "batch_size", 1: "decoder_sequence_length"},
                "attention_mask": {0: "batch_size", 1: "total_sequence_length"},
                "position_ids": {0: "batch_size", 1: "decoder_sequence_length"},
                "encoder_hidden_states": {0: "batch_size", 1: "encoder_sequence_length"},
                "logits": {0: "batch_size", 1: "decoder_sequence_length"}}
        axes.update({n: {0: "batch_size", 2: "encoder_sequence_length" if _is_cross(n) else "past_sequence_length"}
                     for n in past})
        axes.update({n: {0: "batch_size", 2: "encoder_sequence_length" if _is_cross(n) else "total_sequence_length"}
                     for n in present})
        axes = {n: a for n, a in axes.items() if n in (*names, "logits", *present)}
        with torch.no_grad():
            torch.onnx.export(DecoderStep(decoder, with_past), tuple(args), str(Path(out_dir) / DECODER_FILES[with_past]),
                              input_names=names, output_names=["logits", *present], dynamic_axes=axes,
                              opset_version=opset, dynamo=False)


def _cache_names(stem: str, layers: int, caches: list[str]) -> list[str]:
    """``stem.{layer}.{cache}key/value``, cache by cache, layer by layer: DecoderStep's order."""
    return [f"{stem}.{layer}.{cache}{kind}" for cache in caches for layer in range(layers) for kind in ("key", "value")]


def _is_cross(name: str) -> bool:
    return ".encoder_" in name
