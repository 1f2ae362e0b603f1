"""From answers to figures: every record judged at each level, then counted by set, split and kind.

Pure functions over plain data, so the figures of a committed report can be
recomputed from its ``answers.jsonl`` without a model or a browser.
"""
from __future__ import annotations

import random
import statistics
from collections import Counter
from dataclasses import asdict, dataclass
from typing import Callable, Iterable, Sequence

from eval_harness.realweb.backend_level import NOT_SENT_SVG
from eval_harness.realweb.judge import (DECORATIVE_VERDICTS, INFORMATIVE_VERDICTS, Answer, is_image_of_text,
                                        reads_exactly, repeats_defect, spoken_text, verdict)
from eval_harness.realweb.records import MARKER, Record, page_words_text

CONFIDENCE_BINS = (0.0, 0.35, 0.5, 0.7, 0.85, 1.0001)


@dataclass(frozen=True)
class Judged:
    """One record's answer at one level, with the judge's verdict and per-kind checks."""

    level: str
    set_name: str
    split: str
    kind: str
    record_id: str
    image: str
    alt: str
    answer: str
    decorative: bool
    written: bool
    low_confidence: bool
    confidence: float | None
    note: str
    verdict: str
    defect: str  # the corpus defect the answer repeats, or ""
    image_of_text: bool
    read_exactly: bool
    control_only_content: bool  # an informative image that is its link's only content

    @property
    def informative(self) -> bool:
        return self.alt != ""

    def to_dict(self) -> dict:
        return asdict(self)


def judge_all(level: str, records: Sequence[Record], answers: Sequence[Answer],
              ocr_by_record: dict[str, str] | None = None) -> list[Judged]:
    """Judge every answer of one level. Records a level did not attempt (SVG at the backend level)
    are left out of that level. ``ocr_by_record``: the image's text as the backend read it, which
    decides "image of text" for both levels alike."""
    ocr_by_record = ocr_by_record or {}
    out = []
    for record, answer in zip(records, answers):
        if answer.note == NOT_SENT_SVG:
            continue
        ocr = ocr_by_record.get(record.id, answer.ocr_text)
        text_image = record.alt != "" and is_image_of_text(record.alt, ocr, record.tutorial_category)
        nearby = record.context.replace(MARKER, " ")
        out.append(Judged(
            level=level, set_name=record.set_name, split=record.split, kind=record.kind, record_id=record.id,
            image=str(record.image_path.name), alt=record.alt, answer=answer.text, decorative=answer.decorative,
            written=answer.written, low_confidence=answer.low_confidence or spoken_text(answer.text)[1],
            confidence=answer.confidence, note=answer.note,
            verdict=verdict(record.alt, answer, page_words_text(record) + " " + ocr),
            defect=repeats_defect(answer.text, record.file_name, nearby) if answer.written and not answer.decorative
            else "",
            image_of_text=text_image, read_exactly=text_image and reads_exactly(record.alt, answer.text),
            control_only_content=record.in_link and record.alt != ""))
    return out


def share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def figures(rows: Iterable[Judged]) -> dict:
    """The headline figures of a group of judged rows (one set, split, level, or kind)."""
    rows = list(rows)
    informative = [r for r in rows if r.informative]
    decorative = [r for r in rows if not r.informative]
    counts = Counter(r.verdict for r in rows)
    spoken = [r for r in rows if r.written and not r.decorative and r.answer]
    text_rows = [r for r in informative if r.image_of_text]
    controls = [r for r in informative if r.control_only_content]
    out = {
        "records": len(rows), "informative": len(informative), "author_decorative": len(decorative),
        "verdicts": {v: counts.get(v, 0) for v in (*INFORMATIVE_VERDICTS, *DECORATIVE_VERDICTS)},
        "spoken_answers": len(spoken),
        "defect_answers": sum(1 for r in spoken if r.defect),
        "defects": dict(Counter(r.defect for r in spoken if r.defect)),
        "images_of_text": len(text_rows), "read_exactly": sum(r.read_exactly for r in text_rows),
        "link_only_content": len(controls),
        "link_only_content_grounded": sum(r.verdict == "grounded" for r in controls),
    }
    shares = {f"{v}_share": share(counts.get(v, 0), len(informative)) for v in INFORMATIVE_VERDICTS}
    shares["decorative_right_share"] = share(counts.get("decorative_right", 0), len(decorative))
    shares["defect_share"] = share(out["defect_answers"], len(spoken))
    shares["read_exactly_share"] = share(out["read_exactly"], len(text_rows))
    out.update(shares)
    return out


def grouped(rows: Sequence[Judged], *keys: str) -> dict[str, dict]:
    """``figures`` per combination of the given fields, keyed "a / b"."""
    groups: dict[str, list[Judged]] = {}
    for r in rows:
        groups.setdefault(" / ".join(str(getattr(r, k)) for k in keys), []).append(r)
    return {key: figures(group) for key, group in sorted(groups.items())}


def confidence_table(rows: Sequence[Judged]) -> dict:
    """Is low confidence where the nonsense is? Per verdict: median confidence and the share flagged
    low-confidence; per confidence bin: the verdicts of spoken answers to informative images."""
    spoken = [r for r in rows if r.written and not r.decorative and r.confidence is not None]
    per_verdict = {}
    for v in sorted({r.verdict for r in spoken}):
        group = [r for r in spoken if r.verdict == v]
        per_verdict[v] = {"answers": len(group),
                          "median_confidence": round(statistics.median(r.confidence for r in group), 3),
                          "flagged_low_confidence": share(sum(r.low_confidence for r in group), len(group))}
    bins = {}
    for low, high in zip(CONFIDENCE_BINS, CONFIDENCE_BINS[1:]):
        group = [r for r in spoken if r.informative and low <= r.confidence < high]
        bins[f"{low:.2f}-{min(high, 1.0):.2f}"] = dict(Counter(r.verdict for r in group))
    return {"per_verdict": per_verdict, "informative_by_confidence": bins}


def level_differences(backend: Sequence[Judged], page: Sequence[Judged]) -> dict:
    """Where the two levels' verdicts differ, counted by the page level's note (the extension's own
    decision: tiny images, links with their own text, repeated images, SVG rasterised in the page)."""
    by_id = {r.record_id: r for r in backend}
    reasons: Counter = Counter()
    examples: dict[str, list] = {}
    compared = differ = 0
    for p in page:
        b = by_id.get(p.record_id)
        if b is None:
            reasons["judged at the page level only (SVG)"] += 1
            continue
        compared += 1
        if b.verdict != p.verdict:
            differ += 1
            # the page level's note is "<mark>: <why>"; without a why, the context the extension collected differs
            reason = p.note.partition(": ")[2] or "the extension's own context (same image)"
            reasons[reason] += 1
            examples.setdefault(reason, []).append((p.image, b.verdict, p.verdict))
    return {"compared": compared, "differ": differ, "reasons": dict(reasons.most_common()),
            "examples": {k: v[:3] for k, v in examples.items()}}


@dataclass(frozen=True)
class Goal:
    """One goal figure of the issues that set them: the share of ``whole`` rows that are ``part`` rows,
    at most or at least ``target``."""

    issue: str
    figure: str
    whole: Callable[[Judged], bool]
    part: Callable[[Judged], bool]
    at_least: bool
    target: float


def _informative(kind: str = "") -> Callable[[Judged], bool]:
    return lambda r: r.informative and (not kind or r.kind == kind)


def _grounded(r: Judged) -> bool:
    return r.verdict == "grounded"


GOALS = (
    Goal("26", "ungrounded answers, share of informative images", _informative(),
         lambda r: r.verdict == "ungrounded", False, 0.02),
    Goal("26", "meaningful images hidden as decorative", _informative(), lambda r: r.verdict == "hidden", False, 0.02),
    Goal("26", "author-decorative images answered decorative", lambda r: not r.informative,
         lambda r: r.verdict == "decorative_right", True, 0.90),
    Goal("26", "spoken answers that repeat a corpus defect template",
         lambda r: r.written and not r.decorative and bool(r.answer), lambda r: bool(r.defect), False, 0.0),
    Goal("26, 27", "images of text read exactly", lambda r: r.image_of_text, lambda r: r.read_exactly, True, 0.95),
    Goal("27", "informative images grounded", _informative(), _grounded, True, 0.40),
    Goal("27", "screenshots grounded", _informative("screenshot"), _grounded, True, 0.50),
    Goal("27", "charts and diagrams grounded", _informative("chart/diagram"), _grounded, True, 0.50),
    Goal("27", "logos grounded", _informative("logo"), _grounded, True, 0.70),
    Goal("27", "icons that are a link's only content, grounded",
         lambda r: r.informative and r.kind == "icon" and r.control_only_content, _grounded, True, 0.80),
    Goal("27", "photographs answered with words nothing supports", _informative("photo"),
         lambda r: r.verdict == "ungrounded", False, 0.0),
)


def goal_figures(rows: Sequence[Judged], goals: Sequence[Goal] = GOALS) -> list[dict]:
    """Each goal measured on ``rows`` (the report passes the test split at page level): counts, share,
    and whether it is met (None when no row counts)."""
    out = []
    for g in goals:
        whole = [r for r in rows if g.whole(r)]
        part = sum(1 for r in whole if g.part(r))
        measured = share(part, len(whole))
        met = None if measured is None else (measured >= g.target if g.at_least else measured <= g.target)
        out.append({"issue": g.issue, "figure": g.figure, "part": part, "whole": len(whole), "share": measured,
                    "goal": ("at least " if g.at_least else "at most ") + f"{g.target:.0%}", "met": met})
    return out


def audit_rows(rows: Sequence[Judged], per_verdict: int = 20, seed: int = 0) -> dict[str, list[Judged]]:
    """A seeded random sample of rows per verdict, for a person to check the judge."""
    rng = random.Random(seed)
    out = {}
    for v in (*INFORMATIVE_VERDICTS, *DECORATIVE_VERDICTS):
        group = [r for r in rows if r.verdict == v]
        out[v] = sorted(rng.sample(group, min(per_verdict, len(group))), key=lambda r: r.record_id)
    return out
