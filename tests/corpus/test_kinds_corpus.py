"""The kind recogniser's pictures (corpus/kinds.py): real assets of each kind, reproducible from the seed,
at the sizes pages show them. Screenshots are taken in the real Chromium."""
import random

from backend.kinds import KINDS
from corpus import kinds


def test_every_kind_is_drawn_from_its_assets_and_the_seed_fixes_the_pictures():
    first = kinds.kind_examples(seed=3, per_kind=2, progress=lambda _: None)
    assert [e.kind for e in first] == [k for k in KINDS for _ in range(2)]
    photos = [e for e in first if e.kind == "photo"]
    assert {e.source for e in photos} <= {p.name for p in kinds.photo_paths()}
    assert all(e.image.width >= 16 and e.image.height >= 4 for e in first)
    again = kinds.kind_examples(seed=3, per_kind=2, progress=lambda _: None)
    for a, b in zip(first, again):
        if a.kind != "screenshot":  # Chromium's text rendering may differ by a pixel between runs
            assert a.source == b.source and a.image.tobytes() == b.image.tobytes()


def test_documents_and_app_pages_are_made_of_real_words():
    docs = kinds.documents()
    words = kinds.phrases(docs)
    assert len(docs) >= 20 and len(words) >= 100
    html = kinds.app_page(random.Random(0), words, kinds.photo_paths())
    assert "<nav" in html and any(w in html for w in words)


def test_screenshots_are_taken_while_the_caller_holds_a_playwright_session():
    """`make model` or a test suite may already run Playwright's sync API (an asyncio loop) in this thread."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=kinds.CHROMIUM, args=["--no-sandbox"])
        shots = kinds.screenshots(random.Random(0), 2, kinds.documents())
        browser.close()
    assert [e.kind for e in shots] == ["screenshot", "screenshot"] and all(e.image.width >= 16 for e in shots)
