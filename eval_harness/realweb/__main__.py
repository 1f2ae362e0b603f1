"""``python -m eval_harness.realweb [DATA ...]``: judge a model on real pages, at the backend and page level.

Examples::

    python -m eval_harness.realweb                      # every set of ../shared/data/realweb, bundled model
    python -m eval_harness.realweb --per-set 4 --out var/realweb-slice
    python -m eval_harness.realweb ../shared/data/mcmdpo-sample/twitter/twitter_train.json --levels backend
    python -m eval_harness.realweb --levels speech --speech-pages 2   # what Orca says on 2 pages

DATA: manifests in the realweb format, folders of them, or the paper's JSON files.
"""
from __future__ import annotations

import argparse
import datetime
import hashlib
import subprocess
import sys
import time
from pathlib import Path

from eval_harness.realweb.records import DEFAULT_ROOT, REPO, SPLITS, load
from eval_harness.realweb.speech_level import DEFAULT_PAGES

LEVELS = ("backend", "page", "speech")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m eval_harness.realweb", description=__doc__.split("\n\n")[0])
    p.add_argument("data", nargs="*", default=[str(DEFAULT_ROOT)], help="manifests, folders of sets, paper JSON")
    p.add_argument("--model", type=Path, default=REPO / "models" / "bundled",
                   help="an exported ONNX model directory, or a registry root (default: the bundled model)")
    p.add_argument("--splits", nargs="+", default=list(SPLITS), choices=SPLITS)
    p.add_argument("--levels", nargs="+", default=list(LEVELS), choices=LEVELS)
    p.add_argument("--speech-pages", type=int, default=DEFAULT_PAGES,
                   help=f"speech level: a seeded sample of this many pages read with Orca (default {DEFAULT_PAGES})")
    p.add_argument("--per-set", type=int, default=None, help="a seeded sample of N records per set and split")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--ocr", choices=["auto", "off"], default="auto", help="the backend's OCR (default: as served)")
    p.add_argument("--out", type=Path, default=REPO / "eval_harness" / "results" / "realweb")
    p.add_argument("--work-dir", type=Path, default=REPO / "var" / "realweb",
                   help="the backend's database, registry and the rebuilt pages (emptied first)")
    return p.parse_args(argv)


def _git(*args: str) -> str:
    try:
        return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def _model_id(model: Path) -> str:
    """The model's name and a short hash of its weights, so a report says exactly what it judged."""
    digest = hashlib.sha256()
    for onnx in sorted(model.rglob("*.onnx")):
        digest.update(onnx.read_bytes())
    return f"{model.relative_to(REPO) if model.is_relative_to(REPO) else model} (onnx sha256 {digest.hexdigest()[:12]})"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from eval_harness.realweb.backend_level import describe_records
    from eval_harness.realweb.live import running_backend
    from eval_harness.realweb.report import write_report
    from eval_harness.realweb.summary import judge_all

    records = load(args.data, args.splits, args.per_set, args.seed)
    print(f"{len(records)} records from {len({r.set_name for r in records})} sets", file=sys.stderr)
    started = time.perf_counter()
    rows, seconds, spoken = [], {}, []
    with running_backend(args.model.resolve(), args.work_dir.resolve(), ocr=args.ocr == "auto") as backend:
        ocr_by_record: dict[str, str] = {}
        if "backend" in args.levels:
            t = time.perf_counter()
            answers = describe_records(records, backend.url, backend.token)
            seconds["backend"] = round(time.perf_counter() - t, 1)
            ocr_by_record = {a.record_id: a.ocr_text for a in answers}
            rows += judge_all("backend", records, answers)
        if "page" in args.levels:
            from eval_harness.realweb.pages_level import run_pages

            t = time.perf_counter()
            answers = run_pages(records, backend=backend, work_dir=args.work_dir.resolve() / "pages")
            seconds["page"] = round(time.perf_counter() - t, 1)
            rows += judge_all("page", records, answers, ocr_by_record)
        if "speech" in args.levels:
            from eval_harness.realweb.speech_level import run_speech, spoken_sequence

            t = time.perf_counter()
            heard_records, answers, pages = run_speech(records, backend=backend, pages=args.speech_pages,
                                                       seed=args.seed, work_dir=args.work_dir.resolve() / "speech")
            seconds["speech"] = round(time.perf_counter() - t, 1)
            rows += judge_all("speech", heard_records, answers, ocr_by_record)
            spoken = [spoken_sequence(page) for page in pages]
    dirty = " (with uncommitted changes)" if _git("status", "--porcelain", "--untracked-files=no") else ""
    info = {
        "command": "python -m eval_harness.realweb " + " ".join(argv if argv is not None else sys.argv[1:]),
        "commit": (_git("rev-parse", "--short", "HEAD") or "unknown") + dirty,
        "model": _model_id(args.model.resolve()),
        "data": ", ".join(args.data), "splits": " ".join(args.splits),
        "records": f"{len(records)}" + (f" (a seeded sample of {args.per_set} per set and split)" if args.per_set else ""),
        "ocr": args.ocr, "date": datetime.date.today().isoformat(),
        "seconds": ", ".join(f"{k} {v}" for k, v in seconds.items()) + f", total {time.perf_counter() - started:.0f}",
    }
    for path in write_report(rows, info, args.out, spoken).values():
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
