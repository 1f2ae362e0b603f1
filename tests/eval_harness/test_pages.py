"""``python -m eval_harness.pages`` on the project's own test pages (tests/pages), with a reference copy."""
from __future__ import annotations

import base64
import json
import re
import time
from pathlib import Path

import pytest
from PIL import Image

from eval_harness import pages
from tests.e2e.conftest import IMAGES, make_png

PAGES = Path(__file__).resolve().parents[1] / "pages"


def write_site(root: Path) -> Path:
    """tests/pages/kinds.html with its images, as tests/e2e serves it (one origin only)."""
    (root / "img").mkdir(parents=True)
    for name, size in IMAGES.items():
        (root / "img" / f"{name}.png").write_bytes(make_png(name, size))
    Image.new("RGB", (1, 1), (255, 255, 255)).save(root / "img" / "spacer.gif")
    data_png = "data:image/png;base64," + base64.b64encode(make_png("data", (64, 64))).decode()
    text = (PAGES / "kinds.html").read_text().replace("{{DATA_PNG}}", data_png).replace("{{CROSS_ORIGIN}}", "")
    (root / "kinds.html").write_text(text)
    return root


def write_reference(site: Path, root: Path) -> Path:
    """The same page as a person would fix it: the spacer decorative, every other missing alt written."""
    root.mkdir(parents=True)
    text = (site / "kinds.html").read_text()
    text = text.replace('id="spacer" src="img/spacer.gif"', 'id="spacer" alt="" src="img/spacer.gif"')
    text = re.sub(r'<img id="(img-in-link)"', r'<img alt="Shopping cart" id="\1"', text)
    text = re.sub(r'<img id="(img-in-button)"', r'<img alt="Search" id="\1"', text)
    text = re.sub(r'<img id="(img-missing)"', r'<img alt="A photo" id="\1"', text)
    (root / "kinds.html").write_text(text)
    return root


def test_pages_check_reports_before_after_and_reference(tiny_model_root, tmp_path):
    site = write_site(tmp_path / "site")
    reference = write_reference(site, tmp_path / "reference")
    out = tmp_path / "out"
    code = pages.main([str(site), "--reference", str(reference), "--models", str(tiny_model_root),
                       "--out", str(out), "--timeout", "60"])
    assert code == 0
    result = json.loads((out / "pages.json").read_text())
    (page,) = result["pages"]
    assert page["page"] == "kinds.html"
    assert page["lacking_before"] >= 8  # kinds.html has that many unlabelled, rendered images
    assert page["lacking_after"] < page["lacking_before"]
    assert page["described"] + page["decorative"] >= page["lacking_before"] - page["lacking_after"]
    for rule in ("image-alt", "button-name", "link-name"):
        assert page["axe_before"][rule] >= 1, page["axe_before"]
        assert page["axe_after"][rule] == 0, page["axe_after"]
    ref = page["reference"]
    assert ref["matched"] >= 3  # spacer, link, button, photo: images the reference names and the extension answered
    assert 0.0 <= ref["decorative_agreement"] <= 1.0
    assert "kinds.html" in (out / "pages.md").read_text()


def test_compare_with_reference_matches_by_src_and_scores_decorative_agreement(meteor_jar):
    generated = [{"key": "a.png", "alt": "Search", "mark": "generated"},
                 {"key": "b.png", "alt": "", "mark": "decorative"},
                 {"key": "c.png", "alt": "Possibly: Cart", "mark": "generated"},
                 {"key": "d.png", "alt": None, "mark": ""}]
    reference = [{"key": "b.png", "alt": ""}, {"key": "a.png", "alt": "Search"}, {"key": "c.png", "alt": ""},
                 {"key": "d.png", "alt": "Never answered"}]
    got = pages.compare_with_reference(generated, reference, meteor_jar)
    assert got["matched"] == 3  # d.png was not answered
    assert got["decorative_agreement"] == pytest.approx(2 / 3)  # c.png described where the reference says decorative
    assert got["ROUGE-L"] == pytest.approx(1.0)  # the one described reference ("Search") matched exactly


class ScriptedPage:
    """A page whose image marks follow a script of (seconds since start, marks)."""

    def __init__(self, script):
        self.script, self.start, self.visits = script, time.monotonic(), []

    def evaluate(self, js, arg=None):
        if js == pages.VISIT_JS:
            self.visits.append(arg)
            return None
        now = time.monotonic() - self.start
        marks = [m for at, m in self.script if at <= now][-1]
        return [{"index": i, "key": str(i), "lacking": True, "mark": mark} for i, mark in enumerate(marks)]

    def wait_for_timeout(self, ms):
        time.sleep(ms / 1000)


def test_a_local_decorative_mark_does_not_start_the_settle_clock():
    # The spacer is marked at once by the extension itself; the backend answers the other images
    # later than settle_s. The wait must last until those answers, not end settle_s after the spacer.
    page = ScriptedPage([(0.0, ["decorative", "", ""]), (1.2, ["decorative", "generated", "generated"])])
    images = pages.wait_until_answered(page, timeout_s=10, settle_s=0.5)
    assert [i["mark"] for i in images] == ["decorative", "generated", "generated"]


def test_the_wait_settles_when_the_backend_answered_and_an_image_stays_unanswered():
    page = ScriptedPage([(0.0, ["", ""]), (0.2, ["generated", ""])])
    started = time.monotonic()
    images = pages.wait_until_answered(page, timeout_s=30, settle_s=0.5)
    assert [i["mark"] for i in images] == ["generated", ""]
    assert time.monotonic() - started < 5  # settled, did not wait for the 30 s timeout



def test_the_wait_brings_each_unanswered_image_into_view_in_turn():
    # The CI flake: an image that got its source after the view had moved on was never described (the
    # extension describes images near the viewport). A reader's cursor would reach it; so does the wait.
    page = ScriptedPage([(0.0, ["", "", "generated"]), (1.0, ["generated", "", "generated"]),
                         (2.0, ["generated", "generated", "generated"])])
    images = pages.wait_until_answered(page, timeout_s=10, settle_s=5)
    assert [i["mark"] for i in images] == ["generated"] * 3
    assert page.visits[:2] == [0, 1]  # both unanswered images, the answered one never
    assert set(page.visits) == {0, 1}
    assert page.visits[-1] == 1  # after image 0 was answered, only image 1 was visited
