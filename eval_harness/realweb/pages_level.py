"""The page level: what a screen-reader user hears on rebuilt real pages with the unchanged extension.

The backend level asks the describe API directly, with the context the records
give. A listener never does that: the extension decides first which images to
ask about, collects the context from the page itself, de-duplicates repeated
images, settles tiny ones locally, never hides an image that is a link's only
content, and puts "Possibly:" before a low-confidence answer. Only a real
browser shows what all that adds up to, so this level:

1. rebuilds one HTML page per real page (:func:`build_pages`), holding each of
   its records in manifest order: title and language, heading, the text before
   and after the image, figure and caption, an enclosing link (with the link's
   own text where the author relied on it to make the image decorative), the
   image at its served size, and no ``alt`` at all. Pages that quote their own
   alt (``context_has_alt``) keep only the image and its link;
2. opens each page in Debian Chromium with the extension (tests/e2e/browser.py)
   pointed at the real backend, brings every image into view in turn (the
   extension describes images near the viewport) until each carries the
   extension's mark, the backend is quiet, or time is up;
3. reads each image's role and name from Chromium's own accessibility tree
   (CDP ``Accessibility.getPartialAXTree``: what a screen reader is given),
   with the extension's mark (``data-altlens``) and why the extension may have
   decided otherwise than the backend level (:func:`why_notes`).

Nothing here knows particular images: any manifest in the realweb format
(eval_harness/realweb/records.py) is rebuilt the same way.
"""
from __future__ import annotations

import contextlib
import html
import re
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator, Sequence

from eval_harness.realweb.judge import Answer
from eval_harness.realweb.records import Record

DEFAULT_TIMEOUT_S = 60.0  # the longest wait for one page's answers, plus PER_IMAGE_S per image on it
PER_IMAGE_S = 6.0  # an OCR read the backend abandons after 3 s (ALTLENS_OCR_TIMEOUT_S), the model, margin
SETTLE_S = 5.0  # no new mark and no describe request out for this long: the extension is done
POLL_MS = 250
SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")

# The extension's marks (extension/content/apply.js): the name it wrote, or alt="" / aria-hidden.
WRITTEN_MARKS = ("generated", "corrected", "decorative")


# --- the rebuilt pages ------------------------------------------------------------------------

def page_groups(records: Iterable[Record]) -> list[list[Record]]:
    """Records grouped by real page (set and page path), pages in order of first appearance and
    records in manifest order within a page, so an image used twice on a page is there twice."""
    groups: dict[tuple[str, str], list[Record]] = {}
    for record in records:
        groups.setdefault((record.set_name, record.page or record.id), []).append(record)
    return [sorted(group, key=_manifest_line) for group in groups.values()]


def _manifest_line(record: Record) -> int:
    tail = record.id.rsplit(":", 1)[-1]
    return int(tail) if tail.isdigit() else 0


def safe_name(name: str, fallback: str = "image") -> str:
    """``name`` when it is a plain file name, else its letters, digits, dots and dashes: never empty,
    hidden, a path, or anything a URL or an attribute would need to quote."""
    if SAFE_NAME.fullmatch(name):
        return name
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip(".-")[:100] or fallback


def page_file_name(number: int, record: Record) -> str:
    """A safe, unique, readable file name for the page ``record`` sits on."""
    slug = safe_name(f"{record.set_name}-{record.page}".replace("/", "-").replace(".", "-"), "page")
    return f"{number:04d}-{slug[:80].strip('-')}.html"


def image_urls(records: Iterable[Record]) -> dict[Path, str]:
    """Each image file's path under the served folder, which is also its URL relative to the pages:
    ``img/N/<its file name>`` (safe names need no quoting), so the extension sees the file name the
    record gives (the context's ``file_name``) and one file has one URL on every page."""
    urls: dict[Path, str] = {}
    for record in records:
        if record.image_path not in urls:
            urls[record.image_path] = f"img/{len(urls) + 1}/{safe_name(record.file_name)}"
    return urls


def _text(value: str) -> str:
    """Page text as text (spacing folded, nothing in it read as markup)."""
    return html.escape(" ".join(value.split()), quote=True)


def _attr(value: str) -> str:
    return html.escape(value, quote=True)


def image_html(record: Record, url: str) -> str:
    """The image at its served size, without alt, in its link (with the link's own text) and figure."""
    size = "".join(f' {k}="{v}"' for k, v in (("width", record.width), ("height", record.height)) if v)
    tag = f'<img src="{_attr(url)}"{size} data-record="{_attr(record.id)}">'
    if record.in_link:
        own = record.link_own_text()
        tag = f'<a href="{_attr(record.link_href.strip())}">{tag}{" " + _text(own) if own else ""}</a>'
    caption = "" if record.context_has_alt else record.figcaption.strip()
    if caption:
        tag = f"<figure>{tag}<figcaption>{_text(caption)}</figcaption></figure>"
    return tag


def record_block(record: Record, url: str, previous_heading: str) -> str:
    """One record's part of its page. Where the page quotes the alt (``context_has_alt``), the words
    around the image are left out, as the backend level leaves them out of its context."""
    parts = ["<section>"]
    withhold = record.context_has_alt
    heading = record.heading.strip()
    if heading and heading != previous_heading and not withhold:
        parts.append(f"<h2>{_text(heading)}</h2>")
    if record.before_text and not withhold:
        parts.append(f"<p>{_text(record.before_text)}</p>")
    parts.append(image_html(record, url))
    if record.after_text and not withhold:
        parts.append(f"<p>{_text(record.after_text)}</p>")
    parts.append("</section>")
    return "\n".join(parts)


def page_html(group: Sequence[Record], urls: dict[Path, str]) -> str:
    """One real page: its title and language, then each record's block in order."""
    first = group[0]
    lang = f' lang="{_attr(first.lang.strip())}"' if first.lang.strip() else ""
    blocks, previous = [], ""
    for record in group:
        blocks.append(record_block(record, urls[record.image_path], previous))
        if record.heading.strip() and not record.context_has_alt:
            previous = record.heading.strip()
    return (f'<!DOCTYPE html>\n<html{lang}>\n<head>\n<meta charset="utf-8">\n<title>{_text(first.page_title)}'
            f"</title>\n</head>\n<body>\n<main>\n" + "\n".join(blocks) + "\n</main>\n</body>\n</html>\n")


def _layout(records: Sequence[Record]) -> tuple[list[tuple[str, list[Record]]], dict[Path, str]]:
    groups = page_groups(records)
    return [(page_file_name(n, g[0]), g) for n, g in enumerate(groups, 1)], image_urls(records)


def build_pages(records: Sequence[Record]) -> dict[str, str]:
    """One HTML document per real page: {file name: HTML}. Images are at ``img/N/NAME``
    (:func:`write_site` puts them there)."""
    pages, urls = _layout(records)
    return {name: page_html(group, urls) for name, group in pages}


def write_site(records: Sequence[Record], folder: Path) -> dict[str, list[Record]]:
    """The rebuilt pages and their images in ``folder`` (emptied first); {page file name: its records}."""
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    pages, urls = _layout(records)
    for path, url in urls.items():
        target = folder / url
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
    for name, group in pages:
        (folder / name).write_text(page_html(group, urls), encoding="utf-8")
    return dict(pages)


# --- in the browser ---------------------------------------------------------------------------

# Per rebuilt image, in document order: its record, the extension's mark, and what decides the
# extension's local rules (detect.js localClass: a box or natural size of 2 px or less is "tiny").
STATE_JS = """() => [...document.querySelectorAll('img[data-record]')].map((el) => {
  const box = el.getBoundingClientRect();
  return {record: el.getAttribute('data-record'), mark: el.getAttribute('data-altlens') || '',
          complete: el.complete, natural: [el.naturalWidth, el.naturalHeight], box: [box.width, box.height]};
})"""

# Bring the index-th rebuilt image to the middle of the viewport, as a reader's cursor reaching it would.
VISIT_JS = """(index) => {
  const el = document.querySelectorAll('img[data-record]')[index];
  if (el) el.scrollIntoView({block: 'center'});
}"""


class DescribeTraffic:
    """The extension's describe requests still out, from the browser's own network events (the
    service worker's fetches are reported on the context), so a wait can tell a slow backend from a
    finished extension."""

    def __init__(self, context, backend_url: str):
        self.prefix = backend_url.rstrip("/") + "/api/v1/describe"
        self.out = 0
        self.last = time.monotonic()
        context.on("request", self._started)
        context.on("requestfinished", self._ended)
        context.on("requestfailed", self._ended)

    def _started(self, request) -> None:
        if request.url.startswith(self.prefix):
            self.out += 1
            self.last = time.monotonic()

    def _ended(self, request) -> None:
        if request.url.startswith(self.prefix):
            self.out = max(0, self.out - 1)
            self.last = time.monotonic()

    def quiet_since(self) -> float | None:
        """When the last describe request ended; None while one is out."""
        return None if self.out else self.last


@dataclass
class PageState:
    """One rebuilt image as the wait left it."""

    record: str
    mark: str
    complete: bool
    natural: tuple[int, int]
    box: tuple[float, float]
    timed_out: bool = False


def wait_for_answers(page, traffic: DescribeTraffic, timeout_s: float, settle_s: float = SETTLE_S) -> list[PageState]:
    """Visit the unmarked images in turn (the one visited longest ago first) until every image carries
    the extension's mark, or the extension is done (every unmarked image visited, and for ``settle_s``
    no new mark, no describe request out and no first visit), or ``timeout_s`` has passed."""
    start = time.monotonic()
    deadline, last_marks, activity = start + timeout_s, None, start
    visited: dict[int, float] = {}
    while True:
        state = page.evaluate(STATE_JS)
        now = time.monotonic()
        marks = [s["mark"] for s in state]
        if marks != last_marks:
            last_marks, activity = marks, now
        pending = [i for i, s in enumerate(state) if not s["mark"]]
        quiet = traffic.quiet_since()
        settled = (all(i in visited for i in pending) and quiet is not None
                   and now - max(activity, quiet) > settle_s)
        if not pending or settled or now > deadline:
            return [PageState(s["record"], s["mark"], s["complete"], tuple(s["natural"]), tuple(s["box"]),
                              timed_out=not s["mark"] and now > deadline and not settled) for s in state]
        target = min(pending, key=lambda i: visited.get(i, 0.0))
        if target not in visited:
            activity = now  # a first visit may start a request: wait for it before calling it settled
        visited[target] = now
        page.evaluate(VISIT_JS, target)
        page.wait_for_timeout(POLL_MS)


@dataclass
class Heard:
    """What Chromium's accessibility tree exposes for one image."""

    role: str
    name: str
    ignored: bool

    @property
    def hidden(self) -> bool:
        """Not there for a screen reader: ignored (alt="" or aria-hidden) or presentational."""
        return self.ignored or self.role in ("none", "presentation")


def accessibility(page) -> dict[str, Heard]:
    """{record id: role and name} of every rebuilt image, from Chromium's own accessibility tree (CDP
    Accessibility.getPartialAXTree: the node a screen reader is given for the element)."""
    cdp = page.context.new_cdp_session(page)
    try:
        root = cdp.send("DOM.getDocument", {"depth": 0})["root"]["nodeId"]
        found = cdp.send("DOM.querySelectorAll", {"nodeId": root, "selector": "img[data-record]"})["nodeIds"]
        return dict(_heard(cdp, node_id) for node_id in found)
    finally:
        cdp.detach()


def _heard(cdp, node_id: int) -> tuple[str, Heard]:
    element = cdp.send("DOM.describeNode", {"nodeId": node_id})["node"]
    attrs = element.get("attributes", [])
    record = attrs[attrs.index("data-record") + 1]
    nodes = cdp.send("Accessibility.getPartialAXTree", {"nodeId": node_id, "fetchRelatives": False})["nodes"]
    ax = next((n for n in nodes if n.get("backendDOMNodeId") == element["backendNodeId"]), nodes[0] if nodes else {})
    name = " ".join(str(ax.get("name", {}).get("value", "")).split())
    return record, Heard(role=str(ax.get("role", {}).get("value", "")), name=name, ignored=bool(ax.get("ignored")))


# --- from what was heard to answers ------------------------------------------------------------

def why_notes(record: Record, state: PageState, repeated: bool) -> list[str]:
    """Why the page level may differ from the backend level for this image: the extension's own
    decisions and what the page did (the backend level never sees either)."""
    notes = []
    if not state.mark:
        if state.complete and min(state.natural) == 0:
            notes.append("not answered: image did not load")
        elif min(state.box) == 0:
            notes.append("not answered: not rendered")
        elif state.timed_out:
            notes.append("not answered in time")
        else:
            notes.append("not answered: the extension wrote nothing")
    elif state.mark == "decorative" and (min(state.box) <= 2 or 0 < min(state.natural) <= 2):
        notes.append("tiny")
    if record.in_link:
        notes.append("in a link with its own text" if record.link_own_text() else "a link's only content")
    if repeated:
        notes.append("repeated image")
    if record.is_svg:
        notes.append("SVG rasterised in the page")
    return notes


def answer_for(record: Record, state: PageState, heard: Heard | None, repeated: bool) -> Answer:
    """One record's :class:`Answer` as a listener gets it: the accessible name ("Possibly:" included),
    decorative when the image is gone from the tree, written when the extension marked it."""
    notes = why_notes(record, state, repeated)
    mark = state.mark or "none"
    note = f"{mark}: {', '.join(notes)}" if notes else mark
    if heard is None:
        return Answer(record.id, written=False, note=f"{note} (not in the page)")
    decorative = heard.hidden
    text = "" if decorative else heard.name
    return Answer(record.id, text=text, decorative=decorative, written=state.mark in WRITTEN_MARKS,
                  low_confidence=text.lower().startswith("possibly:"), confidence=None, note=note)


def page_answers(browser, url: str, group: Sequence[Record], traffic: DescribeTraffic,
                 timeout_s: float) -> list[Answer]:
    """Open one rebuilt page, wait for the extension, and read every image's answer off the tree."""
    page = browser.open(url)
    try:
        page.wait_for_load_state("load")
        states = {s.record: s for s in wait_for_answers(page, traffic, timeout_s)}
        heard = accessibility(page)
    finally:
        page.close()
    seen: set[Path] = set()
    answers = []
    for record in group:
        repeated = record.image_path in seen
        seen.add(record.image_path)
        state = states.get(record.id) or PageState(record.id, "", False, (0, 0), (0, 0))
        answers.append(answer_for(record, state, heard.get(record.id), repeated))
    return answers


@contextlib.contextmanager
def _backend(models_dir: Path | None, work_dir: Path, ocr: bool) -> Iterator:
    from eval_harness.realweb.live import running_backend
    from eval_harness.realweb.records import REPO

    with running_backend(Path(models_dir or REPO / "models" / "bundled").resolve(), work_dir, ocr=ocr) as backend:
        yield backend


def run_pages(records: Sequence[Record], models_dir: Path | None = None, *, work_dir: Path, backend=None,
              ocr: bool = True, timeout_s: float = DEFAULT_TIMEOUT_S, progress: bool = True) -> list[Answer]:
    """One :class:`Answer` per record, in order, heard on the rebuilt pages with the extension.

    ``backend``: a running :class:`backend.testing.LiveBackend` to use; without one, the real backend
    is started on ``models_dir`` (a registry or an exported model; default the bundled model) with
    SQLite in ``work_dir`` and OCR as ``ocr`` says, and stopped afterwards. ``work_dir`` also holds
    the rebuilt site and the browser profile (both emptied first). ``timeout_s``: the longest wait for
    one page, plus :data:`PER_IMAGE_S` for each image on it (a page whose images are all answered
    sooner moves on at once).
    """
    from playwright.sync_api import sync_playwright

    from eval_harness.pages import serve_folder
    from tests.e2e.browser import ExtensionBrowser, launch_with_extension

    work_dir = Path(work_dir)
    work_dir.mkdir(parents=True, exist_ok=True)
    profile = work_dir / "profile"
    shutil.rmtree(profile, ignore_errors=True)
    pages = write_site(records, work_dir / "site")
    answers: dict[str, Answer] = {}
    started = time.perf_counter()
    with contextlib.ExitStack() as stack:
        if backend is None:
            backend = stack.enter_context(_backend(models_dir, work_dir, ocr))
        base = stack.enter_context(serve_folder(work_dir / "site"))
        playwright = stack.enter_context(sync_playwright())
        context = launch_with_extension(playwright, profile)
        stack.callback(context.close)
        browser = ExtensionBrowser(context)
        browser.configure(backendUrl=backend.url, token=backend.token, retryBaseMs=300, retryMaxMs=1500,
                          announce="off")
        traffic = DescribeTraffic(context, backend.url)
        for number, (name, group) in enumerate(pages.items(), 1):
            bound = timeout_s + PER_IMAGE_S * len(group)
            for answer in page_answers(browser, f"{base}/{name}", group, traffic, bound):
                answers[answer.record_id] = answer
            if progress:
                written = sum(a.written for a in answers.values())
                print(f"\rpage level: page {number}/{len(pages)}, {written}/{len(answers)} images answered, "
                      f"{time.perf_counter() - started:.0f} s", end="", file=sys.stderr, flush=True)
    if progress and pages:
        print(file=sys.stderr)
    return [answers[r.id] for r in records]
