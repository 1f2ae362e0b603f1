"""``python -m eval_harness``: describe a data set with one or more systems, score, and write the report.

Examples::

    python -m eval_harness --data ../shared/data/mcmdpo-sample/twitter/twitter_train.json \\
        --model var/models/current --out var/eval/run1
    python -m eval_harness --data test.jsonl --compare sft=ckpt/sft dpo=ckpt/dpo mcm=preds.jsonl --out var/eval/cmp

A system is ``[name=]path``: an ONNX model directory (run through the backend's
engine), a PyTorch checkpoint directory, or a JSON Lines file of precomputed
predictions (``{"id", "prediction", "decorative"}``). The first system is the
baseline of the comparison. Generated predictions are saved next to the report
(``predictions-<name>.jsonl``) so they can be re-scored without the model.
"""
from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

from eval_harness.metrics import MeteorJar, score
from eval_harness.report import BootstrapSettings, build_result, write_report
from eval_harness.runner import PredictionsFile, load_eval_set, open_describer, write_predictions


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m eval_harness", description=__doc__.split("\n\n")[0])
    p.add_argument("--data", nargs="+", required=True, help="data files (paper JSON/JSONL, corpus JSONL, pairs JSONL)")
    p.add_argument("--format", default="auto", choices=["auto", "paper", "corpus", "pairs"])
    systems = p.add_argument_group("systems (at least one; all are put in one table, the first is the baseline)")
    systems.add_argument("--model", action="append", default=[], metavar="[NAME=]DIR",
                         help="ONNX model directory or PyTorch checkpoint")
    systems.add_argument("--predictions", action="append", default=[], metavar="[NAME=]FILE.jsonl")
    systems.add_argument("--compare", nargs="+", default=[], metavar="[NAME=]PATH", help="several systems at once")
    p.add_argument("--out", required=True, type=Path, help="folder for results.json, report.md, metrics.png")
    p.add_argument("--limit", type=int, default=None, help="only the first N examples")
    p.add_argument("--bootstrap", type=int, default=1000, help="paired bootstrap resamples")
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed")
    args = p.parse_args(argv)
    args.systems = [*args.model, *args.predictions, *args.compare]
    if not args.systems:
        p.error("give at least one system: --model, --predictions or --compare")
    return args


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    args = parse_args(argv)
    examples = load_eval_set(args.data, args.format, args.limit)
    args.out.mkdir(parents=True, exist_ok=True)
    sheets, timings = {}, {}
    jar = MeteorJar.shared()
    for spec in args.systems:
        describer = open_describer(spec)
        if describer.name in sheets:
            raise SystemExit(f"two systems are named {describer.name!r}; name them NAME=PATH")
        start = time.perf_counter()
        predictions = describer.describe(examples)
        timings[describer.name] = round(time.perf_counter() - start, 2)
        if not isinstance(describer, PredictionsFile):
            write_predictions(args.out / f"predictions-{describer.name}.jsonl", examples, predictions)
        sheets[describer.name] = score(predictions, [e.reference for e in examples], jar)
    info = {"data": " ".join(map(str, args.data)), "systems": " ".join(args.systems),
            "describe seconds": timings, "command": "python -m eval_harness " + " ".join(argv or sys.argv[1:])}
    result = build_result(sheets, BootstrapSettings(args.bootstrap, args.seed), info)
    paths = write_report(result, args.out)
    for path in paths.values():
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
