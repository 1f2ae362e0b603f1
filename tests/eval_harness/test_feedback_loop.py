"""The feedback-loop experiment (eval_harness/feedback_loop.py): the helpers' rules, and one real round
through the API, retrain.py and the judge."""
from __future__ import annotations

import json
import random
from pathlib import Path

from sqlalchemy import func, select

from backend.db import Database
from backend.honest import parse_honest
from backend.models import Feedback, PreferencePair, RetrainRun
from eval_harness import feedback_loop
from eval_harness.feedback_loop import MAX_TEXT_CHARS, Helper, HelperPolicy
from eval_harness.realweb.records import Record

REPO = Path(__file__).resolve().parents[2]
REALWEB = REPO.parent / "shared" / "data" / "realweb"


def record(alt: str) -> Record:
    return Record(set_name="s", id=alt or "decorative", image_path=Path("x.png"), alt=alt, split="dev")


def helper(noise: float = 0.0, write_share: float = 1.0, seed: int = 0) -> Helper:
    return Helper(HelperPolicy(noise=noise, write_share=write_share), ["Map of the offices", "Team photo"],
                  random.Random(seed))


def test_helpers_praise_what_the_author_said_and_correct_the_rest():
    photo = record("Group photo of the 18F team at the summit")
    assert helper().feedback(photo, {"description": "Photo: 18F team summit"}) == {"kind": "rate", "rating": "up"}
    assert helper().feedback(photo, {"description": "No description available"}) == \
        {"kind": "correct", "text": photo.alt}
    assert helper().feedback(photo, {"description": "", "decorative": True})["kind"] == "correct"  # hidden
    # a helper who does not write picks the candidate closest to what the image shows, else says "down"
    lazy = helper(write_share=0.0)
    assert lazy.feedback(photo, {"description": "A cat", "candidates": ["A dog", "The team photo"]}) == \
        {"kind": "pick", "candidate_index": 1}
    assert lazy.feedback(photo, {"description": "A cat", "candidates": ["A dog"]}) == {"kind": "rate", "rating": "down"}
    decorative = record("")
    assert helper().feedback(decorative, {"description": "", "decorative": True}) == {"kind": "rate", "rating": "up"}
    assert helper().feedback(decorative, {"description": "A line"}) == {"kind": "rate", "rating": "down"}


def test_wrong_feedback_carries_another_images_alt_at_the_stated_rate():
    noisy, photo = helper(noise=0.3, seed=1), record("Team photo")
    sent = [noisy.feedback(photo, {"description": "No description available"}) for _ in range(1000)]
    wrong = [s for s in sent if s.get("wrong")]
    assert 250 <= len(wrong) <= 350
    assert {s["text"] for s in wrong} == {"Map of the offices"}  # never the image's own alt
    assert all(s == {"kind": "correct", "text": "Team photo"} for s in sent if not s.get("wrong"))


def test_a_long_alt_is_cut_at_a_word_to_what_the_api_takes():
    long_alt = "word " * 100
    sent = helper().feedback(record(long_alt), {"description": "No description available"})["text"]
    assert len(sent) <= MAX_TEXT_CHARS and sent.endswith("word") and long_alt.startswith(sent)


def test_one_round_goes_through_the_api_and_retrain_and_is_measured(tmp_path):
    out, work = tmp_path / "out", tmp_path / "work"
    assert feedback_loop.main(["--rounds", "1", "--per-round", "8", "--seeds", "0", "--noise=", "--dpo-noise", "0.5",
                               "--paper-facets-noise=",
                               "--smoothing", "0", "--test-per-set", "2",
                               "--corpus", str(tmp_path / "no-corpus"), "--realweb", str(REALWEB),
                               "--work", str(work), "--out", str(out)]) == 0
    results = json.loads((out / "results.json").read_text())
    (row,) = results["rounds"]
    assert row["setup"] == "dpo@noise0.5" and row["round"] == 1
    assert sum(row["feedback"].values()) == row["corrections_sent"] == 8  # every answer got one feedback
    assert 0 < row["wrong"] < 8 and row["pairs"] > 0
    assert 0 < results["meta"]["test_images"] == row["figures"]["realweb.images"] <= 6  # 2 per set, SVG left out
    meta = results["meta"]
    assert meta["test_informative"] + meta["test_decorative"] == meta["test_images"]
    assert 0.0 <= row["figures"]["realweb.honest_share"] <= 1.0
    # what the report says came from the product's own database and registry
    run = work / "runs" / "dpo@noise0.5-seed0"
    db = Database(f"sqlite:///{run / 'altlens.db'}")
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(Feedback)) == 8
        stored = session.scalars(select(PreferencePair)).all()
        assert len(stored) == row["pairs"]
        # a correction of what the backend said instead (its honest form) pairs against what the model said
        honest = [p for p in stored if p.kind == "correct" and p.generation.model_answer is not None]
        assert honest and all(p.rejected == p.generation.model_answer for p in honest)
        assert not any(parse_honest(p.rejected) for p in stored if p.kind == "correct")
        (retrain_run,) = session.scalars(select(RetrainRun)).all()
        assert retrain_run.decision == row["decision"]
    db.dispose()
    served = (run / "models" / "CURRENT").read_text().strip()
    assert served == row["version"] == ("v0002" if row["decision"].startswith("published") else "v0001")
    report = (out / "report.md").read_text()
    assert "| dpo@noise0.5 | 1 | 8 |" in report and "real-web `test` split" in report


def test_the_setups_are_mcm_dpo_at_each_noise_dpo_beside_it_and_cdpo_at_the_worst(tmp_path):
    args = feedback_loop.parse_args(["--out", str(tmp_path)])
    assert [s.name for s in feedback_loop.setups(args)] == [
        "mcm_dpo@noise0", "mcm_dpo@noise0.1", "mcm_dpo@noise0.3", "dpo@noise0", "mcm_dpo+cdpo0.1@noise0.3"]
    seven = feedback_loop.parse_args(["--noise=", "--dpo-noise=", "--paper-facets-noise", "0"])
    assert [s.name for s in feedback_loop.setups(seven)] == ["mcm_dpo-7facets@noise0"]


def test_resume_keeps_only_the_runs_that_finished(tmp_path):
    def row(setup, seed, number):
        return {"setup": setup, "seed": seed, "round": number, "corrections_sent": 0, "pairs": 0, "wrong": 0}

    rounds = [row("dpo@noise0", 0, 1), row("dpo@noise0", 0, 2), row("dpo@noise0", 1, 1)]  # seed 1 was cut short
    (tmp_path / "results.json").write_text(json.dumps({"meta": {"command": "first"}, "baseline": {"x": 1},
                                                       "rounds": rounds}))
    kept = feedback_loop._earlier(feedback_loop.parse_args(["--out", str(tmp_path), "--rounds", "2", "--resume"]))
    assert kept["baseline"] == {"x": 1} and [(r["seed"], r["round"]) for r in kept["rounds"]] == [(0, 1), (0, 2)]
    assert feedback_loop._earlier(feedback_loop.parse_args(["--out", str(tmp_path), "--rounds", "2"])) == {}
