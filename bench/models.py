"""The models the benchmark measures, built on demand and cached under var/bench.

ONNX vs PyTorch needs both forms of one model, so that comparison always uses a
freshly built model of ``trainer.tiny.BUNDLED_SIZE`` (the bundled model's size;
untrained weights cost the same per token) exported with ``trainer.export``.
Serving figures (HTTP, quantization quality) use ``models/bundled`` when it
exists, else that same scratch export.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from bench.config import BUNDLED_MODEL

log = logging.getLogger(__name__)

TEXTS = ["a photo of a dog on a beach", "bar chart of sales by year", "shopping cart", "search",
         "next page", "company logo", "a woman riding a bicycle in the city"]


@dataclass(frozen=True)
class ModelSet:
    checkpoint_dir: Path  # PyTorch checkpoint (training, eager figures)
    onnx_dir: Path  # its ONNX export (ONNX vs PyTorch)
    served_dir: Path  # what the backend serves in the benchmark
    served_is_bundled: bool

    def describe(self) -> str:
        served = "models/bundled (trained)" if self.served_is_bundled else \
            "scratch model of BUNDLED_SIZE (UNTRAINED: models/bundled not present)"
        return f"served: {served}; ONNX-vs-PyTorch and training: scratch model of BUNDLED_SIZE"


def scratch_models(work_dir: Path, size=None, seed: int = 0) -> tuple[Path, Path]:
    """A checkpoint and its verified ONNX export, built once and reused while present."""
    from trainer.tiny import BUNDLED_SIZE, build_model

    size = size or BUNDLED_SIZE
    checkpoint, onnx = work_dir / "checkpoint", work_dir / "onnx"
    if not (checkpoint / "config.json").is_file():
        log.info("building a scratch model of %s", size)
        build_model(checkpoint, texts=TEXTS, size=size, seed=seed)
    if not (onnx / "altlens.json").is_file():
        from trainer.export import export_onnx

        export_onnx(checkpoint, onnx, {"trained": False, "note": "benchmark scratch model (untrained)"})
    return checkpoint, onnx


def model_set(work_dir: Path, use_bundled: bool = True) -> ModelSet:
    checkpoint, onnx = scratch_models(work_dir / "scratch")
    bundled = use_bundled and (BUNDLED_MODEL / "encoder_model.onnx").is_file()
    return ModelSet(checkpoint, onnx, BUNDLED_MODEL if bundled else onnx, bundled)
