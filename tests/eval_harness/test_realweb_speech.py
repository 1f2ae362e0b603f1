"""The speech level without Orca: Orca's words parsed, stops matched to the tree, answers judged, and
the spoken sequences quoted in the report (utterances as Orca 43 said them, tests/screenreader/README.md)."""
from __future__ import annotations

from pathlib import Path

import pytest

from backend.honest import NO_DESCRIPTION
from eval_harness.realweb.pages_level import Heard, PageState
from eval_harness.realweb.records import Record
from eval_harness.realweb.report import render_markdown, summarise
from eval_harness.realweb.speech_level import PageSpeech, Stop, answers_for, match_stops, parse_stop, spoken_sequence
from eval_harness.realweb.summary import judge_all


@pytest.mark.parametrize("utterances, name, role", [
    (["A red bicycle leaning on a brick wall image."], "A red bicycle leaning on a brick wall", "image"),
    (["Shopping cart image link."], "Shopping cart", "image link"),
    (["Possibly: Free shipping image."], "Possibly: Free shipping", "image"),
    (["Unlabeled image."], "", "image"),
    (["To get missing image descriptions, open the context menu. Unlabeled image."], "", "image"),
    (["image."], "", "image"),
    (["figure", "Leaving list.", "A chart of sales image."], "A chart of sales", "image"),
    # Orca's stale role description after the name comes off it, and the stop says it was there.
    (["Possibly: A badge Unlabeled image."], "Possibly: A badge", "image"),
    (["heading level 2", "Contact us"], "", ""),
])
def test_orcas_role_words_come_off_the_name(utterances, name, role):
    stop = parse_stop(utterances)
    assert (stop.name, stop.role) == (name, role)
    assert stop.said == " ".join(utterances)
    assert stop.stale == (bool(name) and utterances[-1].endswith(" Unlabeled image."))


def stop(name: str, role: str = "image") -> Stop:
    return Stop(f"{name} {role}.".strip(), name, role)


def test_stops_are_matched_in_document_order_and_extra_ones_kept_apart():
    exposed = [("a", "Logo"), ("b", "Chart"), ("c", "Logo"), ("d", "")]
    matched, unmatched = match_stops([stop("Logo"), stop("Something else"), stop("Logo"), stop("")], exposed)
    assert {k: v.name for k, v in matched.items()} == {"a": "Logo", "c": "Logo", "d": ""}
    assert [s.name for s in unmatched] == ["Something else"]


def record(n: int, alt: str, **kw) -> Record:
    return Record("set", f"set:{n}", Path(f"/img/{n}.png"), alt, "dev", page="p.md", page_title="A page",
                  context="Bikes for sale [IMAGE] today.", width=200, height=100, **kw)


def heard_page() -> PageSpeech:
    records = [record(1, "A red bike on a wall"), record(2, ""), record(3, "Company logo"), record(4, "A chart"),
               record(5, "Sales by month"), record(6, "")]
    marks = ["generated", "decorative", "decorative", "generated", "", "generated"]
    names = ["Possibly: A red bike", "", "", NO_DESCRIPTION, "", "Sunset over hills"]
    heard = {r.id: Heard("image", n, ignored=m == "decorative") for r, m, n in zip(records, marks, names)}
    states = {r.id: PageState(r.id, m, True, (200, 100), (200, 100)) for r, m in zip(records, marks)}
    stops = [stop("Possibly: A red bike"), stop(NO_DESCRIPTION), parse_stop(["Unlabeled image."]),
             stop("Sunset over hills")]
    page = PageSpeech("0001-p.html", "A page", records, stops, heard, states)
    exposed = [(r.id, heard[r.id].name) for r in records if not heard[r.id].hidden]
    page.spoken, page.unmatched = match_stops(stops, exposed)
    return page


def test_what_orca_said_is_judged_with_the_same_verdicts():
    page = heard_page()
    rows = judge_all("speech", page.records, answers_for(page))
    assert [r.verdict for r in rows] == ["grounded", "decorative_right", "hidden", "honest", "unanswered",
                                         "decorative_wrong"]
    assert rows[0].low_confidence and rows[0].answer == "Possibly: A red bike"


def test_the_report_quotes_each_pages_spoken_sequence():
    page = heard_page()
    rows = judge_all("speech", page.records, answers_for(page))
    spoken = [spoken_sequence(page)]
    assert spoken[0]["not_spoken"] == 2 and spoken[0]["not_spoken_author_decorative"] == 1
    report = render_markdown(rows, summarise(rows), {"command": "test"}, spoken)
    assert "## Speech level" in report and "## What Orca says, page by page" in report
    assert "1. “Possibly: A red bike image.”" in report and "3. “Unlabeled image.”" in report
