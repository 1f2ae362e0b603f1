"""The retrain gate on what users get: a damaged candidate is refused with its figures, a good one is
published and served (trainer/gate.py, trainer/retrain.py)."""
from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from backend.registry import ModelRegistry
from backend.testing import LiveBackend
from trainer import retrain
from trainer.gate import GateSets, compare, run_gate
from trainer.losses import FacetWeights
from trainer.train import TrainResult

REPO = Path(__file__).resolve().parents[2]
BUNDLED = REPO / "models" / "bundled"
REALWEB = REPO.parent / "shared" / "data" / "realweb"


def test_a_figure_worse_beyond_its_tolerance_refuses_and_says_which():
    tolerances = {"a.share": (+1, 0.01), "b.share": (-1, 0.01), "c.share": (+1, 0.0)}
    before = {"a.share": 0.50, "b.share": 0.10, "c.share": 0.3}
    assert compare(before, {"a.share": 0.495, "b.share": 0.105, "c.share": 0.3}, tolerances).passed
    assert compare(before, {"a.share": 0.9, "b.share": 0.0, "c.share": None}, tolerances).passed  # better; None: unmeasured
    decision = compare(before, {"a.share": 0.40, "b.share": 0.30, "c.share": 0.3}, tolerances)
    assert not decision.passed and len(decision.failures) == 2
    assert decision.failures[0].startswith("a.share 0.500 -> 0.400 (worse by 0.100")
    assert decision.failures[1].startswith("b.share 0.100 -> 0.300")


@pytest.fixture(scope="module")
def small_corpus(tmp_path_factory) -> Path:
    """A generated corpus small enough for a test (its test split is what the gate reads)."""
    out = tmp_path_factory.mktemp("corpus") / "corpus"
    subprocess.run([sys.executable, "-m", "corpus", "--out", str(out), "--seed", "3", "--size", "200", "--quiet"],
                   check=True, cwd=REPO)
    return out


def damaged(tiny_onnx: Path, where: Path) -> Path:
    """A candidate that lost its training: untrained weights, packaged with the bundled model's known world."""
    shutil.copytree(tiny_onnx, where)
    info = json.loads((BUNDLED / "altlens.json").read_text())
    (where / "altlens.json").write_text(json.dumps({"trained": True, "known_world": info["known_world"]}))
    return where


def test_the_gate_s_reads_keep_the_title_the_backend_says_and_an_older_cache_is_read_anew(tmp_path):
    from PIL import Image

    from backend.ocr import TextRead
    from trainer.gate import OcrCache

    class Reader:  # the backend's reader, counted
        calls = 0

        def read_with_title(self, image, limit):
            Reader.calls += 1
            return TextRead("Sign in Buy a tree permit Cut your own", "Buy a tree permit")

    path, image = tmp_path / "ocr.json", Image.new("RGB", (300, 200), "white")
    path.write_text(json.dumps({"0" * 64: "text alone, as caches were before titles"}))
    cache = OcrCache(path, enabled=True)
    assert cache.reads == {}  # the older format is not trusted
    cache._reader = Reader()
    assert cache.read(image, b"page", 80) == TextRead("Sign in Buy a tree permit Cut your own", "Buy a tree permit")
    cache.save()
    again = OcrCache(path, enabled=True)
    assert again.read(image, b"page", 80).title == "Buy a tree permit" and Reader.calls == 1  # from disk
    assert again.read(image, b"page", 80).text == "Sign in Buy a tree permit Cut your own"
    assert OcrCache(path, enabled=False).read(image, b"page").text == ""


def test_the_gate_refuses_a_damaged_candidate_and_passes_an_equal_one(small_corpus, tiny_onnx, tmp_path):
    sets = GateSets(realweb=REALWEB, realweb_per_set=4, corpus=small_corpus, ocr=False, cache_dir=tmp_path / "gate")
    before, after, decision, _ = run_gate(BUNDLED, "bundled", damaged(tiny_onnx, tmp_path / "bad"), sets)
    assert not decision.passed
    assert any(f.startswith("corpus.") for f in decision.failures), decision.failures
    assert before["corpus.acc[decorative]"] > after["corpus.acc[decorative]"] or \
        before["corpus.CIDEr"] > after["corpus.CIDEr"]
    assert before["realweb.images"] == after["realweb.images"] > 0
    # the served model's figures are cached by version; an identical candidate passes
    assert list((tmp_path / "gate").glob("served-bundled-*.json"))
    same = shutil.copytree(BUNDLED, tmp_path / "same", ignore=shutil.ignore_patterns("pytorch"))
    again, equal, decision, _ = run_gate(BUNDLED, "bundled", same, sets)
    assert decision.passed and again == before and equal == before


def test_a_round_replays_the_corpus_it_was_built_on_and_goes_on_with_its_recipe(small_corpus, tmp_path, caplog):
    corpus = shutil.copytree(small_corpus, tmp_path / "corpus")
    settings = retrain.RetrainSettings(database_url="sqlite://", models_dir=tmp_path / "m", work_dir=tmp_path / "w",
                                       replay_corpus=corpus, corpus_replay_ratio=1.5, seed=3)
    assert retrain.corpus_replay(settings, 10) == []  # no OCR readings yet: nothing, and it says so
    assert "no corpus with its OCR cache" in caplog.text
    train_images = {json.loads(line)["image_path"] for line in (corpus / "train.jsonl").read_text().splitlines()}
    (corpus / "ocr.json").write_text(json.dumps({name: "" for name in train_images}))
    replayed = retrain.corpus_replay(settings, 10)
    assert len(replayed) == 15 and len({(e.source, e.rejected) for e in replayed}) == 15  # no pair twice
    assert {str(Path(e.image_path).relative_to(corpus)) for e in replayed} <= train_images
    assert retrain.corpus_replay(dataclasses.replace(settings, corpus_replay_ratio=0), 10) == []
    # the bundled model's preference stage: response and image facets, swapped images, the NLL anchor
    recipe = retrain.recipe_of(BUNDLED / "pytorch")
    assert recipe["facet_weights"].r2 == 2.0 and recipe["facet_weights"].r1 == 0.0
    assert recipe["corruption"] == "swap" and recipe["rpo_alpha"] == 1.0
    assert retrain.recipe_of(tmp_path) == {}  # unknown: TrainConfig's defaults
    paper = retrain.recipe_of(BUNDLED / "pytorch", facets="paper")
    assert paper["facet_weights"] == FacetWeights() and paper["corruption"] == "swap"  # all seven, same negatives


def test_retrain_refuses_a_damaged_candidate_with_its_figures_and_publishes_a_good_one(
        small_corpus, tiny_checkpoint, sample_dir, tmp_path, monkeypatch):
    from tests.trainer.test_retrain import make_pairs, runs

    root = tmp_path / "models"
    ModelRegistry(root).publish(BUNDLED)
    backend = LiveBackend(models_dir=root, database_url=f"sqlite:///{tmp_path / 'altlens.db'}",
                          log_path=tmp_path / "backend.log")
    backend.init("gate").start()
    try:
        make_pairs(backend, sample_dir)
        settings = retrain.RetrainSettings(
            database_url=backend.database_url, models_dir=root, work_dir=tmp_path / "work", min_new_pairs=4,
            holdout_percent=40, gate_tolerance=1000.0,  # the pairs' gate lets both through: the users' gate decides
            gate_realweb=REALWEB, gate_realweb_per_set=4, gate_corpus=small_corpus, gate_ocr=False, device="cpu",
            corpus_replay_ratio=0)

        def trained_into(model_dir: Path):
            return lambda cfg, examples, **kwargs: TrainResult(model_dir, 1, [])

        monkeypatch.setattr("trainer.train.train", trained_into(tiny_checkpoint))  # damaged: its training lost
        outcome = retrain.run_once(settings)
        assert outcome.decision.startswith("rejected: candidate worse than v0001 for users: corpus.")
        [refused] = runs(backend)
        assert refused["version"] is None and refused["after"]["gate"]["sets"] == ["realweb", "corpus"]
        assert refused["before"]["realweb.hidden_share"] is not None and "corpus.CIDEr" in refused["after"]
        assert ModelRegistry(root).versions() == ["v0001"]

        monkeypatch.setattr("trainer.train.train", trained_into(BUNDLED / "pytorch"))  # as good as the served one
        outcome = retrain.run_once(settings)
        assert outcome.published_version == "v0002", outcome.decision
        assert runs(backend)[-1]["after"]["gate"]["reasons"] == "no gated figure worse beyond tolerance"
        deadline = time.time() + 60
        while requests.get(backend.url + "/api/v1/model", timeout=10).json()["version"] != "v0002":
            assert time.time() < deadline, "backend never picked up v0002"
            time.sleep(0.5)
    finally:
        backend.stop()
