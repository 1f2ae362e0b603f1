"""``python -m eval_harness.pooled``: does one method beat another across every comparison run, not just one?

One ``make eval`` run compares methods over 3 seeds from one SFT checkpoint, on
one split of about 400 examples. Differences of 0.02-0.05 CIDEr between
preference methods have changed sign between checkpoints, splits and recipes
(eval_harness/results/LOG.md). This pools the runs it is given:

- within each run, the per-seed paired difference (method − baseline: same SFT
  start, same pairs, same seed) for each metric;
- across runs, the mean of the run means with a Student t interval and a
  one-sample t test (scipy). Runs, not seeds, are the units: the seeds of one
  run share its SFT checkpoint and its test examples, so they are not
  independent draws. The seed count (how many seeds the method was ahead in,
  with a two-sided binomial test) is given too, and is the more optimistic of
  the two.

Runs that evaluated the same checkpoints twice (identical per-seed scores for
both methods) count once. A run that lacks either method is listed as skipped,
with the reason, so nothing is silently left out.

Example, over the runs of eval_harness/results/LOG.md (their folders live in git
history; LOG.md's pooled summary was made this way)::

    mkdir -p /tmp/runs && git archive b1c66f3 eval_harness/results | tar -x -C /tmp/runs
    python -m eval_harness.pooled /tmp/runs/eval_harness/results/comparison.json \\
        /tmp/runs/eval_harness/results/*/comparison.json --method "MCM-DPO[same-category negatives]"
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy import stats

DEFAULT_METRICS = ("CIDEr", "ROUGE-L")


@dataclass(frozen=True)
class RunDiff:
    """One comparison run: its per-seed differences (method − baseline) for each metric."""

    name: str
    split: str
    per_seed: dict[str, list[float]]  # metric -> differences in seed order

    def mean(self, metric: str) -> float:
        return float(np.mean(self.per_seed[metric]))


@dataclass
class Pooled:
    """The pooled verdict for one metric, with everything needed to check it."""

    metric: str
    runs: int
    mean: float
    ci_low: float
    ci_high: float
    p_runs: float
    seeds_ahead: int
    seeds: int
    p_seeds: float
    verdict: str = field(init=False)

    def __post_init__(self) -> None:
        if self.runs < 2 or math.isnan(self.ci_low):
            self.verdict = "too few runs"
        elif self.ci_low > 0:
            self.verdict = "ahead"
        elif self.ci_high < 0:
            self.verdict = "behind"
        else:
            self.verdict = "level"


def run_diff(path: Path, baseline: str, method: str, metrics: tuple[str, ...]) -> RunDiff:
    """Per-seed paired differences of one ``comparison.json``; ``ValueError`` says why a run cannot be used."""
    try:
        result = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        raise ValueError(f"unreadable: {e}") from None
    seeds = result.get("seeds")
    if not isinstance(seeds, dict) or not seeds:
        raise ValueError("no per-seed scores (not a comparison.json of eval_harness.compare)")
    per_seed: dict[str, list[float]] = {m: [] for m in metrics}
    for seed in sorted(seeds, key=lambda s: int(s) if str(s).isdigit() else str(s)):
        scores = seeds[seed].get("scores", {})
        for name in (baseline, method):
            if name not in scores:
                raise ValueError(f"no {name!r} in seed {seed}")
        for metric in metrics:
            if metric not in scores[baseline] or metric not in scores[method]:
                raise ValueError(f"no {metric!r} in seed {seed}")
            per_seed[metric].append(float(scores[method][metric]) - float(scores[baseline][metric]))
    split = result.get("config", {}).get("split") or "test"
    return RunDiff(name=path.parent.name, split=split, per_seed=per_seed)


def pool(runs: list[RunDiff], metric: str, confidence: float = 0.95) -> Pooled:
    """Mean of run means (``runs`` not empty) with a t interval over runs, and the seed-level sign count."""
    means = np.array([r.mean(metric) for r in runs])
    seeds = np.array([d for r in runs for d in r.per_seed[metric]])
    if len(means) >= 2 and np.ptp(means) > 1e-12:
        test = stats.ttest_1samp(means, 0.0)
        interval = test.confidence_interval(confidence)
        low, high, p_runs = float(interval.low), float(interval.high), float(test.pvalue)
    else:  # one run, or runs that agree exactly: no spread to build an interval from
        low = high = p_runs = math.nan
    ahead, decided = int((seeds > 0).sum()), int((seeds != 0).sum())
    p_seeds = float(stats.binomtest(ahead, decided, 0.5).pvalue) if decided else math.nan
    return Pooled(metric=metric, runs=len(runs), mean=float(means.mean()),
                  ci_low=low, ci_high=high, p_runs=p_runs, seeds_ahead=ahead, seeds=len(seeds), p_seeds=p_seeds)


def collect(paths: list[Path], baseline: str, method: str, metrics: tuple[str, ...],
            split: str | None) -> tuple[list[RunDiff], list[tuple[str, str]]]:
    """The usable runs (each set of checkpoints once) and, for every other file, why it was left out."""
    runs: list[RunDiff] = []
    skipped: list[tuple[str, str]] = []
    seen: dict[tuple, str] = {}
    for path in paths:
        try:
            run = run_diff(path, baseline, method, metrics)
        except ValueError as e:
            skipped.append((str(path), str(e)))
            continue
        if split and run.split != split:
            skipped.append((str(path), f"{run.split} split"))
            continue
        key = (run.split, tuple(round(d, 9) for m in metrics for d in run.per_seed[m]))
        if key in seen:
            skipped.append((str(path), f"the same checkpoints and scores as {seen[key]}"))
            continue
        seen[key] = str(path)
        runs.append(run)
    return runs, skipped


def markdown(baseline: str, method: str, runs: list[RunDiff], pooled: list[Pooled],
             skipped: list[tuple[str, str]], confidence: float) -> str:
    metrics = [p.metric for p in pooled]
    lines = [f"# {method} − {baseline}, pooled over {len(runs)} comparison runs", "",
             "| run | split | " + " | ".join(f"{m} per seed | {m} mean" for m in metrics) + " |",
             "|---|---|" + "---|---|" * len(metrics)]
    for r in runs:
        cells = [f"{' '.join(f'{d:+.3f}' for d in r.per_seed[m])} | {r.mean(m):+.3f}" for m in metrics]
        lines.append(f"| {r.name} | {r.split} | " + " | ".join(cells) + " |")
    lines += ["", f"| metric | mean of run means | {confidence:.0%} t interval over runs | p (runs) "
                  "| seeds ahead | p (seeds, binomial) | verdict |", "|---|---|---|---|---|---|---|"]
    for p in pooled:
        lines.append(f"| {p.metric} | {p.mean:+.4f} | [{p.ci_low:+.4f}, {p.ci_high:+.4f}] | {p.p_runs:.3f} "
                     f"| {p.seeds_ahead} of {p.seeds} | {p.p_seeds:.3f} | {p.verdict} |")
    if skipped:
        lines += ["", "Left out:"] + [f"- {path}: {why}" for path, why in skipped]
    return "\n".join(lines) + "\n"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m eval_harness.pooled", description=__doc__.split("\n\n")[0])
    p.add_argument("files", nargs="+", type=Path, help="comparison.json files written by eval_harness.compare")
    p.add_argument("--method", required=True, help="the method under test, as named in the runs")
    p.add_argument("--baseline", default="SFT→DPO", help="what it is compared with (default SFT→DPO)")
    p.add_argument("--metrics", nargs="+", default=list(DEFAULT_METRICS))
    p.add_argument("--split", default="test", help="only runs on this split (default test; 'any' for all)")
    p.add_argument("--confidence", type=float, default=0.95)
    p.add_argument("--out", type=Path, help="also write pooled.md and pooled.json here")
    args = p.parse_args(argv)
    if not 0 < args.confidence < 1:
        p.error("--confidence must be between 0 and 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    metrics = tuple(args.metrics)
    runs, skipped = collect(args.files, args.baseline, args.method, metrics,
                            None if args.split == "any" else args.split)
    if not runs:
        reasons = "\n".join(f"  {path}: {why}" for path, why in skipped)
        print(f"no run compares {args.method!r} with {args.baseline!r}:\n{reasons}", file=sys.stderr)
        return 2
    pooled = [pool(runs, m, args.confidence) for m in metrics]
    text = markdown(args.baseline, args.method, runs, pooled, skipped, args.confidence)
    print(text, end="")
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "pooled.md").write_text(text, encoding="utf-8")
        payload = {"baseline": args.baseline, "method": args.method, "confidence": args.confidence,
                   "runs": [r.__dict__ for r in runs],
                   "pooled": [{k: None if isinstance(v, float) and math.isnan(v) else v for k, v in p.__dict__.items()}
                              for p in pooled],
                   "skipped": [{"file": f, "why": w} for f, w in skipped]}
        (args.out / "pooled.json").write_text(json.dumps(payload, indent=2, allow_nan=False) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
