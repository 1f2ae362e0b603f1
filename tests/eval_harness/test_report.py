"""Paired bootstrap, and the JSON / Markdown / PNG the report writes."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

from eval_harness.metrics import ScoreSheet
from eval_harness.report import BootstrapSettings, build_result, paired_bootstrap, write_report


def mean_sheet(values: dict[str, np.ndarray]) -> ScoreSheet:
    """A sheet whose metrics are plain means of per-example values."""
    aggregators = {m: (lambda idx, v=v: float(v[idx].mean())) for m, v in values.items()}
    n = len(next(iter(values.values())))
    return ScoreSheet(n=n, corpus={m: a(np.arange(n)) for m, a in aggregators.items()}, aggregators=aggregators)


def test_paired_bootstrap_sees_a_consistent_small_gain_despite_large_spread():
    rng = np.random.default_rng(1)
    a = rng.uniform(0, 1, 200)  # examples vary a lot ...
    base, better = mean_sheet({"ROUGE-L": a}), mean_sheet({"ROUGE-L": a + 0.01})  # ... the gain does not
    d = paired_bootstrap(base, better, ["ROUGE-L"], BootstrapSettings(resamples=300, seed=0))["ROUGE-L"]
    assert d["diff"] == pytest.approx(0.01)
    # paired: every resample's difference is exactly 0.01; unpaired resampling would give a CI about ±0.08 wide
    assert d["ci_low"] == pytest.approx(0.01) and d["ci_high"] == pytest.approx(0.01)


def test_paired_bootstrap_interval_covers_the_difference_and_is_seeded():
    rng = np.random.default_rng(2)
    a, b = rng.uniform(0, 1, 100), rng.uniform(0, 1, 100)
    sa, sb = mean_sheet({"m": a}), mean_sheet({"m": b})
    d = paired_bootstrap(sa, sb, ["m"], BootstrapSettings(resamples=400, seed=7))["m"]
    assert d["ci_low"] < d["diff"] < d["ci_high"]
    # standard error of a mean difference of two U(0,1) samples: sqrt(2/12/100) ~ 0.041; 95% CI ~ ±0.08
    assert 0.1 < d["ci_high"] - d["ci_low"] < 0.25
    assert paired_bootstrap(sa, sb, ["m"], BootstrapSettings(400, 7))["m"] == d
    assert paired_bootstrap(sa, sb, ["m"], BootstrapSettings(400, 8))["m"] != d


def test_paired_bootstrap_needs_the_same_examples():
    with pytest.raises(ValueError, match="same examples"):
        paired_bootstrap(mean_sheet({"m": np.zeros(3)}), mean_sheet({"m": np.zeros(4)}), ["m"])


def test_report_files(tmp_path):
    base = mean_sheet({"BLEU-1": np.array([0.2, 0.4, 0.6]), "exact_match_text": np.array([math.nan] * 3)})
    other = mean_sheet({"BLEU-1": np.array([0.3, 0.5, 0.7]), "exact_match_text": np.array([math.nan] * 3)})
    result = build_result({"sft": base, "mcm-dpo": other}, BootstrapSettings(50, 0), {"data": "x.jsonl"})
    paths = write_report(result, tmp_path / "out")

    saved = json.loads(paths["json"].read_text())  # strict JSON: NaN became null
    assert [s["name"] for s in saved["systems"]] == ["sft", "mcm-dpo"]
    assert saved["systems"][1]["scores"]["BLEU-1"] == pytest.approx(0.5)
    assert saved["systems"][0]["scores"]["exact_match_text"] is None
    comparison = saved["comparisons"][0]
    assert comparison["baseline"] == "sft" and comparison["metrics"]["BLEU-1"]["diff"] == pytest.approx(0.1)
    assert saved["bootstrap"] == {"resamples": 50, "seed": 0, "confidence": 0.95}

    md = paths["markdown"].read_text()
    assert "| metric | sft | mcm-dpo | mcm-dpo − sft [95% CI] |" in md
    assert "| BLEU-1 | 0.4000 | 0.5000 | +0.1000 [0.1000, 0.1000] |" in md
    assert "| exact_match_text | – | – | – |" in md
    assert paths["plot"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
