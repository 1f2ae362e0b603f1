"""Keyboard-only feedback: shortcut on a focused image link, then the feedback window,
ending as the PreferencePair rows DESIGN.md §4 prescribes."""
from __future__ import annotations

import time

from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from tests.e2e.conftest import wait_for_marks


def focused(page) -> dict:
    return page.evaluate("""() => { const e = document.activeElement;
      return {id: e.id, tag: e.localName, text: (e.textContent || '').trim(), name: e.getAttribute('aria-label') || ''}; }""")


def tab_to(page, element_id: str, limit: int = 40) -> None:
    """Press Tab until the element has focus (asserting it is reachable by keyboard)."""
    for _ in range(limit):
        if page.evaluate("document.activeElement.id") == element_id:
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"#{element_id} not reachable with Tab; focus on {focused(page)}")


def wait_status(panel, prefix: str, timeout: float = 15.0) -> str:
    deadline = time.time() + timeout
    text = ""
    while time.time() < deadline:
        text = panel.locator("#status").inner_text()
        if text.startswith(prefix):
            return text
        time.sleep(0.1)
    raise AssertionError(f"status {text!r}, wanted {prefix!r}")


def test_keyboard_feedback_round_trip(ext, site):
    from backend.models import Generation, PreferencePair

    page = ext.open(site + "/kinds.html")
    wait_for_marks(page, ["img-in-link"])
    page.bring_to_front()
    tab_to(page, "link-only")
    with ext.context.expect_page(timeout=15000) as opened:
        page.keyboard.press("Alt+Shift+D")
    panel = opened.value
    panel.wait_for_selector("body[data-ready=true]")
    assert "ui/panel.html" in panel.url
    # Focus lands on the heading that reads the description out.
    assert panel.evaluate("document.activeElement.id") == "detail-heading"
    generated_alt = attr_alt = page.evaluate("document.getElementById('img-in-link').alt")
    assert panel.locator("#detail-heading").inner_text() == "Description: " + attr_alt

    tab_to(panel, "rate-up")
    panel.keyboard.press("Enter")
    wait_status(panel, "Thanks: rated as a good")

    tab_to(panel, "correct-text")
    panel.keyboard.type("Shopping cart")
    tab_to(panel, "correct-send")
    panel.keyboard.press("Enter")
    wait_status(panel, "Thanks: your description was sent")
    # The correction is now what the page says.
    deadline = time.time() + 5
    while time.time() < deadline and page.evaluate("document.getElementById('img-in-link').alt") != "Shopping cart":
        time.sleep(0.1)
    assert page.get_by_role("link", name="Shopping cart", exact=True).count() == 1

    with Session(create_engine(ext.backend.database_url)) as db:
        # Several images of the page may share one answer ("No description available"): the generation
        # this feedback was on is the one the correction's pair names.
        corrected = db.scalars(select(PreferencePair).where(PreferencePair.chosen == "Shopping cart")).one()
        generation = db.get(Generation, corrected.generation_id)
        assert generation is not None
        assert generation.description == generated_alt.removeprefix("Possibly: ")
        candidates = list(generation.candidates or [])

    # A correction or a pick is paired against what the model said, which is not what was heard where
    # the backend said its honest form instead (backend/preferences.py).
    said = generation.model_answer if generation.model_answer is not None else generation.description
    expected = {("Shopping cart", said)}
    if candidates:
        lower = [c for c in candidates if c.strip() != generation.description.strip()]
        if lower:
            expected.add((generation.description, lower[-1]))
        tab_to(panel, "candidate-0")
        tab_to(panel, "pick-send")
        panel.keyboard.press("Enter")
        wait_status(panel, "Thanks: your choice")
        if candidates[0].strip() != generation.description.strip():
            if candidates[0].strip() != said.strip():
                expected.add((candidates[0], said))  # the pick
            expected.add((candidates[0], generation.description))  # the choice between the two shown
            tab_to(panel, "choose-b")
            panel.keyboard.press("Enter")
            wait_status(panel, "Thanks: option B")
    else:
        assert panel.locator("#pick-form").is_hidden() and panel.locator("#choose").is_hidden()

    with Session(create_engine(ext.backend.database_url)) as db:
        pairs = db.scalars(select(PreferencePair).where(PreferencePair.generation_id == generation.id)).all()
        got = {(p.chosen, p.rejected) for p in pairs}
        kinds = sorted(p.kind for p in pairs)
    assert got == expected, (got, expected, kinds)
    assert "correct" in kinds
