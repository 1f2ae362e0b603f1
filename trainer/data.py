"""Training data from every source the trainer reads, as one record type.

Sources (each a file; relative image paths resolve against the file's folder):

* the paper's data (LVUGAI/MCM-DPO, see ``shared/data/mcmdpo-sample/README.md``):
  a JSON array whose records hold ``text``, a JSON *string* with
  ``question``/``chosen``/``rejected`` (Pinterest records repeat those at top
  level, lower-cased, sometimes without the newline after the prompt), or the
  test layout, JSON Lines with ``image_path``/``question``/``chosen`` and no
  ``rejected``. The post text after the fixed prompt becomes the page context's
  ``surrounding_text``;
* the project's own corpus (corpus/generate.py), JSON Lines with
  ``image_path``, ``html``, ``context`` (PageContext fields), ``category``,
  ``reference``, ``decorative``, ``sft_target`` and a ``rejected`` list, where
  an empty text stands for alt="" (decorative);
* preference pairs exported from the backend (``flask export-pairs``), JSON
  Lines with ``image_path`` or ``image_base64`` (or ``image``: a path, base64
  or a data URL), ``context``, ``chosen``, ``rejected``, ``*_decorative``,
  ``weight`` and ``provenance`` (whose ``ocr_text`` becomes the example's).

A bad record (missing or unreadable image, empty text, broken JSON) is logged,
counted and skipped: one bad line never stops a training run.
"""
from __future__ import annotations

import base64
import binascii
import io
import json
import logging
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

from PIL import Image

from backend.modelinput import PageContext, prepare_image

log = logging.getLogger(__name__)

# The paper's fixed prompt before the post text, in both its spellings
# ("...image.Context:\n" on Twitter, "...image.\ncontext:\n" lower-cased on Pinterest).
PAPER_PROMPT = re.compile(
    r"^\s*given an image and context, generate alt-text for the image\.?\s*(?:context:)?\s*",
    re.IGNORECASE,
)


class BadRecord(ValueError):
    """A record that cannot become a training example; the message says why."""


@dataclass(frozen=True)
class PreferenceExample:
    """One training example: an image, its page context and a (chosen, rejected) pair.

    ``rejected`` is None where the source has none (the paper's test layout, a
    corpus entry without negatives): such examples serve SFT and evaluation.
    ``*_decorative`` mark a response that is "this image is decorative"
    (``alt=""``), which the model produces as a special token. ``weight``
    scales the example's loss (weaker for thumbs-up pairs). ``source`` says
    where the example came from (``file:record``) so that a bad or poisoned
    one can be traced and removed; ``meta`` keeps the source's other fields
    (idx, category, reference, provenance, ...).
    """

    context: PageContext
    chosen: str
    rejected: str | None = None
    image_path: Path | None = None
    image_bytes: bytes | None = field(default=None, repr=False)
    chosen_decorative: bool = False
    rejected_decorative: bool = False
    ocr_text: str = ""
    weight: float = 1.0
    source: str = ""
    meta: Mapping[str, Any] = field(default_factory=dict, compare=False)
    points_at_ocr: bool = True  # responses name the words read by pointer, where the tokenizer has them

    @property
    def is_pair(self) -> bool:
        return self.rejected is not None

    def load_image(self) -> Image.Image:
        """The image, upright RGB (see ``backend.modelinput.prepare_image``)."""
        if self.image_bytes is not None:
            image = Image.open(io.BytesIO(self.image_bytes))
        elif self.image_path is not None:
            image = Image.open(self.image_path)
        else:
            raise BadRecord(f"{self.source}: example has no image")
        with image:
            return prepare_image(image)


@dataclass
class LoadResult:
    """Examples read from one or more files, with the count and reasons of what was skipped."""

    examples: list[PreferenceExample] = field(default_factory=list)
    skipped: int = 0
    problems: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.examples)

    def __iter__(self) -> Iterator[PreferenceExample]:
        return iter(self.examples)

    def skip(self, where: str, reason: str) -> None:
        self.skipped += 1
        self.problems.append(f"{where}: {reason}")
        log.warning("skipped %s: %s", where, reason)

    def extend(self, other: "LoadResult") -> "LoadResult":
        self.examples.extend(other.examples)
        self.skipped += other.skipped
        self.problems.extend(other.problems)
        return self


# --------------------------------------------------------------------------- helpers


def _records(path: Path, result: LoadResult) -> Iterator[tuple[str, Any]]:
    """(location, record) for a JSON array file or a JSON Lines file; broken ones are skipped."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        result.skip(str(path), f"unreadable file ({exc})")
        return
    if text.lstrip().startswith("["):
        try:
            records = json.loads(text)
        except json.JSONDecodeError as exc:
            result.skip(str(path), f"not valid JSON ({exc})")
            return
        for i, record in enumerate(records):
            yield f"{path}#{i}", record
        return
    for line_no, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            yield f"{path}:{line_no}", json.loads(line)
        except json.JSONDecodeError as exc:
            result.skip(f"{path}:{line_no}", f"not valid JSON ({exc})")


def _check_image(path: Path | None = None, data: bytes | None = None) -> None:
    """Raise :class:`BadRecord` unless the image file/bytes decode completely."""
    try:
        with Image.open(path if path is not None else io.BytesIO(data or b"")) as image:
            image.load()
    except Exception as exc:  # PIL raises many types for broken or hostile files
        raise BadRecord(f"unreadable image ({type(exc).__name__}: {exc})") from exc


def _resolve_path(base: Path, name: str, candidates: tuple[Path, ...] = ()) -> Path:
    if not name or not isinstance(name, str):
        raise BadRecord("no image path")
    for folder in (base, *candidates):
        path = (folder / name).resolve()
        if path.is_file():
            return path
    raise BadRecord(f"missing image {name!r}")


def _text(value: Any, what: str, allow_empty: bool = False) -> str:
    if value is None or not isinstance(value, str):
        raise BadRecord(f"{what} is missing or not text")
    if not value.strip() and not allow_empty:
        raise BadRecord(f"{what} is empty")
    return value


def _decode_image_field(value: str, base: Path) -> tuple[Path | None, bytes | None]:
    """A backend export's ``image``: a path (relative to the file) or base64 / a data URL."""
    if not isinstance(value, str) or not value:
        raise BadRecord("no image")
    if value.startswith("data:"):
        value = value.partition(",")[2]
    elif len(value) < 1024:
        path = (base / value).resolve()
        if path.is_file():
            return path, None
    try:
        return None, base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise BadRecord("image is neither an existing file nor base64") from None


def _load(path: str | Path, parse: Callable[[Path, str, Any], list[PreferenceExample]],
          check_images: bool) -> LoadResult:
    path = Path(path)
    result = LoadResult()
    for where, record in _records(path, result):
        try:
            if not isinstance(record, dict):
                raise BadRecord("record is not an object")
            examples = parse(path.parent, where, record)
            if check_images:
                first = examples[0]
                _check_image(path=first.image_path, data=first.image_bytes)
        except BadRecord as exc:
            result.skip(where, str(exc))
            continue
        result.examples.extend(examples)
    log.info("%s: %d examples, %d records skipped", path, len(result.examples), result.skipped)
    return result


# --------------------------------------------------------------------------- paper format


def context_from_question(question: str) -> PageContext:
    """The paper's ``question`` (fixed prompt + post text) as a PageContext, post text bounded."""
    post = PAPER_PROMPT.sub("", question, count=1)
    return PageContext.from_mapping({"surrounding_text": post})


def _parse_paper(base: Path, where: str, record: Mapping[str, Any], json_stem: str) -> list[PreferenceExample]:
    fields_: Mapping[str, Any] = record
    if "text" in record:
        try:
            fields_ = json.loads(record["text"]) if isinstance(record["text"], str) else record["text"]
        except json.JSONDecodeError:
            fields_ = {}
        if not isinstance(fields_, dict) or "chosen" not in fields_:
            if "chosen" not in record:
                raise BadRecord("'text' is not a JSON object with 'chosen'")
            fields_ = record  # Pinterest records repeat the fields at top level
    image = record.get("image")
    name = record.get("image_path") or (image.get("path") if isinstance(image, dict) else None)
    image_path = _resolve_path(base, name, (base / "images", base / "image" / json_stem))
    question = _text(fields_.get("question"), "question")
    rejected = fields_.get("rejected")
    return [PreferenceExample(
        context=context_from_question(question),
        chosen=_text(fields_.get("chosen"), "chosen"),
        rejected=None if rejected is None else _text(rejected, "rejected"),
        image_path=image_path,
        source=where,
        meta={k: record[k] for k in ("idx", "ds_name", "origin_dataset") if k in record},
    )]


def load_paper(path: str | Path, check_images: bool = True) -> LoadResult:
    """The paper's train (JSON array) or test (JSON Lines, no ``rejected``) file.

    Images are looked up as written, then under ``images/`` and under
    ``image/<file stem>/`` beside the file (the sample's and the paper
    repository's layouts).
    """
    stem = Path(path).stem
    return _load(path, lambda base, where, rec: _parse_paper(base, where, rec, stem), check_images)


# --------------------------------------------------------------------------- project corpus


def _parse_corpus(base: Path, where: str, record: Mapping[str, Any]) -> list[PreferenceExample]:
    """Corpus convention (corpus/generate.py): an empty text stands for alt="" (decorative)."""
    image_path = _resolve_path(base, record.get("image_path"))
    target = record.get("sft_target")
    if target is None:
        target = record.get("reference")
    chosen = _text(target, "sft_target", allow_empty=True)
    context = record.get("context")
    if context is not None and not isinstance(context, dict):
        raise BadRecord("context is not an object")
    common = dict(
        context=PageContext.from_mapping(context),
        chosen=chosen,
        chosen_decorative=not chosen.strip(),
        image_path=image_path,
        source=where,
        meta={k: record[k] for k in ("id", "category", "decided_by", "reference", "decorative", "sft_defect", "html",
                                     "asset") if k in record},
    )
    rejected = record.get("rejected") or []
    if not isinstance(rejected, list):
        raise BadRecord("rejected is not a list")
    if not rejected:
        return [PreferenceExample(**common)]
    texts = [_text(item, f"rejected[{i}]", allow_empty=True) for i, item in enumerate(rejected)]
    return [PreferenceExample(**common, rejected=text, rejected_decorative=not text.strip()) for text in texts]


def load_corpus(path: str | Path, check_images: bool = True) -> LoadResult:
    """The project's corpus (JSON Lines): one example per rejected text, or one SFT example."""
    return _load(path, _parse_corpus, check_images)


# --------------------------------------------------------------------------- backend pairs


def _parse_pair(base: Path, where: str, record: Mapping[str, Any]) -> list[PreferenceExample]:
    """``flask export-pairs`` writes ``image_path`` or ``image_base64``; ``image`` may be either."""
    image = record.get("image") or record.get("image_path") or record.get("image_base64")
    image_path, image_bytes = _decode_image_field(image, base)
    context = record.get("context")
    if context is not None and not isinstance(context, dict):
        raise BadRecord("context is not an object")
    chosen_decorative = bool(record.get("chosen_decorative", False))
    rejected_decorative = bool(record.get("rejected_decorative", False))
    try:
        weight = float(record.get("weight", 1.0))
    except (TypeError, ValueError):
        raise BadRecord(f"weight {record.get('weight')!r} is not a number") from None
    if not math.isfinite(weight) or weight <= 0:
        raise BadRecord(f"weight {weight} is not positive")
    provenance = record.get("provenance")
    ocr = record.get("ocr_text") or (provenance.get("ocr_text") if isinstance(provenance, dict) else "") or ""
    return [PreferenceExample(
        context=PageContext.from_mapping(context),
        chosen=_text(record.get("chosen"), "chosen", allow_empty=chosen_decorative),
        rejected=_text(record.get("rejected"), "rejected", allow_empty=rejected_decorative),
        image_path=image_path,
        image_bytes=image_bytes,
        chosen_decorative=chosen_decorative,
        rejected_decorative=rejected_decorative,
        ocr_text=ocr if isinstance(ocr, str) else "",
        weight=weight,
        source=where,
        meta={k: record[k] for k in ("id", "provenance", "image_sha256") if k in record},
    )]


def load_pairs(path: str | Path, check_images: bool = True) -> LoadResult:
    """Preference pairs exported from the backend (JSON Lines), provenance kept in ``meta``."""
    return _load(path, _parse_pair, check_images)


# --------------------------------------------------------------------------- any


LOADERS: dict[str, Callable[..., LoadResult]] = {"paper": load_paper, "corpus": load_corpus, "pairs": load_pairs}


def detect_format(path: str | Path) -> str:
    """``paper``, ``corpus`` or ``pairs``, from the fields of the file's first record."""
    result = LoadResult()
    for _, record in _records(Path(path), result):
        if isinstance(record, dict):
            if "text" in record or "question" in record:
                return "paper"
            if "sft_target" in record or "html" in record or "decorative" in record:
                return "corpus"
            if "chosen" in record and {"image", "image_path", "image_base64"} & set(record):
                return "pairs"
        break
    raise ValueError(f"{path}: cannot tell its format from the first record ({'; '.join(result.problems)})")


def load_examples(*paths: str | Path, fmt: str = "auto", check_images: bool = True) -> LoadResult:
    """Load and merge files of any known format (``fmt`` = auto, paper, corpus or pairs)."""
    merged = LoadResult()
    for path in paths:
        if fmt == "auto":
            try:
                kind = detect_format(path)
            except ValueError as exc:
                merged.skip(str(path), str(exc))
                continue
        else:
            kind = fmt
        if kind not in LOADERS:
            raise ValueError(f"unknown format {kind!r}; choose from {sorted(LOADERS)} or 'auto'")
        merged.extend(LOADERS[kind](path, check_images=check_images))
    return merged
