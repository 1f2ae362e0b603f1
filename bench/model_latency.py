"""ONNX Runtime vs PyTorch eager on the same model, batch 1 and 8; greedy vs beam cost.

Decoding is forced to exactly ``new_tokens`` tokens on both sides (ONNX: EOS is
never treated as the end; PyTorch: ``min_new_tokens == max_new_tokens``), so an
untrained model that would stop at once, or never, costs what a trained one does.
All images of a batch share one context so prompts have equal length and both
runtimes decode the batch as one tensor.
"""
from __future__ import annotations

import numpy as np
import torch
from PIL import Image

from bench.config import BenchConfig
from bench.models import ModelSet
from bench.report import Figure, ratio_figure
from bench.timing import interleaved_medians, ms

SECTION = "model"


def sample_images(count: int, seed: int = 0) -> list[Image.Image]:
    rng = np.random.default_rng(seed)
    return [Image.fromarray(rng.integers(0, 255, (96, 128, 3), dtype=np.uint8)) for _ in range(count)]


def onnx_greedy(model, pixel_values: np.ndarray, prompt_ids: list[int], new_tokens: int) -> np.ndarray:
    """Batched greedy decoding over the served ONNX sessions, exactly ``new_tokens`` tokens per row."""
    hidden = model.encode(pixel_values)
    logp, past, cross, mask = model._prefill([prompt_ids] * len(hidden), hidden)
    tokens = logp.argmax(-1)
    generated = [tokens]
    for _ in range(new_tokens - 1):
        mask = np.concatenate([mask, np.ones((len(mask), 1), dtype=np.int64)], axis=1)
        logp, past = model._next_step(tokens, mask, past, cross)
        tokens = logp.argmax(-1)
        generated.append(tokens)
    return np.stack(generated, axis=1)


def torch_greedy(model, pixel_values: torch.Tensor, prompt_ids: list[int], new_tokens: int) -> torch.Tensor:
    with torch.no_grad():
        return model.generate(pixel_values=pixel_values,
                              decoder_input_ids=torch.tensor([prompt_ids] * len(pixel_values)),
                              attention_mask=None, do_sample=False, num_beams=1,
                              min_new_tokens=new_tokens, max_new_tokens=new_tokens)


def run(models: ModelSet, cfg: BenchConfig) -> list[Figure]:
    from transformers import VisionEncoderDecoderModel

    from backend.engine import CPU, OnnxModel
    from backend.modelinput import PageContext

    onnx = OnnxModel(models.onnx_dir, providers=[CPU])
    onnx.eos_id = -1  # no token ends a hypothesis: fixed-length decoding for cost comparison
    eager = VisionEncoderDecoderModel.from_pretrained(models.checkpoint_dir).eval()
    context = PageContext(caption="Quarterly sales", heading="Report", page_title="Example")
    images = sample_images(8, cfg.seed)
    inputs = [onnx.build_input(image, context, "") for image in images]
    prompt = inputs[0].prompt_ids
    pixels = np.stack([m.pixel_values for m in inputs])
    n = cfg.new_tokens
    figures: list[Figure] = []
    note = f"{n} new tokens forced per image, prompt {len(prompt)} tokens, {torch.get_num_threads()} torch threads"
    for batch in (1, 8):
        x = pixels[:batch]
        xt = torch.from_numpy(x)
        t_onnx, t_torch = interleaved_medians([lambda: onnx_greedy(onnx, x, prompt, n),
                                               lambda: torch_greedy(eager, xt, prompt, n)], cfg.repeats)
        figures += [
            Figure(SECTION, f"ONNX greedy, batch {batch}, per image", ms(t_onnx / batch), "ms"),
            Figure(SECTION, f"PyTorch eager greedy, batch {batch}, per image", ms(t_torch / batch), "ms"),
            ratio_figure(SECTION, f"ONNX speed-up over PyTorch, batch {batch}", t_torch, t_onnx,
                         minimum=2.0 if batch == 1 else None, note=note),
        ]
    hidden = onnx.encode(pixels[:1])[0]
    t_greedy, t_beam = interleaved_medians([lambda: onnx_greedy(onnx, pixels[:1], prompt, n),
                                            lambda: onnx.beam_search(prompt, hidden, cfg.num_beams, n)], cfg.repeats)
    figures += [
        Figure(SECTION, f"ONNX beam search ({cfg.num_beams} beams), one image", ms(t_beam), "ms",
               note="the served engine's decoding (backend.engine.beam_search)"),
        ratio_figure(SECTION, f"beam ({cfg.num_beams}) cost over greedy", t_beam, t_greedy, note=note),
    ]
    figures += _beam_batching(onnx, cfg)
    return figures


def _beam_batching(onnx, cfg: BenchConfig) -> list[Figure]:
    """The served decoding of 16 images with 16 different contexts: searched together vs one at a time."""
    from backend.modelinput import PageContext

    images = sample_images(16, cfg.seed + 1)
    inputs = [onnx.build_input(image, PageContext(caption=" ".join(["word"] * i), page_title="Example"), "")
              for i, image in enumerate(images)]
    prompts = [m.prompt_ids for m in inputs]
    hidden = onnx.encode(np.stack([m.pixel_values for m in inputs]))
    n = cfg.new_tokens

    def alone():
        for prompt, h in zip(prompts, hidden):
            onnx.beam_search(prompt, h, cfg.num_beams, n)

    t_together, t_alone = interleaved_medians([lambda: onnx.beam_search_many(prompts, hidden, cfg.num_beams, n),
                                               alone], cfg.repeats)
    lengths = f"prompts of {min(map(len, prompts))}-{max(map(len, prompts))} tokens"
    return [
        Figure(SECTION, "beam search of 16 images together, total", ms(t_together), "ms",
               note=f"{lengths}, left-padded into one batch" if onnx.padded else "grouped by prompt length"),
        Figure(SECTION, "beam search of 16 images one at a time, total", ms(t_alone), "ms"),
        ratio_figure(SECTION, "searching 16 images together over one at a time", t_alone, t_together,
                     note=f"{n} new tokens forced per image, {cfg.num_beams} beams"),
    ]
