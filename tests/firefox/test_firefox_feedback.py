"""In Firefox, keyboard only: the shortcut on a focused image link opens the feedback
window, and rating, correcting, picking and choosing there end as the PreferencePair
rows of DESIGN.md §4 in the real database."""
from __future__ import annotations

from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session


def wait_status(ff, prefix: str) -> str:
    """Wait for the live region (role=status) to announce `prefix`."""
    expr = f"(() => {{ const t = document.getElementById('status').textContent; return t.startsWith({prefix!r}) && t; }})()"
    try:
        return ff.wait_for(expr, timeout_ms=15000)
    except Exception:
        raise AssertionError(f"status {ff.eval('document.getElementById(`status`).textContent')!r}, "
                             f"wanted {prefix!r}") from None


def test_keyboard_feedback_round_trip_in_firefox(ff, site):
    from backend.models import Generation, PreferencePair

    ff.goto(site + "/kinds.html")
    ff.wait_for_marks(["img-in-link"])
    generated_alt = ff.attr("img-in-link", "alt")
    ff.tab_to("link-only")
    ff.press("Alt+Shift+D")
    assert "ui/panel.html" in ff.wait_page("panel", "ui/panel.html")
    ff.use_page("panel")
    ff.wait_for("document.body.dataset.ready === 'true'")
    # Focus lands on the heading that reads the description out; every control has a name.
    assert ff.active_id() == "detail-heading"
    assert ff.eval("document.getElementById('detail-heading').textContent") == "Description: " + generated_alt
    assert {"rate-up", "rate-down", "correct-send"} <= {n["own_id"] for n in ff.ax_nodes(role="button")}
    assert "rate-up" in {n["own_id"] for n in ff.ax_nodes(role="button", name="Good description")}

    ff.tab_to("rate-up")
    ff.press("Enter")
    wait_status(ff, "Thanks: rated as a good")

    ff.tab_to("correct-text")
    ff.type("Shopping cart")
    ff.tab_to("correct-send")
    ff.press("Enter")
    wait_status(ff, "Thanks: your description was sent")

    with Session(create_engine(ff.backend.database_url)) as db:
        # Several images of the page may share one answer ("No description available"): the generation
        # this feedback was on is the one the correction's pair names.
        corrected = db.scalars(select(PreferencePair).where(PreferencePair.chosen == "Shopping cart")).one()
        generation = db.get(Generation, corrected.generation_id)
        assert generation is not None
        assert generation.description == generated_alt.removeprefix("Possibly: ")
        candidates = list(generation.candidates or [])

    # A correction or a pick is paired against what the model said (backend/preferences.py).
    said = generation.model_answer if generation.model_answer is not None else generation.description
    expected = {("Shopping cart", said)}
    lower = [c for c in candidates if c.strip() != generation.description.strip()]
    if lower:
        expected.add((generation.description, lower[-1]))  # thumbs up: generated over a lower-ranked one
    if candidates:
        ff.tab_to("candidate-0")
        ff.tab_to("pick-send")
        ff.press("Enter")
        wait_status(ff, "Thanks: your choice")
        if candidates[0].strip() != generation.description.strip():
            if candidates[0].strip() != said.strip():
                expected.add((candidates[0], said))  # the pick
            expected.add((candidates[0], generation.description))  # the choice between the two shown
            ff.tab_to("choose-b")
            ff.press("Enter")
            wait_status(ff, "Thanks: option B")
    else:
        assert ff.eval("document.getElementById('pick-form').hidden && document.getElementById('choose').hidden")
    assert ff.errors() == []

    # The correction is now what the page (and Firefox's accessibility tree) says.
    ff.use_page("main")
    ff.wait_for("document.getElementById('img-in-link').alt === 'Shopping cart'", timeout_ms=5000)
    assert "link-only" in {n["own_id"] for n in ff.ax_nodes(role="link", name="Shopping cart")}
    assert ff.errors() == []

    with Session(create_engine(ff.backend.database_url)) as db:
        pairs = db.scalars(select(PreferencePair).where(PreferencePair.generation_id == generation.id)).all()
        got = {(p.chosen, p.rejected) for p in pairs}
        kinds = sorted(p.kind for p in pairs)
    assert got == expected, (got, expected, kinds)
    assert "correct" in kinds
