"""PyTorch checkpoint → ONNX model directory, checked before anyone may publish it.

optimum's exporter writes the layout ``backend.engine`` loads (encoder, decoder
with past, tokenizer, image processor, generation config). An export is only
accepted if the ONNX model answers a smoke input and its greedy output matches
the PyTorch model token for token.
"""
from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import torch
from transformers import AutoImageProcessor, AutoTokenizer, VisionEncoderDecoderModel

from backend.modelinput import build_model_input
from backend.registry import SMOKE_CONTEXTS, smoke_images

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
    log.info("export verified: ONNX matches PyTorch on %d smoke inputs", len(SMOKE_CONTEXTS))
