"""``python -m bench [--quick] [--only model,http,...] [--out DIR]``: run the benchmark, print, write results.

A section that fails is reported as a failed figure and the others still run,
so one broken part never hides every other number.
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
import time
import traceback
import warnings
from pathlib import Path

from bench.config import BUNDLED_MODEL, RESULTS_DIR, SECTIONS, WORK_DIR, BenchConfig
from bench.report import Figure, environment, write


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke run, not figures to quote")
    parser.add_argument("--only", default=",".join(SECTIONS), help=f"comma-separated sections of {', '.join(SECTIONS)}")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR, help="where latest.json and latest.md go")
    parser.add_argument("--work", type=Path, default=WORK_DIR, help="scratch folder (models, corpus, databases)")
    parser.add_argument("--checkpoint", type=Path, help="PyTorch checkpoint to use instead of a scratch model")
    parser.add_argument("--onnx", type=Path, help="its ONNX export (with --checkpoint)")
    parser.add_argument("--served", type=Path, help="ONNX model the backend serves (default: models/bundled if present)")
    return parser.parse_args(argv)


def run_sections(args: argparse.Namespace, cfg: BenchConfig, only: list[str]) -> tuple[list[Figure], dict]:
    from bench import corpus_data
    from bench.models import ModelSet, model_set

    work: Path = args.work
    work.mkdir(parents=True, exist_ok=True)
    if args.checkpoint and args.onnx:
        served = args.served or args.onnx
        models = ModelSet(args.checkpoint, args.onnx, served, served.resolve() == BUNDLED_MODEL.resolve())
    else:
        models = model_set(work)
        if args.served:
            models = ModelSet(models.checkpoint_dir, models.onnx_dir, args.served, False)
    corpus_root = corpus_data.ensure_corpus(work, cfg.corpus_size, cfg.seed)
    images = corpus_data.corpus_images(corpus_root)
    meta = {"model_under_test": models.describe(), "corpus": f"{len(images)} images ({corpus_root.name})"}
    figures: list[Figure] = []

    def section(name: str, fn) -> None:
        if name not in only:
            return
        start = time.perf_counter()
        print(f"-- {name} ...", flush=True)
        try:
            got = fn()
        except Exception as exc:  # report and go on: one broken section must not hide the rest
            traceback.print_exc()
            got = [Figure(name, "section failed", f"{type(exc).__name__}: {exc}"[:300], met=False)]
        got.append(Figure(name, "section wall time", round(time.perf_counter() - start, 1), "s"))
        for figure in got:
            print(figure.line(), flush=True)
        figures.extend(got)

    from bench import extension, http_bench, model_latency, ocr_gate, quantization, realweb, training

    section("model", lambda: model_latency.run(models, cfg))
    section("ocr_gate", lambda: ocr_gate.run(images, cfg))
    section("http", lambda: http_bench.run(models.served_dir, work / "http", cfg,
                                           *corpus_data.split_by_gate(images)))
    section("extension", lambda: extension.run(models.served_dir, work / "extension", cfg))
    section("training", lambda: training.run(models.checkpoint_dir, corpus_root / "train.jsonl", cfg))
    section("quantization", lambda: quantization.run(models.served_dir, work, corpus_root / "val.jsonl", cfg,
                                                     trained=models.served_is_bundled))
    section("realweb", lambda: realweb.run(models.served_dir, work / "realweb", cfg))
    return figures, meta


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    warnings.filterwarnings("ignore")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    cfg = BenchConfig.quick() if args.quick else BenchConfig()
    only = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = set(only) - set(SECTIONS)
    if unknown:
        print(f"unknown sections: {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    start = time.perf_counter()
    figures, meta = run_sections(args, cfg, only)
    meta.update(preset="quick" if args.quick else "full", config=cfg.__dict__, environment=environment(),
                load_average=os.getloadavg(), wall_s=round(time.perf_counter() - start, 1))
    json_path, md_path = write(figures, meta, args.out)
    missed = [f for f in figures if f.met is False]
    print(f"\n{len(figures)} figures in {meta['wall_s']:.0f} s; {len(missed)} target(s) missed; "
          f"written to {json_path} and {md_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
