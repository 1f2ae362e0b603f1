"""``python -m corpus --out DIR --seed 0 --size N``: generate the corpus (see corpus/README.md)."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from corpus.config import CorpusConfig, parse_category_weights
from corpus.generate import generate


def main(argv: list[str] | None = None) -> None:
    defaults = CorpusConfig()
    parser = argparse.ArgumentParser(prog="python -m corpus", description=__doc__)
    parser.add_argument("--out", type=Path, required=True, help="output folder (created if missing)")
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--size", type=int, default=defaults.size, help="examples over all splits")
    parser.add_argument("--noise-share", type=float, default=defaults.noise_share,
                        help="share of each split whose SFT target carries a real-world defect")
    parser.add_argument("--category-weights", nargs="+", default=[], metavar="CATEGORY=WEIGHT",
                        help="change the category mix, e.g. emoji=0.5 text=0.1 (unnamed categories keep "
                             f"their defaults: {defaults.category_weights})")
    parser.add_argument("--real-assets", action="store_true",
                        help="draw real logos, flags and icon and emoji designs, split by asset (corpus/README.md)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    try:
        weights = parse_category_weights(args.category_weights)
    except ValueError as error:
        parser.error(f"--category-weights: {error}")
    config = CorpusConfig(seed=args.seed, size=args.size, noise_share=args.noise_share, category_weights=weights,
                          real_assets=args.real_assets)
    manifest = generate(config, args.out, progress=not args.quiet)
    print(json.dumps({s: v["examples"] for s, v in manifest["splits"].items()}))


if __name__ == "__main__":
    main()
