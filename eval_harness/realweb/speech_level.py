"""The speech level: what Orca says, pressing "next graphic", on rebuilt real pages.

The page level reads names off Chromium's accessibility tree; a listener gets
them one step further on, from the screen reader, with its role words, its
placeholders for unnamed images and whatever it skips. This level rebuilds a
seeded sample of pages (pages_level.write_site), opens each in Debian Chromium
with the unchanged extension while Orca 43 listens (eval_harness/screenreader:
Xvfb, AT-SPI, captured speech), waits for the extension as the page level does,
then presses Orca's "next graphic" (g) from the top until it wraps.

Each press is one *stop*. Orca's role words are taken off the spoken text
(:func:`parse_stop`), and the stops are matched, in document order, to the
images the tree exposes (:func:`match_stops`). Each record then gets an
:class:`~eval_harness.realweb.judge.Answer` whose text is what Orca said
(:func:`answers_for`), judged by the same verdicts as the other levels: an
image Orca never stops on is decorative to a listener.
"""
from __future__ import annotations

import contextlib
import random
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from eval_harness.realweb.judge import Answer, normalised
from eval_harness.realweb.pages_level import (DEFAULT_TIMEOUT_S, PER_IMAGE_S, WRITTEN_MARKS, DescribeTraffic, Heard,
                                              PageState, accessibility, page_groups, wait_for_answers, why_notes,
                                              write_site)
from eval_harness.realweb.records import Record

DEFAULT_PAGES = 6
# Orca 43's role words after an image's name (DESIGN.md §5): "<name> image." and "<name> image link.".
ROLE_SUFFIXES = (("image link", " image link."), ("image", " image."))
# What Orca says before the role for an image without a name (Chromium's placeholder, DESIGN.md §5).
PLACEHOLDERS = ("", "Unlabeled", "To get missing image descriptions, open the context menu. Unlabeled")
STALE_ROLE_WORD = " Unlabeled"  # Chromium's role description, said after a name Orca holds stale (Stop.stale)


@dataclass(frozen=True)
class Stop:
    """One press of "next graphic": what Orca said, and the name in it without Orca's role words."""

    said: str
    name: str
    role: str  # "image", "image link", or "" when Orca said something else
    #: Orca said the name and then Chromium's old role description, "Unlabeled" ("Text in image: Rarc daily
    #: Unlabeled image."): an image it read before its name arrived keeps that word in Orca 43's cache
    #: (tests/screenreader/README.md, "Pitfalls"). The listener heard the name, and that word too.
    stale: bool = False


def parse_stop(utterances: Sequence[str]) -> Stop:
    """The image's name in one press's speech. Orca may say context first ("figure", "Leaving list."):
    the last utterance ending with an image role holds the name. Chromium's placeholder alone is no
    name; Orca's stale "Unlabeled" after a name comes off it (``Stop.stale``); anything else stays in
    the name, so a name Orca garbles does not match the tree's."""
    said = " ".join(u.strip() for u in utterances if u.strip())
    for utterance in reversed(utterances):
        text = " ".join(utterance.split())
        for role, suffix in ROLE_SUFFIXES:
            if text == suffix.strip() or text.endswith(suffix):
                name = text[: -len(suffix)] if text.endswith(suffix) else ""
                if name in PLACEHOLDERS:
                    return Stop(said, "", role)
                if name.endswith(STALE_ROLE_WORD) and name[: -len(STALE_ROLE_WORD)].strip():
                    return Stop(said, name[: -len(STALE_ROLE_WORD)].strip(), role, stale=True)
                return Stop(said, name, role)
    return Stop(said, "", "")


@dataclass
class PageSpeech:
    """One rebuilt page as Orca read it."""

    name: str  # its file name in the rebuilt site
    title: str
    records: list[Record]
    stops: list[Stop]
    heard: dict[str, Heard]  # Chromium's tree, per record id
    states: dict[str, PageState]
    spoken: dict[str, Stop] = field(default_factory=dict)  # record id -> the stop matched to it
    unmatched: list[Stop] = field(default_factory=list)  # stops no exposed image accounts for

    @property
    def sequence(self) -> list[str]:
        """What a user hears pressing "next graphic" from the top, one entry per press."""
        return [stop.said for stop in self.stops]


def match_stops(stops: Sequence[Stop], exposed: Sequence[tuple[str, str]]) -> tuple[dict[str, Stop], list[Stop]]:
    """Pair each stop with the next exposed image ((record id, tree name), in document order) whose name
    it speaks; a stop that names no image left (Orca stopping somewhere the tree does not say) is
    unmatched. Returns ({record id: stop}, unmatched stops)."""
    matched, unmatched, cursor = {}, [], 0
    for stop in stops:
        for i in range(cursor, len(exposed)):
            record_id, name = exposed[i]
            if normalised(name) == normalised(stop.name):
                matched[record_id] = stop
                cursor = i + 1
                break
        else:
            unmatched.append(stop)
    return matched, unmatched


def spoken_sequence(page: PageSpeech) -> dict:
    """One page's entry for the report: where it comes from and what each press of "next graphic" said."""
    first = page.records[0]
    silent = [r for r in page.records if r.id not in page.spoken]
    return {"title": page.title, "set": first.set_name, "page": first.page, "split": first.split,
            "images": len(page.records), "sequence": page.sequence,
            "not_spoken": len(silent), "not_spoken_author_decorative": sum(r.decorative for r in silent),
            "unmatched": [stop.said for stop in page.unmatched]}


def answers_for(page: PageSpeech) -> list[Answer]:
    """One Answer per record: the text Orca spoke for it (role words off), decorative when Orca never
    stopped on it; the note says what the extension did and why the tree and speech may differ."""
    seen: set[Path] = set()
    answers = []
    for record in page.records:
        state = page.states.get(record.id) or PageState(record.id, "", False, (0, 0), (0, 0))
        notes = why_notes(record, state, record.image_path in seen)
        seen.add(record.image_path)
        heard, stop = page.heard.get(record.id), page.spoken.get(record.id)
        if heard is not None and not heard.hidden and stop is None:
            notes.append("in the tree, not spoken by next graphic")
        if stop is not None and stop.stale:
            notes.append('Orca also said its stale "Unlabeled"')
        note = f"{state.mark or 'none'}: {', '.join(notes)}" if notes else state.mark or "none"
        written = state.mark in WRITTEN_MARKS
        if stop is None:
            answers.append(Answer(record.id, decorative=True, written=written, note=note))
        else:
            answers.append(Answer(record.id, text=stop.name, written=written, note=note,
                                  low_confidence=stop.name.lower().startswith("possibly:")))
    return answers


def hear_page(session, url: str, name: str, records: Sequence[Record], traffic: DescribeTraffic,
              timeout_s: float) -> PageSpeech:
    """Open one rebuilt page as a user does, wait for the extension, read the tree, then press "next
    graphic" from the top until Orca wraps."""
    session.open(url)
    title = session.page.title()
    states = {s.record: s for s in wait_for_answers(session.page, traffic, timeout_s)}
    heard = accessibility(session.page)
    stops = [parse_stop(said) for said in session.graphic_stops(limit=2 * len(records) + 5)]
    page = PageSpeech(name, title, list(records), stops, heard, states)
    exposed = [(r.id, heard[r.id].name) for r in records if r.id in heard and not heard[r.id].hidden]
    page.spoken, page.unmatched = match_stops(stops, exposed)
    return page


def sample_pages(records: Sequence[Record], count: int, seed: int = 0) -> list[list[Record]]:
    """A seeded sample of ``count`` real pages (all their records), in the order the records give them."""
    groups = page_groups(records)
    chosen = set(random.Random(f"speech:{seed}").sample(range(len(groups)), min(count, len(groups))))
    return [g for i, g in enumerate(groups) if i in chosen]


def run_speech(records: Sequence[Record], *, backend, work_dir: Path, pages: int = DEFAULT_PAGES, seed: int = 0,
               timeout_s: float = DEFAULT_TIMEOUT_S, extension: Path | None = None,
               progress: bool = True) -> tuple[list[Record], list[Answer], list[PageSpeech]]:
    """Hear a seeded sample of ``pages`` pages with Orca: (their records, one Answer each, every page as
    heard). ``backend``: a running backend (backend.testing.LiveBackend or the harness's own);
    ``work_dir`` holds the rebuilt site and the desktop (emptied first)."""
    from eval_harness.pages import serve_folder
    from eval_harness.screenreader.session import EXTENSION_UNDER_TEST, ScreenReaderSession

    work_dir = Path(work_dir)
    shutil.rmtree(work_dir, ignore_errors=True)
    sample = [r for group in sample_pages(records, pages, seed) for r in group]
    site = write_site(sample, work_dir / "site")
    heard_pages: list[PageSpeech] = []
    started = time.perf_counter()
    session = ScreenReaderSession(work_dir / "session", extension or EXTENSION_UNDER_TEST)
    with contextlib.ExitStack() as stack:
        base = stack.enter_context(serve_folder(work_dir / "site"))
        stack.callback(session.stop)
        # The extension's default announcement ("summary"), as a user has it.
        session.start({"backendUrl": backend.url, "token": backend.token, "retryBaseMs": 300, "retryMaxMs": 1500})
        traffic = DescribeTraffic(session.context, backend.url)
        for number, (name, group) in enumerate(site.items(), 1):
            bound = timeout_s + PER_IMAGE_S * len(group)
            heard_pages.append(hear_page(session, f"{base}/{name}", name, group, traffic, bound))
            if progress:
                print(f"\rspeech level: page {number}/{len(site)}, {time.perf_counter() - started:.0f} s", end="",
                      file=sys.stderr, flush=True)
    if progress and site:
        print(file=sys.stderr)
    answers = [a for page in heard_pages for a in answers_for(page)]
    return [r for page in heard_pages for r in page.records], answers, heard_pages
