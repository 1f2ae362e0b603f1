"""``python -m eval_harness.pooled`` on comparison files written here, with known differences."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from eval_harness.pooled import main

BASE, METHOD = "SFT→DPO", "MCM-DPO[same-category negatives]"


def write_run(folder: Path, diffs: list[float], split: str = "test", base_cider: float = 4.3,
              methods: tuple[str, ...] = (BASE, METHOD)) -> Path:
    """A comparison.json in eval_harness.compare's shape: the method's CIDEr is the baseline's plus ``diffs``."""
    seeds = {}
    for i, d in enumerate(diffs):
        base = {"CIDEr": base_cider + 0.01 * i, "ROUGE-L": 0.8 + 0.001 * i}
        other = {"CIDEr": base["CIDEr"] + d, "ROUGE-L": base["ROUGE-L"] + d / 10}
        scores = {BASE: base, METHOD: other}
        seeds[str(i)] = {"scores": {m: scores[m] for m in methods}}
    folder.mkdir(parents=True)
    path = folder / "comparison.json"
    path.write_text(json.dumps({"config": {"split": split}, "seeds": seeds}), encoding="utf-8")
    return path


def run_cli(files: list[Path], tmp_path: Path, *extra: str) -> tuple[int, dict]:
    out = tmp_path / "out"
    code = main([*map(str, files), "--method", METHOD, "--out", str(out), *extra])
    return code, json.loads((out / "pooled.json").read_text()) if code == 0 else {}


def test_a_method_ahead_in_every_run_is_called_ahead_with_the_t_interval_over_run_means(tmp_path):
    runs = [[0.05, 0.06, 0.04], [0.03, 0.05, 0.04], [0.08, 0.02, 0.08], [0.06, 0.07, 0.03]]
    files = [write_run(tmp_path / f"r{i}", d) for i, d in enumerate(runs)]
    code, result = run_cli(files, tmp_path)
    assert code == 0
    cider = next(p for p in result["pooled"] if p["metric"] == "CIDEr")
    means = [np.mean(d) for d in runs]
    expected = stats.ttest_1samp(means, 0.0).confidence_interval(0.95)
    assert cider["runs"] == 4 and cider["seeds"] == 12 and cider["seeds_ahead"] == 12
    assert cider["mean"] == pytest.approx(np.mean(means))
    assert (cider["ci_low"], cider["ci_high"]) == pytest.approx((expected.low, expected.high))
    assert cider["ci_low"] > 0 and cider["verdict"] == "ahead"
    assert f"| CIDEr | {np.mean(means):+.4f} | [{expected.low:+.4f}, {expected.high:+.4f}] |" in (
        tmp_path / "out" / "pooled.md").read_text()


def test_differences_of_both_signs_are_level_and_a_method_always_behind_is_behind(tmp_path):
    mixed = [write_run(tmp_path / f"m{i}", d)
             for i, d in enumerate([[-0.05, 0.01, 0.03], [0.04, -0.02, 0.0], [-0.01, -0.03, 0.02]])]
    code, result = run_cli(mixed, tmp_path)
    assert code == 0 and {p["verdict"] for p in result["pooled"]} == {"level"}

    behind = [write_run(tmp_path / f"b{i}", d) for i, d in enumerate([[-0.05, -0.04], [-0.06, -0.03], [-0.02, -0.05]])]
    code = main([*map(str, behind), "--method", METHOD, "--out", str(tmp_path / "behind")])
    verdicts = {p["verdict"] for p in json.loads((tmp_path / "behind" / "pooled.json").read_text())["pooled"]}
    assert code == 0 and verdicts == {"behind"}


def test_repeated_checkpoints_count_once_and_every_left_out_file_says_why(tmp_path):
    first = write_run(tmp_path / "a", [0.02, 0.01, 0.03])
    again = write_run(tmp_path / "a-again", [0.02, 0.01, 0.03])
    other = write_run(tmp_path / "b", [-0.01, 0.02, 0.00], base_cider=4.1)
    val = write_run(tmp_path / "v", [0.5, 0.5, 0.5], split="val")
    lacking = write_run(tmp_path / "no-method", [0.1, 0.1, 0.1], methods=(BASE,))
    broken = tmp_path / "broken" / "comparison.json"
    broken.parent.mkdir()
    broken.write_text("{not json")
    code, result = run_cli([first, again, other, val, lacking, broken], tmp_path)
    assert code == 0
    assert [r["name"] for r in result["runs"]] == ["a", "b"]
    why = {Path(s["file"]).parent.name: s["why"] for s in result["skipped"]}
    assert "same checkpoints" in why["a-again"] and str(first) in why["a-again"]
    assert why["v"] == "val split"
    assert METHOD in why["no-method"]
    assert why["broken"].startswith("unreadable")

    code, result = run_cli([first, other, val], tmp_path, "--split", "any")
    assert code == 0 and len(result["runs"]) == 3


def test_no_usable_run_is_an_error_that_names_each_file(tmp_path, capsys):
    lacking = write_run(tmp_path / "no-method", [0.1, 0.1], methods=(BASE,))
    assert main([str(lacking), "--method", METHOD]) == 2
    err = capsys.readouterr().err
    assert "no run compares" in err and str(lacking) in err


def test_one_run_gives_no_interval_and_no_verdict(tmp_path):
    code, result = run_cli([write_run(tmp_path / "only", [0.05, 0.06, 0.04])], tmp_path)
    assert code == 0
    assert {p["verdict"] for p in result["pooled"]} == {"too few runs"}
    assert "too few runs" in (tmp_path / "out" / "pooled.md").read_text()
