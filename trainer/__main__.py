"""``python -m trainer sft|dpo|mcm-dpo --model PATH --data FILE --out DIR [...]``.

The same command runs data-parallel under ``accelerate launch -m trainer ...``.
Options map one to one onto :class:`trainer.config.TrainConfig` fields; their
defaults are the config's (the paper's), except where given here.
"""
from __future__ import annotations

import argparse
import dataclasses
import logging
import sys

from trainer.config import TrainConfig
from trainer.data import load_examples
from trainer.losses import FACETS, FacetWeights

OBJECTIVE_NAMES = {"sft": "sft", "dpo": "dpo", "mcm-dpo": "mcm_dpo"}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m trainer", description=__doc__.splitlines()[0])
    parser.add_argument("objective", choices=sorted(OBJECTIVE_NAMES))
    parser.add_argument("--model", required=True, help="hub id or local checkpoint directory")
    parser.add_argument("--data", required=True, nargs="+", help="paper, corpus or backend-pairs files")
    parser.add_argument("--out", required=True, help="checkpoints, metrics.jsonl and final/ go here")
    parser.add_argument("--format", default="auto", choices=["auto", "paper", "corpus", "pairs"])
    parser.add_argument("--max-steps", type=int, default=None, help="stop after this many optimizer steps")
    parser.add_argument("--facets", nargs="+", choices=list(FACETS), default=None,
                        help="MCM-DPO ablation: keep only these facets (at their default weights)")
    parser.add_argument("--no-progress", action="store_true")
    defaults = TrainConfig()
    for f in dataclasses.fields(TrainConfig):
        if f.name in ("objective", "facet_weights", "model_name_or_path", "checkpoint_dir"):
            continue
        value = getattr(defaults, f.name)
        flag = "--" + f.name.replace("_", "-")
        if isinstance(value, bool):
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=value)
        elif f.name in ("norm",):
            parser.add_argument(flag, type=float, default=value)
        elif f.name in ("resume", "bf16"):
            parser.add_argument(flag, type=_bool_or_str, default=value)
        else:
            parser.add_argument(flag, type=type(value), default=value)
    return parser


def _bool_or_str(text: str) -> bool | str:
    return {"true": True, "false": False}.get(text.lower(), text)


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    values = {f.name: getattr(args, f.name) for f in dataclasses.fields(TrainConfig)
              if hasattr(args, f.name) and f.name != "objective"}
    weights = FacetWeights().only(*args.facets) if args.facets else FacetWeights()
    return TrainConfig(**values, objective=OBJECTIVE_NAMES[args.objective], facet_weights=weights,
                       model_name_or_path=args.model, checkpoint_dir=args.out)


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    cfg = config_from_args(args)
    loaded = load_examples(*args.data, fmt=args.format)
    if loaded.skipped:
        logging.warning("%d bad records skipped (see warnings above)", loaded.skipped)
    from trainer.train import train  # heavy imports after argument errors are reported

    result = train(cfg, loaded.examples, max_steps=args.max_steps, progress=not args.no_progress)
    print(result.model_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
