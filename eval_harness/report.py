"""Turn score sheets into the three things people read: JSON, a Markdown table and a PNG plot.

Several systems scored on the same examples are compared with the first one
(the baseline): for every metric the report gives the difference and a
percentile confidence interval from a *paired* bootstrap over examples — each
resample draws example indices once and re-aggregates every system on those
same indices, so the interval reflects how much the difference depends on
which examples were drawn, not the noise between unrelated samples. The seed
is part of the result, so a report can be reproduced exactly.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

import matplotlib

matplotlib.use("Agg")  # files only; no display on servers and CI
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from eval_harness.metrics import BEHAVIOUR_METRICS, CAPTION_METRICS, ScoreSheet  # noqa: E402


@dataclass(frozen=True)
class BootstrapSettings:
    """How confidence intervals are drawn: resamples, seed and coverage."""

    resamples: int = 1000
    seed: int = 0
    confidence: float = 0.95


def metric_names(sheets: Mapping[str, ScoreSheet]) -> list[str]:
    """Caption metrics first, then behaviour metrics, then anything else (per-category exact match)."""
    seen = [m for s in sheets.values() for m in s.corpus]
    ordered = [m for m in (*CAPTION_METRICS, *BEHAVIOUR_METRICS) if m in seen]
    return ordered + sorted(set(seen) - set(ordered))


def paired_bootstrap(baseline: ScoreSheet, other: ScoreSheet, metrics: list[str],
                     settings: BootstrapSettings = BootstrapSettings()) -> dict[str, dict[str, float]]:
    """Difference (other - baseline) per metric with a paired percentile bootstrap interval."""
    if baseline.n != other.n:
        raise ValueError(f"paired comparison needs the same examples ({baseline.n} vs {other.n})")
    rng = np.random.default_rng(settings.seed)
    samples = [rng.integers(0, baseline.n, baseline.n) for _ in range(settings.resamples)] if baseline.n else []
    tail = (1 - settings.confidence) / 2 * 100
    out = {}
    for metric in metrics:
        if metric not in baseline.corpus or metric not in other.corpus:
            continue
        diff = other.corpus[metric] - baseline.corpus[metric]
        draws = np.array([other.aggregate(metric, idx) - baseline.aggregate(metric, idx) for idx in samples])
        draws = draws[~np.isnan(draws)]
        low, high = (np.percentile(draws, [tail, 100 - tail]) if len(draws) else (math.nan, math.nan))
        out[metric] = {"diff": float(diff), "ci_low": float(low), "ci_high": float(high)}
    return out


def build_result(sheets: Mapping[str, ScoreSheet], settings: BootstrapSettings = BootstrapSettings(),
                 info: Mapping[str, object] | None = None) -> dict:
    """The JSON-ready result: every system's corpus metrics, and comparisons with the first system."""
    names = list(sheets)
    metrics = metric_names(sheets)
    result = {
        "info": dict(info or {}),
        "bootstrap": {"resamples": settings.resamples, "seed": settings.seed, "confidence": settings.confidence},
        "metrics": metrics,
        "systems": [{"name": n, "examples": sheets[n].n, "scores": sheets[n].corpus} for n in names],
        "comparisons": [],
    }
    for name in names[1:]:
        result["comparisons"].append({"baseline": names[0], "system": name,
                                      "metrics": paired_bootstrap(sheets[names[0]], sheets[name], metrics, settings)})
    return result


def _fmt(value: float) -> str:
    return "–" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.4f}"


def markdown(result: dict) -> str:
    """A table: one row per metric, one column per system, and for each later system its difference."""
    systems = result["systems"]
    comparisons = {c["system"]: c["metrics"] for c in result["comparisons"]}
    confidence = int(round(result["bootstrap"]["confidence"] * 100))
    header = ["metric"] + [s["name"] for s in systems]
    header += [f"{s['name']} − {systems[0]['name']} [{confidence}% CI]" for s in systems[1:]]
    lines = ["# Evaluation report", ""]
    for key, value in result["info"].items():
        lines.append(f"- {key}: {value}")
    counts = ", ".join(f"{s['name']} {s['examples']}" for s in systems)
    lines += [f"- examples: {counts}",
              f"- bootstrap: {result['bootstrap']['resamples']} paired resamples, seed {result['bootstrap']['seed']}",
              "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for metric in result["metrics"]:
        row = [metric] + [_fmt(s["scores"].get(metric, math.nan)) for s in systems]
        for s in systems[1:]:
            d = comparisons[s["name"]].get(metric)
            row.append("–" if d is None or math.isnan(d["diff"]) else
                       f"{d['diff']:+.4f} [{_fmt(d['ci_low'])}, {_fmt(d['ci_high'])}]")
        lines.append("| " + " | ".join(row) + " |")
    lines += ["", "BLEU-n is cumulative (pycocoevalcap); METEOR is METEOR 1.5's corpus score; "
              "CIDEr is CIDEr-D (its bootstrap keeps the full set's IDF). Length, long-alt share and "
              "repetition count informative (non-decorative) answers only.", "", "![metrics](metrics.png)", ""]
    return "\n".join(lines)


def plot(result: dict, path: Path) -> None:
    """Grouped bars: caption metrics (0–1), CIDEr, and behaviour rates, one colour per system."""
    systems = result["systems"]
    panels = [("caption metrics", [m for m in CAPTION_METRICS if m != "CIDEr"]), ("CIDEr", ["CIDEr"]),
              ("behaviour", ["share_over_125_chars", "decorative_rate", "repetition_rate", "exact_match_text"])]
    fig, axes = plt.subplots(1, 3, figsize=(13, 4), gridspec_kw={"width_ratios": [6, 1.3, 4]})
    width = 0.8 / max(1, len(systems))
    for ax, (title, metrics) in zip(axes, panels):
        x = np.arange(len(metrics))
        for i, s in enumerate(systems):
            values = [s["scores"].get(m, math.nan) for m in metrics]
            ax.bar(x + i * width - 0.4 + width / 2, np.nan_to_num(values), width, label=s["name"])
        ax.set_xticks(x, metrics, rotation=30, ha="right", fontsize=8)
        ax.set_title(title)
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _json_safe(value):
    """NaN (a metric undefined on this data) becomes null: strict JSON has no NaN."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return value


def write_report(result: dict, out_dir: str | Path) -> dict[str, Path]:
    """Write results.json, report.md and metrics.png into ``out_dir``; return their paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"json": out / "results.json", "markdown": out / "report.md", "plot": out / "metrics.png"}
    paths["json"].write_text(json.dumps(_json_safe(result), indent=2, allow_nan=False) + "\n", encoding="utf-8")
    paths["markdown"].write_text(markdown(result), encoding="utf-8")
    plot(result, paths["plot"])
    return paths
