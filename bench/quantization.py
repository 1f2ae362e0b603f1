"""int8 dynamic quantization of the served ONNX model: speed and what it does to quality.

``onnxruntime.quantization.quantize_dynamic`` (int8 weights, activations
quantized on the fly) is applied to each of the three ONNX files. Speed is the
served engine's ``describe`` (beam search, natural stopping) on the same
images, interleaved. Quality: both models describe the same corpus validation
examples and the eval harness's metrics score both against the references.
"""
from __future__ import annotations

import shutil
from pathlib import Path

from bench.config import BenchConfig
from bench.report import Figure, ratio_figure
from bench.timing import interleaved_medians, ms

SECTION = "quantization"
QUANTIZED_FILES = ("encoder_model.onnx", "decoder_model.onnx", "decoder_with_past_model.onnx")


def quantize(model_dir: Path, out: Path) -> Path:
    """A copy of ``model_dir`` with its ONNX files int8-quantized (rebuilt every run: cheap)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    if out.exists():
        shutil.rmtree(out)
    shutil.copytree(model_dir, out, ignore=shutil.ignore_patterns("*.onnx"))
    for name in QUANTIZED_FILES:
        quantize_dynamic(str(model_dir / name), str(out / name), weight_type=QuantType.QInt8)
    return out


def _size_mb(directory: Path) -> float:
    return sum((directory / n).stat().st_size for n in QUANTIZED_FILES) / 2**20


def run(model_dir: Path, work_dir: Path, val_file: Path, cfg: BenchConfig, trained: bool) -> list[Figure]:
    from backend.engine import CPU, AltTextEngine
    from eval_harness.metrics import score
    from eval_harness.runner import EngineDescriber, load_eval_set

    qdir = quantize(model_dir, work_dir / "int8")
    fp32, int8 = AltTextEngine(model_dir, providers=[CPU]), AltTextEngine(qdir, providers=[CPU])
    examples = load_eval_set([val_file], limit=cfg.quality_examples)
    images = [e.example.load_image() for e in examples[:8]]
    contexts = [e.context for e in examples[:8]]
    ocr = [e.ocr_text for e in examples[:8]]
    t32, t8 = interleaved_medians([lambda: fp32.describe(images, contexts, ocr),
                                   lambda: int8.describe(images, contexts, ocr)], cfg.repeats)
    figures = [
        Figure(SECTION, "fp32 describe, per image", ms(t32 / len(images)), "ms", note="served engine, beam search"),
        Figure(SECTION, "int8 describe, per image", ms(t8 / len(images)), "ms"),
        ratio_figure(SECTION, "int8 speed-up over fp32", t32, t8,
                     note="untrained model: decode lengths may differ between the two" if not trained else ""),
        Figure(SECTION, "ONNX size fp32 -> int8", f"{_size_mb(model_dir):.1f} -> {_size_mb(qdir):.1f}", "MiB"),
    ]
    references = [e.reference for e in examples]
    sheets = {}
    for name, directory in (("fp32", model_dir), ("int8", qdir)):
        describer = EngineDescriber(directory, name)
        sheets[name] = score(describer.describe(examples), references)
    for metric in ("BLEU-4", "CIDEr", "ROUGE-L", "METEOR"):
        a, b = sheets["fp32"].corpus.get(metric), sheets["int8"].corpus.get(metric)
        if a is None or b is None:
            continue
        figures.append(Figure(SECTION, f"{metric} fp32 -> int8", f"{a:.4f} -> {b:.4f}",
                              note=f"{len(examples)} corpus val examples" + ("" if trained else
                                   "; UNTRAINED model: both near zero, the change means nothing yet")))
    holds = all((sheets["int8"].corpus.get(m) or 0) >= (sheets["fp32"].corpus.get(m) or 0) - 0.01
                for m in ("BLEU-4", "CIDEr", "ROUGE-L"))
    figures.append(Figure(SECTION, "quality holds (each metric within 0.01)", "yes" if holds else "no",
                          note="ship int8 as default only if it holds on the trained model" if trained
                          else "not decidable on an untrained model"))
    return figures
