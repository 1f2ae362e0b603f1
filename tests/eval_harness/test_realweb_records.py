"""Real-web records: the manifest format, the context a page gives, and seeded slices."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from eval_harness.realweb.records import DEFAULT_ROOT, load, page_context, read_manifest

ROW = {"repo": "o/r", "page": "blog/a.md", "page_title": "Tacos", "lang": "en", "image": "img/t.jpg",
       "image_file": "images/img__t.jpg", "alt": "A taco", "split": "dev", "kind": "photo", "heading": "Lunch",
       "figcaption": "Our lunch", "link_href": None, "context": "We cooked. [IMAGE] It was good.",
       "context_has_alt": False, "width": 800, "height": 600}


def write(tmp_path: Path, *rows: dict) -> Path:
    folder = tmp_path / "site"
    folder.mkdir()
    (folder / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return folder / "manifest.jsonl"


def test_a_record_gives_the_context_its_page_gives(tmp_path):
    [record] = read_manifest(write(tmp_path, ROW))
    context = page_context(record)
    assert (context.page_title, context.heading, context.caption) == ("Tacos", "Lunch", "Our lunch")
    assert context.surrounding_text == "We cooked. It was good."
    assert context.file_name == "t.jpg" and (context.width, context.height) == (800, 600)
    assert not context.control_role


def test_a_page_that_quotes_its_alt_gives_no_text_around_it(tmp_path):
    [record] = read_manifest(write(tmp_path, dict(ROW, context_has_alt=True, context="A taco [IMAGE]")))
    context = page_context(record)
    assert context.page_title == "Tacos" and not (context.surrounding_text or context.caption or context.heading)


def test_links_keep_the_authors_structure(tmp_path):
    decorative, informative = read_manifest(write(
        tmp_path, dict(ROW, alt="", link_href="/video", context="[IMAGE] Keyboard video. More text"),
        dict(ROW, link_href="/print", alt="Print this page")))
    assert page_context(decorative).control_text == "Keyboard video."  # the link's own text, as the page has it
    assert not page_context(decorative).only_content
    assert page_context(informative).only_content and page_context(informative).control_text == ""


def test_a_line_without_its_fields_is_an_error(tmp_path):
    with pytest.raises(ValueError, match="missing"):
        read_manifest(write(tmp_path, {"page": "x"}))


def test_a_seeded_slice_is_the_same_every_time():
    first = load([DEFAULT_ROOT], per_set=3, seed=1)
    assert [r.id for r in first] == [r.id for r in load([DEFAULT_ROOT], per_set=3, seed=1)]
    assert len(first) == 3 * 3 * 2 and {r.split for r in first} == {"dev", "test"}
