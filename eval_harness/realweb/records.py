"""Real-web records: one (page, image, author's alt) pair, read from a manifest or the paper's format.

The one place that says what the page gives about an image (:func:`page_context`),
so that the backend level and the rebuilt pages of the page level ask with the
same context. Nothing here looks at particular images: any manifest in the
``../shared/data/realweb`` format (fields in its README) is read the same way.
"""
from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

from backend.modelinput import FIELD_LIMITS, PageContext, clean_text

REPO = Path(__file__).resolve().parents[2]
DEFAULT_ROOT = REPO.parent / "shared" / "data" / "realweb"
MARKER = "[IMAGE]"
SPLITS = ("dev", "test")


@dataclass(frozen=True)
class Record:
    """One image as its page uses it, and what its author wrote for it (``alt == ""``: decorative)."""

    set_name: str
    id: str
    image_path: Path
    alt: str
    split: str
    kind: str = "other"
    page: str = ""
    page_title: str = ""
    lang: str = ""
    heading: str = ""
    figcaption: str = ""
    title_attr: str = ""
    link_href: str = ""
    context: str = ""  # the page's text around the image, MARKER where it stands
    context_has_alt: bool = False
    width: int = 0
    height: int = 0
    tutorial_category: str = ""
    alt_flags: tuple[str, ...] = field(default_factory=tuple)

    @property
    def decorative(self) -> bool:
        return self.alt == ""

    @property
    def is_svg(self) -> bool:
        return self.image_path.suffix.lower() == ".svg"

    @property
    def file_name(self) -> str:
        return self.image_path.name.split("__")[-1]

    @property
    def in_link(self) -> bool:
        return bool(self.link_href)

    @property
    def before_text(self) -> str:
        return self.context.split(MARKER, 1)[0].strip() if MARKER in self.context else self.context.strip()

    @property
    def after_text(self) -> str:
        return self.context.split(MARKER, 1)[1].strip() if MARKER in self.context else ""

    def link_own_text(self) -> str:
        """The text of the link an author-decorative image sits in, as far as the record tells.

        An author who wrote ``alt=""`` inside a link relied on the link's own text; the
        manifest does not keep it, so the page's words right after the image (else
        before it, else the heading) stand in: in card and thumbnail lists that is
        where the link's title is. Informative images in links get no text: their alt
        was the link's name.
        """
        if not (self.in_link and self.decorative):
            return ""
        for text in (_first_phrase(self.after_text), _last_phrase(self.before_text), self.heading, self.page_title):
            if text:
                return text
        return "Link"


def _first_phrase(text: str, limit: int = 80) -> str:
    part = re.split(r"(?<=[.!?])\s|\s[|•]\s", text.strip(), maxsplit=1)[0] if text.strip() else ""
    return part[:limit].rsplit(" ", 1)[0] if len(part) > limit else part


def _last_phrase(text: str, limit: int = 80) -> str:
    parts = [p for p in re.split(r"(?<=[.!?])\s|\s[|•]\s", text.strip()) if p.strip()]
    part = parts[-1].strip() if parts else ""
    return part[-limit:].split(" ", 1)[-1] if len(part) > limit else part


def surrounding_text(record: Record, limit: int = FIELD_LIMITS["surrounding_text"]) -> str:
    """The page's words nearest the image, both sides, within the backend's bound."""
    before, after = record.before_text, record.after_text
    half = limit // 2
    if len(before) > half:
        before = before[-half:].split(" ", 1)[-1]
    text = (before + " " + after).strip()
    return clean_text(text, limit)


def page_context(record: Record) -> PageContext:
    """What the page gives the extension about this image, as the API's ``context`` object.

    Where the page explains its own alt (``context_has_alt``: tutorial pages quote
    their examples), the text around the image, its caption and heading are
    withheld, or the answer would be given away; title, language, file name, size
    and the enclosing link stay.
    """
    withhold = record.context_has_alt
    control = {}
    if record.in_link:
        control = {"control_role": "link", "control_href": record.link_href,
                   "control_text": record.link_own_text(), "only_content": not record.decorative}
    return PageContext.from_mapping({
        "page_title": record.page_title, "lang": record.lang,
        "heading": "" if withhold else record.heading,
        "caption": "" if withhold else record.figcaption,
        "surrounding_text": "" if withhold else surrounding_text(record),
        "file_name": record.file_name, "width": record.width, "height": record.height, **control})


def page_words_text(record: Record) -> str:
    """Everything the page itself says around the image (what an honest answer may repeat), with the
    target of the link it sits in: the page's markup says where a link goes."""
    if record.context_has_alt:
        return " ".join((record.page_title, record.link_own_text(), record.link_href))
    return " ".join((record.page_title, record.heading, record.figcaption, record.title_attr,
                     record.context.replace(MARKER, " "), record.link_own_text(), record.link_href))


def _text(value) -> str:
    return "" if value is None else str(value)


def read_manifest(path: str | Path) -> list[Record]:
    """Every line of one ``manifest.jsonl``; a line that cannot be used is an error, not a silent skip."""
    path = Path(path)
    set_name = path.parent.name
    records = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        row = json.loads(line)
        missing = [k for k in ("image_file", "alt", "split") if k not in row]
        if missing:
            raise ValueError(f"{path}:{number}: missing {', '.join(missing)}")
        image = path.parent / row["image_file"]
        records.append(Record(
            set_name=set_name, id=f"{set_name}:{number}", image_path=image, alt=_text(row["alt"]).strip(),
            split=row["split"], kind=_text(row.get("kind")) or "other", page=_text(row.get("page")),
            page_title=_text(row.get("page_title")), lang=_text(row.get("lang")), heading=_text(row.get("heading")),
            figcaption=_text(row.get("figcaption")), title_attr=_text(row.get("title_attr")),
            link_href=_text(row.get("link_href")), context=_text(row.get("context")),
            context_has_alt=bool(row.get("context_has_alt")), width=int(row.get("width") or 0),
            height=int(row.get("height") or 0), tutorial_category=_text(row.get("tutorial_category")),
            alt_flags=tuple(row.get("alt_flags") or ())))
    return records


def read_paper(path: str | Path, split: str = "test") -> list[Record]:
    """The paper's TAlt/PAlt files (``../shared/data/mcmdpo-sample``) as records: the post text is the
    page's text, the chosen alt the author's. Their split is ``split`` (they have no pages to split by)."""
    from trainer.data import load_paper

    path = Path(path)
    result = load_paper(path)
    set_name = f"paper-{path.stem}"
    records = []
    for number, example in enumerate(result.examples, 1):
        if example.image_path is None:
            continue
        records.append(Record(set_name=set_name, id=f"{set_name}:{example.meta.get('idx', number)}",
                              image_path=Path(example.image_path), alt=example.chosen.strip(), split=split,
                              kind="photo", context=example.context.surrounding_text + " " + MARKER,
                              page_title=example.context.page_title))
    unique = {r.id: r for r in records}  # a paper record yields one example per rejected text
    return list(unique.values())


def find_manifests(paths: Iterable[str | Path]) -> list[Path]:
    """Manifests named directly or found one level below a folder (a set per folder)."""
    out = []
    for p in map(Path, paths):
        if p.is_file():
            out.append(p)
        elif (p / "manifest.jsonl").is_file():
            out.append(p / "manifest.jsonl")
        elif p.is_dir():
            out += sorted(p.glob("*/manifest.jsonl"))
        else:
            raise FileNotFoundError(f"{p}: no manifest, paper file or folder of sets")
    return out


def load(paths: Sequence[str | Path], splits: Sequence[str] = SPLITS, per_set: int | None = None,
         seed: int = 0) -> list[Record]:
    """Records of the given splits from manifests or paper files; ``per_set``: a seeded sample per set and
    split (the same one for every model, so runs compare), decorative and informative in their proportions."""
    records: list[Record] = []
    for path in map(Path, paths):
        if path.suffix == ".json":
            records += [r for r in read_paper(path) if r.split in splits]
        else:
            for manifest in find_manifests([path]):
                records += [r for r in read_manifest(manifest) if r.split in splits]
    if not records:
        raise ValueError(f"no records of split {'/'.join(splits)} in {', '.join(map(str, paths))}")
    if per_set is None:
        return records
    groups: dict[tuple[str, str], list[Record]] = {}
    for r in records:
        groups.setdefault((r.set_name, r.split), []).append(r)
    out = []
    for key in sorted(groups):
        group = groups[key]
        out += sorted(random.Random(f"{seed}:{key}").sample(group, min(per_set, len(group))),
                      key=lambda r: int(r.id.rsplit(":", 1)[1]) if r.id.rsplit(":", 1)[1].isdigit() else 0)
    return out
