"""The real-web harness's page level: rebuilt pages, the wait, the reading, and one run with the extension."""
from __future__ import annotations

import time
from collections import defaultdict
from html.parser import HTMLParser
from pathlib import Path

import pytest
from PIL import Image

from eval_harness.realweb import pages_level
from eval_harness.realweb.judge import VERDICTS, verdict
from eval_harness.realweb.pages_level import (Heard, PageState, answer_for, build_pages, run_pages, wait_for_answers,
                                              why_notes, write_site)
from eval_harness.realweb.records import DEFAULT_ROOT, REPO, Record, load, page_words_text


class Tags(HTMLParser):
    """Every start tag (name, attributes) and the text of a page, in order."""

    def __init__(self, text: str):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.text: list[tuple[str, str]] = []  # (innermost open tag, text)
        self.open: list[str] = []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag not in ("img", "meta"):
            self.open.append(tag)

    def handle_endtag(self, tag):
        if tag in self.open:
            while self.open.pop() != tag:
                pass

    def handle_data(self, data):
        if data.strip():
            self.text.append((self.open[-1] if self.open else "", data.strip()))

    def all(self, name: str) -> list[dict]:
        return [attrs for tag, attrs in self.tags if tag == name]

    def texts(self, tag: str) -> list[str]:
        return [t for open_tag, t in self.text if open_tag == tag]


def record(number: int, tmp_path: Path, **fields) -> Record:
    image = tmp_path / "set" / "images" / fields.pop("image", f"site__pics__photo{number}.png")
    if not image.exists():
        image.parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (40, 30), (number * 40 % 256, 90, 200)).save(image, "PNG")
    defaults = dict(set_name="set", id=f"set:{number}", image_path=image, alt="An informative picture", split="dev",
                    page="blog/post.md", page_title="A post", lang="en", width=400, height=300)
    return Record(**{**defaults, **fields})


@pytest.fixture
def hand_made(tmp_path):
    hostile = "</title><script>alert(1)</script> & more"
    return [
        record(1, tmp_path, page_title=hostile, lang="fr", heading="Our team", figcaption="The team <b>at work</b>",
               context="Words before the photo. [IMAGE] Words after the photo."),
        record(2, tmp_path, alt="", page_title=hostile, lang="fr", heading="Our team", link_href="/stories/one/",
               context="Latest stories [IMAGE] Read the first story. It is long."),
        record(3, tmp_path, alt="Home", page_title=hostile, lang="fr", link_href="/", heading="Our team",
               context="Go [IMAGE] back"),
        record(4, tmp_path, alt="A blue square", page_title=hostile, lang="fr", heading="Example 4",
               figcaption="Code: alt=\"A blue square\"", context_has_alt=True,
               context='The alt "A blue square" [IMAGE] says what it is.'),
        record(5, tmp_path, image="site__pics__photo1.png", page_title=hostile, lang="fr", heading="Our team",
               context="The same photo again [IMAGE]"),
        record(6, tmp_path, image="site__odd name (1)!.png", page="other/page.md", page_title="Other", lang="",
               context="Another page [IMAGE]"),
    ]


def test_build_pages_rebuilds_each_real_page_without_the_authors_alt(hand_made, tmp_path):
    pages = build_pages(hand_made)
    assert len(pages) == 2  # one file per real page, records of a page together
    first, second = (Tags(pages[name]) for name in sorted(pages))
    for name in pages:
        assert name.endswith(".html") and "/" not in name and " " not in name

    # Every image is there, in manifest order, at its served size, marked with its record and no alt.
    images = first.all("img")
    assert [i["data-record"] for i in images] == ["set:1", "set:2", "set:3", "set:4", "set:5"]
    assert all("alt" not in i for i in images + second.all("img"))
    assert images[0]["width"] == "400" and images[0]["height"] == "300"
    assert images[0]["src"] == images[4]["src"]  # a repeated image stays the same image

    # Title and language as the page had them; hostile text stays text.
    assert first.all("html") == [{"lang": "fr"}] and second.all("html") == [{}]
    assert first.texts("title") == ["</title><script>alert(1)</script> & more"]
    assert not first.all("script") and "<script>" not in pages[sorted(pages)[0]]

    # Heading once per run of blocks under it, the words around the image, figure and caption.
    assert first.texts("h2") == ["Our team"]
    assert "Words before the photo." in first.texts("p") and "Words after the photo." in first.texts("p")
    assert len(first.all("figure")) == 1 and first.texts("figcaption") == ["The team <b>at work</b>"]

    # The author-decorative image keeps the link text that made it decorative; the informative linked
    # image is its link's only content.
    links = first.all("a")
    assert [a["href"] for a in links] == ["/stories/one/", "/"]
    assert first.texts("a") == ["Read the first story."]

    # A page that quotes the alt keeps only the image (its heading, caption and words are withheld).
    html = pages[sorted(pages)[0]]
    assert "A blue square" not in html and "Example 4" not in html and "says what it is" not in html


def test_write_site_puts_every_image_where_the_pages_point(hand_made, tmp_path):
    site = tmp_path / "site"
    pages = write_site(hand_made, site)
    assert sorted(pages) == sorted(build_pages(hand_made))
    assert [r.id for r in pages[sorted(pages)[0]]] == ["set:1", "set:2", "set:3", "set:4", "set:5"]
    for name in pages:
        for image in Tags((site / name).read_text()).all("img"):
            path = site / image["src"]
            assert path.is_file() and path.resolve().is_relative_to(site.resolve()), image["src"]
    odd = Tags((site / sorted(pages)[1]).read_text()).all("img")[0]["src"]
    assert odd.startswith("img/") and odd.endswith(".png") and " " not in odd and "(" not in odd


def test_answers_say_what_was_heard_and_why_the_extension_decided(tmp_path):
    plain = record(1, tmp_path)
    in_link = record(2, tmp_path, alt="", link_href="/a/", context="[IMAGE] The story")
    state = PageState("set:1", "generated", True, (40, 30), (400.0, 300.0))
    heard = answer_for(plain, state, Heard("image", "Possibly: A chart", False), repeated=False)
    assert heard.written and not heard.decorative and heard.low_confidence and heard.text == "Possibly: A chart"
    assert heard.note == "generated"

    hidden = answer_for(in_link, PageState("set:2", "decorative", True, (40, 30), (400.0, 300.0)),
                        Heard("none", "", True), repeated=True)
    assert hidden.decorative and hidden.written and hidden.text == ""
    assert hidden.note == "decorative: in a link with its own text, repeated image"
    assert verdict(in_link.alt, hidden, page_words_text(in_link)) == "decorative_right"

    tiny = PageState("set:1", "decorative", True, (1, 1), (1.0, 1.0))
    assert why_notes(plain, tiny, False) == ["tiny"]
    never = answer_for(plain, PageState("set:1", "", True, (0, 0), (400.0, 300.0)), Heard("image", "", False), False)
    assert not never.written and never.note == "none: not answered: image did not load"
    assert verdict(plain.alt, never, "") == "unanswered"
    late = PageState("set:1", "", True, (40, 30), (400.0, 300.0), timed_out=True)
    assert why_notes(plain, late, False) == ["not answered in time"]


class ScriptedPage:
    """A page whose marks follow a script of (seconds since start, marks)."""

    def __init__(self, script):
        self.script, self.start, self.visits = script, time.monotonic(), []

    def evaluate(self, js, arg=None):
        if js == pages_level.VISIT_JS:
            self.visits.append(arg)
            return None
        marks = [m for at, m in self.script if at <= time.monotonic() - self.start][-1]
        return [{"record": f"r{i}", "mark": m, "complete": True, "natural": [9, 9], "box": [9, 9]}
                for i, m in enumerate(marks)]

    def wait_for_timeout(self, ms):
        time.sleep(ms / 1000)


class ScriptedTraffic:
    """Describe requests out until ``busy_until`` seconds after the start."""

    def __init__(self, busy_until: float):
        self.start, self.busy_until = time.monotonic(), busy_until

    def quiet_since(self):
        end = self.start + self.busy_until
        return None if time.monotonic() < end else end


def test_the_wait_does_not_settle_while_a_describe_request_is_out():
    # The first answers come at once; the last image's request takes longer than settle_s. The wait
    # lasts until its answer, not settle_s after the first marks.
    page = ScriptedPage([(0.0, ["", ""]), (0.1, ["generated", ""]), (1.5, ["generated", "decorative"])])
    states = wait_for_answers(page, ScriptedTraffic(busy_until=1.5), timeout_s=10, settle_s=0.4)
    assert [s.mark for s in states] == ["generated", "decorative"]
    assert page.visits[0] == 0 and set(page.visits[1:]) == {1}  # once image 0 is answered, only image 1


def test_the_wait_settles_when_the_extension_is_done_and_an_image_stays_unmarked():
    page = ScriptedPage([(0.0, ["", ""]), (0.2, ["generated", ""])])
    started = time.monotonic()
    states = wait_for_answers(page, ScriptedTraffic(busy_until=0.3), timeout_s=30, settle_s=0.5)
    assert [s.mark for s in states] == ["generated", ""] and not states[1].timed_out
    assert time.monotonic() - started < 5
    # the image left unmarked was still brought into view, after image 0 (the order a reader meets them)
    assert page.visits[0] == 0 and page.visits[-1] == 1


def test_accessibility_reads_what_aria_snapshot_reads(tmp_path):
    """The names read from Chromium's tree (CDP) are the ones tests/e2e reads with aria_snapshot."""
    from playwright.sync_api import sync_playwright

    from eval_harness.pages import serve_folder
    from tests.e2e.browser import CHROMIUM, chromium_args

    Image.new("RGB", (50, 40), (200, 10, 10)).save(tmp_path / "a.png")
    (tmp_path / "p.html").write_text(
        '<!DOCTYPE html><html lang="en"><title>t</title><main>'
        '<p><img src="a.png" alt="" data-record="empty"></p>'
        '<p><a href="/x"><img src="a.png" alt="" data-record="empty-in-link"> Link words</a></p>'
        '<p><img src="a.png" data-record="unnamed"></p>'
        '<p><img src="a.png" alt="Possibly: A red square" data-record="named"></p>'
        '<p><a href="/y"><img src="a.png" alt="Go home" data-record="link-only"></a></p></main>')
    with serve_folder(tmp_path) as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=chromium_args()[2:])
        try:
            page = browser.new_page()
            page.goto(base + "/p.html")
            heard = pages_level.accessibility(page)
            snapshots = {r: page.locator(f'img[data-record="{r}"]').aria_snapshot() for r in heard}
        finally:
            browser.close()
    assert {r for r, h in heard.items() if h.hidden} == {"empty", "empty-in-link"}
    assert heard["named"].name == "Possibly: A red square" and heard["link-only"].name == "Go home"
    assert heard["unnamed"] == Heard("image", "", False)
    for r, h in heard.items():
        assert (snapshots[r] == "") == h.hidden, (r, snapshots[r])
        assert h.name in snapshots[r], (r, snapshots[r])


def small_real_slice() -> list[Record]:
    """Two real dev pages, chosen by rule: the smallest holding an SVG and an author-decorative image,
    and the smallest holding an author-decorative image in a link (with its own text)."""
    pages: dict[tuple[str, str], list[Record]] = defaultdict(list)
    for r in load([DEFAULT_ROOT], splits=("dev",)):
        pages[(r.set_name, r.page)].append(r)
    groups = sorted(pages.values(), key=len)
    svg = next(g for g in groups if any(r.is_svg for r in g) and any(r.decorative for r in g))
    link = next(g for g in groups if any(r.decorative and r.link_own_text() for r in g))
    return svg + link


def test_run_pages_answers_every_record_with_the_extension(tmp_path):
    from backend.registry import ModelRegistry

    if not DEFAULT_ROOT.is_dir():
        pytest.fail(f"the shared real-web data is missing: {DEFAULT_ROOT}")
    records = small_real_slice()
    assert 3 <= len(records) <= 8
    registry = tmp_path / "registry"
    ModelRegistry(registry).publish(REPO / "models" / "bundled")

    answers = run_pages(records, registry, work_dir=tmp_path / "work", ocr=False, timeout_s=60, progress=False)

    assert [a.record_id for a in answers] == [r.id for r in records]
    assert all(a.written for a in answers), [a.note for a in answers]  # the extension answered each image
    for r, a in zip(records, answers):
        assert verdict(r.alt, a, page_words_text(r)) in VERDICTS
        assert a.note.split(":")[0] in pages_level.WRITTEN_MARKS, a.note
        assert ("SVG rasterised in the page" in a.note) == r.is_svg
        if r.decorative and r.link_own_text():
            assert "in a link with its own text" in a.note
        assert a.decorative or a.text  # what was heard: gone from the tree, or a name
    site = tmp_path / "work" / "site"
    assert all("alt=" not in page.read_text() for page in site.glob("*.html"))
