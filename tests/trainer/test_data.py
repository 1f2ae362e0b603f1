"""Loaders: the paper's sample read as published, the project's formats, bad records skipped."""
from __future__ import annotations

import base64
import json
import logging
import shutil

import pytest

from backend.modelinput import FIELD_LIMITS, clean_text
from trainer.data import (PreferenceExample, context_from_question, detect_format, load_corpus, load_examples,
                          load_pairs, load_paper)


@pytest.mark.parametrize("name", ["twitter", "pinterest"])
def test_paper_sample_is_read_unchanged(sample_dir, name):
    path = sample_dir / name / f"{name}_train.json"
    raw = json.loads(path.read_text())
    result = load_paper(path)
    assert result.skipped == 0 and result.problems == []
    assert len(result) == len(raw) == 10
    for example, record in zip(result, raw):
        text = json.loads(record["text"])
        assert example.chosen == text["chosen"] and example.rejected == text["rejected"]
        assert example.image_path == (path.parent / "images" / record["image_path"]).resolve()
        post = text["question"].split(":", 1)[1]  # everything after the prompt's "Context:"
        assert example.context.surrounding_text == clean_text(post, FIELD_LIMITS["surrounding_text"])
        assert not example.context.surrounding_text.lower().startswith("given an image")
        assert example.meta["idx"] == record["idx"] and example.source == f"{path}#{raw.index(record)}"
    image = result.examples[0].load_image()
    assert image.mode == "RGB" and min(image.size) > 0


@pytest.mark.parametrize("question, post", [
    ("Given an image and context, generate alt-text for the image.Context:\nA cat.", "A cat."),
    ("given an image and context, generate alt-text for the image.\ncontext:\na cat.", "a cat."),
    ("given an image and context, generate alt-text for the image.context:a cat.", "a cat."),
    ("Just a post without the prompt", "Just a post without the prompt"),
])
def test_post_text_is_extracted_from_every_prompt_spelling(question, post):
    assert context_from_question(question).surrounding_text == post


def test_long_post_text_is_bounded():
    ctx = context_from_question("Given an image and context, generate alt-text for the image.Context:\n" + "x" * 5000)
    assert len(ctx.surrounding_text) == FIELD_LIMITS["surrounding_text"]


def test_paper_test_layout_jsonl_has_no_rejected(sample_dir, tmp_path, write_jsonl):
    raw = json.loads((sample_dir / "twitter" / "twitter_train.json").read_text())[:3]
    (tmp_path / "images").mkdir()
    lines = []
    for record in raw:
        shutil.copy(sample_dir / "twitter" / "images" / record["image_path"], tmp_path / "images")
        text = json.loads(record["text"])
        lines.append({"image_path": record["image_path"], "question": text["question"],
                      "chosen": text["chosen"], "idx": record["idx"]})
    path = write_jsonl(tmp_path / "twitter_test.json", lines)
    result = load_paper(path)
    assert [e.chosen for e in result] == [line["chosen"] for line in lines]
    assert all(e.rejected is None and not e.is_pair for e in result)
    assert detect_format(path) == "paper"


def test_paper_repository_layout_image_folder(tmp_path, write_image, write_jsonl):
    """In LVUGAI/MCM-DPO, images of ``x_test.json`` live in ``image/x_test/``."""
    write_image(tmp_path / "image" / "x_test" / "a.png")
    path = write_jsonl(tmp_path / "x_test.json", [{"image_path": "a.png", "question": "q", "chosen": "c", "idx": 1}])
    assert load_paper(path).examples[0].image_path == (tmp_path / "image" / "x_test" / "a.png").resolve()


def test_bad_records_are_reported_and_skipped(tmp_path, write_image, write_jsonl, caplog):
    write_image(tmp_path / "images" / "good.png")
    (tmp_path / "images" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really a png")
    good = {"image_path": "good.png", "question": "q", "chosen": "a red bicycle", "idx": 0}
    path = write_jsonl(tmp_path / "test.json", [
        good,
        {**good, "image_path": "missing.png"},
        {**good, "chosen": "   "},
        {**good, "image_path": "broken.png"},
        '{"image_path": "good.png", "question": ',  # truncated line
        "[1, 2]",  # not an object
        {**good, "chosen": None},
        {**good, "idx": 7},
    ])
    with caplog.at_level(logging.WARNING, logger="trainer.data"):
        result = load_paper(path)
    assert [e.meta["idx"] for e in result] == [0, 7]
    assert result.skipped == 6 and len(result.problems) == 6
    reasons = " | ".join(result.problems)
    for expected in ("missing image", "chosen is empty", "unreadable image", "not valid JSON",
                     "not an object", "chosen is missing"):
        assert expected in reasons
    assert sum("skipped" in r.message for r in caplog.records) == 6


def test_unreadable_data_files_are_reported_not_raised(tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text("[{\"text\": ")
    result = load_paper(broken)
    assert len(result) == 0 and result.skipped == 1 and "not valid JSON" in result.problems[0]
    result = load_examples(tmp_path / "absent.jsonl", broken)
    assert len(result) == 0 and result.skipped == 2


def test_corpus_rows_become_one_example_per_rejected_text(tmp_path, write_image, write_jsonl):
    """corpus/generate.py's layout; an empty text means alt="" (decorative)."""
    write_image(tmp_path / "images" / "cart.png")
    write_image(tmp_path / "images" / "spacer.png", seed=1)
    path = write_jsonl(tmp_path / "train.jsonl", [
        {"id": "s0-000001", "image_path": "images/cart.png", "html": "<a href=/cart><img src=cart.png></a>",
         "context": {"control_role": "link", "control_href": "/cart", "only_content": True, "bogus": 1},
         "category": "functional", "reference": "Shopping cart", "decorative": False,
         "sft_target": "Shopping cart", "sft_defect": None, "rejected": ["a picture of a cart", ""]},
        {"id": "s0-000002", "image_path": "images/spacer.png", "html": "<img src=spacer.png>", "context": {},
         "category": "decorative", "reference": "", "decorative": True, "sft_target": "", "rejected": []},
        {"id": "s0-000003", "image_path": "images/none.png", "context": {}, "decorative": False,
         "sft_target": "x", "rejected": []},
        {"id": "s0-000004", "image_path": "images/cart.png", "context": {}, "decorative": False,
         "sft_target": "x", "rejected": [None]},
    ])
    result = load_corpus(path)
    assert result.skipped == 2
    assert "missing image" in result.problems[0] and "rejected[0]" in result.problems[1]
    cart = [e for e in result if e.meta["category"] == "functional"]
    assert [(e.chosen, e.chosen_decorative, e.rejected, e.rejected_decorative) for e in cart] == [
        ("Shopping cart", False, "a picture of a cart", False), ("Shopping cart", False, "", True)]
    assert cart[0].context.control_role == "link" and cart[0].context.only_content is True
    spacer = [e for e in result if e.meta["category"] == "decorative"]
    assert len(spacer) == 1 and spacer[0].chosen_decorative and spacer[0].rejected is None
    assert detect_format(path) == "corpus"


def test_backend_export_pairs_with_base64_paths_and_data_urls(tmp_path, write_image, write_jsonl):
    """``flask export-pairs`` layout: image_base64 or an absolute image_path, provenance with ocr_text."""
    stored = write_image(tmp_path / "stored" / "a.png")
    png = stored.read_bytes()
    b64 = base64.b64encode(png).decode()
    base = {"context": {"page_title": "Shop"}, "chosen": "Search", "rejected": "magnifying glass",
            "chosen_decorative": False, "rejected_decorative": False, "weight": 1.0, "image_sha256": "ab",
            "provenance": {"pair_id": 3, "kind": "correction", "ocr_text": "GO", "client": "c1"}}
    path = write_jsonl(tmp_path / "pairs.jsonl", [
        {**base, "image_base64": b64},
        {**base, "image_path": str(stored.resolve()), "weight": 0.3},
        {**base, "image": "data:image/png;base64," + b64, "rejected": "", "rejected_decorative": True},
        {**base, "image": "no such file and not base64!"},
        {**base, "image_base64": b64, "weight": -1},
        {**base, "image_base64": b64, "rejected": ""},  # empty but not marked decorative
        {**base, "image_base64": base64.b64encode(b"garbage").decode()},
        {**base},  # no image at all
    ])
    result = load_pairs(path)
    assert len(result) == 3 and result.skipped == 5
    assert result.examples[0].image_bytes == png and result.examples[0].image_path is None
    assert result.examples[1].image_path == stored.resolve() and result.examples[1].weight == 0.3
    assert result.examples[2].image_bytes == png and result.examples[2].rejected_decorative
    assert all(e.meta["provenance"]["pair_id"] == 3 and e.ocr_text == "GO" for e in result)
    assert all(e.context.page_title == "Shop" for e in result)
    assert result.examples[0].load_image().size == (20, 16)
    assert detect_format(path) == "pairs"


def test_load_examples_merges_formats(sample_dir, tmp_path, write_image, write_jsonl):
    write_image(tmp_path / "a.png")
    pairs = write_jsonl(tmp_path / "pairs.jsonl", [
        {"image_path": "a.png", "context": {}, "chosen": "Next page", "rejected": "arrow", "weight": 1}])
    result = load_examples(sample_dir / "twitter" / "twitter_train.json", pairs)
    assert len(result) == 11 and result.skipped == 0
    assert isinstance(result.examples[-1], PreferenceExample) and result.examples[-1].chosen == "Next page"
