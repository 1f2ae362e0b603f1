"""What Orca says on real pages rebuilt from ../shared/data/realweb (dev split), asserted by rule.

Two dev pages are chosen by rule (:func:`varied_pages`), rebuilt as the real-web harness rebuilds
them (eval_harness/realweb/pages_level.py) and read with the speech level's own code
(eval_harness/realweb/speech_level.py). The backend is canned by rule (:func:`by_rule`): the
screen reader is under test, and canned answers keep the pass to seconds. The rules: every image
the extension described is spoken with exactly the accessible name Chromium's tree gives it, one
stop per image, in document order; an image the extension made decorative is never spoken; a
low-confidence answer is spoken with "Possibly:"; and no name is followed by Chromium's old role
description "Unlabeled", which Orca 43 kept for an image it read before the name arrived ("A drawing
called intro-diagram.svg Unlabeled image.") until the extension began renewing its cache
(extension/content/reread.js; README.md here, "Pitfalls"; speech_level.parse_stop, ``Stop.stale``).
"""
from __future__ import annotations

import zlib

import pytest

from eval_harness.pages import serve_folder
from eval_harness.realweb.pages_level import DescribeTraffic, page_groups, write_site
from eval_harness.realweb.records import DEFAULT_ROOT, load
from eval_harness.realweb.speech_level import hear_page
from tests.screenreader.canned import CannedBackend, answer

MAX_IMAGES = 8  # per chosen page: keeps the pass short


def uses(group) -> set[str]:
    """The kinds of image use a page has (what the extension treats differently)."""
    found = set()
    for r in group:
        found.add("decorative" if r.decorative else "link" if r.in_link else "informative")
        if r.is_svg:
            found.add("svg")
        if 0 < min(r.width or 99, r.height or 99) <= 16:
            found.add("small")
    return found


def varied_pages(records, count: int = 2):
    """Per set, the dev page (at most MAX_IMAGES images) with the most kinds of image use, the first
    in manifest order on a tie; then the `count` most varied of those, from different sets."""
    best = {}
    for group in page_groups(records):
        if len(group) <= MAX_IMAGES and len(uses(group)) > len(uses(best.get(group[0].set_name, []))):
            best[group[0].set_name] = group
    return sorted(best.values(), key=lambda g: -len(uses(g)))[:count]


def by_rule(file_name: str, context: dict) -> dict:
    """A canned answer chosen by the file name's checksum: described, low-confidence or decorative
    (never for a link's only content, as the backend's contract says), each text naming its file so
    that no two images share one."""
    kind = zlib.crc32(file_name.encode()) % 3
    if kind == 2 and not context.get("only_content"):
        return answer(decorative=True, confidence=0.9)
    if kind == 1:
        return answer(f"A picture called {file_name}", confidence=0.4, low_confidence=True)
    return answer(f"A drawing called {file_name}", confidence=0.9)


@pytest.fixture(scope="module")
def realweb_pages(tmp_path_factory):
    """The chosen pages rebuilt and served: (base URL, {page file name: its records})."""
    records = [r for g in varied_pages(load([DEFAULT_ROOT], ["dev"])) for r in g]
    assert records, f"no dev pages in {DEFAULT_ROOT}"
    folder = tmp_path_factory.mktemp("realweb-site")
    pages = write_site(records, folder)
    with serve_folder(folder) as url:
        yield url, pages


def test_real_pages_are_spoken_as_the_tree_names_them(screen_reader, settings, realweb_pages):
    base, pages = realweb_pages
    backend = CannedBackend({}, fallback=by_rule).start()
    screen_reader.configure(dict(settings, backendUrl=backend.url, token=backend.TOKEN))
    traffic = DescribeTraffic(screen_reader.context, backend.url)
    try:
        heard = [hear_page(screen_reader, f"{base}/{name}", name, group, traffic, timeout_s=30)
                 for name, group in pages.items()]
    finally:
        screen_reader.configure(settings)
        backend.stop()
    marks_seen = []
    for page in heard:
        print(page.title, "| g:", page.sequence, "| stale 'Unlabeled' at", [s.name for s in page.stops if s.stale])
        marks = {r.id: page.states[r.id].mark for r in page.records}
        marks_seen += marks.values()
        assert all(marks.values()), f"{page.name}: the extension left images unmarked: {marks}"
        exposed = [(r, page.heard[r.id].name) for r in page.records if not page.heard[r.id].hidden]
        # One stop per image the tree exposes, in document order, saying exactly the tree's name.
        assert [s.name for s in page.stops] == [name for _, name in exposed], (page.name, page.sequence, exposed)
        assert all(s.role in ("image", "image link") for s in page.stops), page.sequence
        # Orca's cache of what it read before a name came is renewed (extension/content/reread.js).
        assert not any(s.stale for s in page.stops), (page.name, page.sequence)
        assert not page.unmatched and len(page.spoken) == len(exposed), (page.unmatched, page.sequence)
        # No description spoken twice, unless the page shows the same image twice.
        files_by_name = {}
        for record, name in exposed:
            files_by_name.setdefault(name, set()).add(record.image_path)
        assert all(len(files) == 1 for files in files_by_name.values()), (page.name, files_by_name)
        for record in page.records:
            if marks[record.id] == "decorative":
                assert page.heard[record.id].hidden and record.id not in page.spoken, (record.id, page.sequence)
            elif zlib.crc32(record.file_name.encode()) % 3 == 1:
                assert page.spoken[record.id].name.startswith("Possibly: "), (record.id, page.sequence)
    assert "decorative" in marks_seen and "generated" in marks_seen, \
        f"the chosen pages did not exercise both rules: marks {marks_seen}"
