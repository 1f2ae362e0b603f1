"""PyTorch checkpoint → ONNX model directory, checked before anyone may publish it.

optimum's exporter writes the layout ``backend.engine`` loads (encoder, decoder
with past, tokenizer, image processor, generation config); the two decoder graphs
are then replaced by ones that take an attention mask (trainer.decoder_export),
so the backend decodes a request's images together. An export is only accepted
if the ONNX model's greedy output matches the PyTorch model token for token,
and its batched beam search (prompts of different lengths, left-padded) finds
what it finds for each image alone.
"""
from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import numpy as np
import torch
from transformers import AutoImageProcessor, AutoTokenizer, VisionEncoderDecoderModel

from backend.modelinput import build_model_input
from backend.registry import SMOKE_CONTEXTS, smoke_images
from trainer.decoder_export import export_decoders

log = logging.getLogger(__name__)

class ExportMismatch(RuntimeError):
    """The exported model does not answer like the PyTorch model it came from."""


def export_onnx(checkpoint_dir: str | Path, out_dir: str | Path, info: dict | None = None) -> Path:
    """Export ``checkpoint_dir`` to ONNX in ``out_dir``, verify it, write ``altlens.json``.

    ``info`` (e.g. ``{"trained": true, "note": "..."}``) is stored beside the model
    so that the backend can say what it serves.
    """
    from optimum.exporters.onnx import main_export

    checkpoint_dir, out = Path(checkpoint_dir), Path(out_dir)
    if out.exists():
        shutil.rmtree(out)
    main_export(
        model_name_or_path=str(checkpoint_dir),
        output=out,
        task="image-to-text-with-past",
        do_validation=False,
    )
    try:
        export_decoders(checkpoint_dir, out)
    except NotImplementedError as exc:  # the backend batches optimum's graphs too, by prompt length only
        log.warning("%s: keeping optimum's decoder graphs", exc)
    verify_export(checkpoint_dir, out)
    (out / "altlens.json").write_text(json.dumps(info or {}, indent=2))
    return out


def verify_export(checkpoint_dir: str | Path, onnx_dir: str | Path) -> None:
    """Raise :class:`ExportMismatch` unless ONNX greedy output equals PyTorch's on smoke inputs."""
    from backend.engine import OnnxModel

    model = VisionEncoderDecoderModel.from_pretrained(checkpoint_dir).eval()
    tokenizer = AutoTokenizer.from_pretrained(checkpoint_dir)
    processor = AutoImageProcessor.from_pretrained(checkpoint_dir)
    onnx = OnnxModel(onnx_dir, providers=["CPUExecutionProvider"])
    for image, context in zip(smoke_images(), SMOKE_CONTEXTS):
        model_input = build_model_input(image, context, "", tokenizer, processor)
        with torch.no_grad():
            expected = model.generate(
                pixel_values=torch.from_numpy(model_input.pixel_values[None]),
                decoder_input_ids=torch.tensor([model_input.prompt_ids]),
                do_sample=False,
                num_beams=1,
                max_new_tokens=16,
            )[0].tolist()
        got = onnx.generate_greedy(model_input, max_new_tokens=16)
        if expected != got:
            raise ExportMismatch(f"ONNX output {got} differs from PyTorch {expected}")
    inputs = [build_model_input(i, c, "", tokenizer, processor) for i, c in zip(smoke_images(), SMOKE_CONTEXTS)]
    hidden = onnx.encode(np.stack([m.pixel_values for m in inputs]))
    together = onnx.beam_search_many([m.prompt_ids for m in inputs], hidden, num_beams=3, max_new_tokens=12)
    for m, h, found in zip(inputs, hidden, together):
        alone = onnx.beam_search(m.prompt_ids, h, num_beams=3, max_new_tokens=12)
        if [x.ids for x in found] != [x.ids for x in alone]:
            raise ExportMismatch(f"batched beam search found {[x.ids for x in found]}, alone {[x.ids for x in alone]}")
    log.info("export verified: ONNX matches PyTorch on %d smoke inputs", len(SMOKE_CONTEXTS))
