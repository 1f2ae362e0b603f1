"""``python -m eval_harness`` end to end on the paper's sample data and on a corpus written here."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from eval_harness.__main__ import main
from eval_harness.runner import PredictionsFile, load_eval_set, open_describer

SAMPLE = Path("/work/shared/data/mcmdpo-sample")
TWITTER = SAMPLE / "twitter" / "twitter_train.json"
PINTEREST = SAMPLE / "pinterest" / "pinterest_train.json"


@pytest.fixture(scope="module")
def sample_set():
    if not TWITTER.is_file():
        pytest.fail(f"the shared sample data is missing: {TWITTER}")
    return load_eval_set([TWITTER, PINTEREST])


def test_sample_loads_with_stable_ids_and_unlabelled_decorativeness(sample_set):
    assert len(sample_set) == 20
    assert len({e.id for e in sample_set}) == 20
    first = sample_set[0]
    assert first.id == "twitter_train:30"
    assert first.reference.texts[0].startswith("Smiling basketball player")
    assert first.reference.decorative is None  # the paper's data never says
    assert "NBA" in first.context.surrounding_text


def test_end_to_end_models_and_predictions_in_one_table(sample_set, tiny_onnx, tiny_checkpoint, tmp_path):
    preds = tmp_path / "rejected.jsonl"
    preds.write_text("".join(json.dumps({"id": e.id, "prediction": e.example.rejected}) + "\n" for e in sample_set))
    out = tmp_path / "report"
    code = main(["--data", str(TWITTER), str(PINTEREST), "--model", f"onnx={tiny_onnx}",
                 "--model", f"torch={tiny_checkpoint}", "--predictions", f"rejected={preds}",
                 "--out", str(out), "--bootstrap", "30"])
    assert code == 0
    result = json.loads((out / "results.json").read_text())
    assert [s["name"] for s in result["systems"]] == ["onnx", "torch", "rejected"]
    assert all(s["examples"] == 20 for s in result["systems"])
    assert [c["system"] for c in result["comparisons"]] == ["torch", "rejected"]
    rejected = result["systems"][2]["scores"]
    # the paper's rejected answers are real alt text about the same images: they overlap the chosen ones
    assert 0.1 < rejected["BLEU-1"] < 1 and rejected["CIDEr"] > 0
    assert "| METEOR |" in (out / "report.md").read_text()
    assert (out / "metrics.png").stat().st_size > 1000
    # generated answers are saved in the predictions format and score identically when read back
    saved = out / "predictions-onnx.jsonl"
    lines = [json.loads(x) for x in saved.read_text().splitlines()]
    assert len(lines) == 20 and {"id", "prediction", "decorative", "reference"} <= set(lines[0])
    again = tmp_path / "again"
    main(["--data", str(TWITTER), str(PINTEREST), "--predictions", f"onnx={saved}", "--out", str(again),
          "--bootstrap", "0"])
    rescored = json.loads((again / "results.json").read_text())["systems"][0]["scores"]
    assert rescored == result["systems"][0]["scores"]


def write_corpus(folder: Path) -> Path:
    """Three records in the project's corpus format: an image of text, a photo and a spacer."""
    rows = []
    for name, category, reference, decorative in [("home.png", "text", "HOME", False),
                                                  ("dog.png", "photo", "A dog on grass", False),
                                                  ("spacer.png", "decorative", "", True)]:
        Image.new("RGB", (24, 24), (200, 10, 10)).save(folder / name)
        rows.append({"id": name.split(".")[0], "image_path": name, "context": {"page_title": "t"},
                     "category": category, "reference": reference, "decorative": decorative,
                     "rejected": ["picture", "image"]})
    path = folder / "corpus.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_corpus_format_brings_categories_and_decorative_labels(tmp_path):
    corpus = write_corpus(tmp_path)
    examples = load_eval_set([corpus])
    assert [e.id for e in examples] == ["corpus:home", "corpus:dog", "corpus:spacer"]  # one per record
    assert [e.reference.decorative for e in examples] == [False, False, True]
    preds = tmp_path / "p.jsonl"
    preds.write_text("\n".join(json.dumps(p) for p in [
        {"id": "corpus:home", "prediction": "Home"}, {"id": "corpus:dog", "prediction": "a cat"},
        {"id": "corpus:spacer", "prediction": "", "decorative": True}]))
    main(["--data", str(corpus), "--predictions", str(preds), "--out", str(tmp_path / "r"), "--bootstrap", "10"])
    scores = json.loads((tmp_path / "r" / "results.json").read_text())["systems"][0]["scores"]
    assert scores["exact_match_text"] == 1.0
    assert scores["decorative_agreement"] == 1.0
    assert scores["decorative_rate"] == pytest.approx(1 / 3)


def test_corpus_references_are_the_clean_labels_not_the_noisy_sft_targets(tmp_path):
    # Two of the corpus's defects change decorativeness: alt="" on a meaningful image and a description
    # written for a spacer. The reference must be the record's correct alt and label, as compare scores it.
    rows = [{"id": "home", "reference": "HOME", "decorative": False, "sft_target": "", "sft_defect": "empty"},
            {"id": "spacer", "reference": "", "decorative": True, "sft_target": "a thin grey line",
             "sft_defect": "described_decorative"}]
    for row in rows:
        Image.new("RGB", (24, 24), (200, 10, 10)).save(tmp_path / f"{row['id']}.png")
        row.update(image_path=f"{row['id']}.png", context={"page_title": "t"}, category="text", rejected=["image"])
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text("".join(json.dumps(r) + "\n" for r in rows))
    examples = load_eval_set([corpus])
    assert [(e.reference.texts, e.reference.decorative) for e in examples] == [(["HOME"], False), ([""], True)]


def test_predictions_file_must_cover_every_example(tmp_path, sample_set):
    preds = tmp_path / "p.jsonl"
    preds.write_text(json.dumps({"id": sample_set[0].id, "prediction": "x"}) + "\n")
    with pytest.raises(KeyError, match="no prediction for 19"):
        PredictionsFile(preds).describe(sample_set)


def test_unknown_system_is_refused(tmp_path):
    with pytest.raises(ValueError, match="not a predictions"):
        open_describer(str(tmp_path))
