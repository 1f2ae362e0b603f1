"""The describe flow: parse and validate every item, then cache → OCR → model → store → answer.

Every item is validated before any work is done, so one bad item fails the whole
request with its index (docs/api.md). An image whose answer this process holds
in memory (backend.answer_cache) is only checked as bytes (size, not SVG):
those same bytes were decoded and validated when the answer was made, and a
hit must not pay for decoding. The database is an aid, not a dependency: when
it is down, descriptions are still made and answered, only not cached or stored.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from flask import Request
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import Session

from backend import storage
from backend.answer_cache import AnswerCache
from backend.auth import Caller
from backend.config import Config
from backend.context_builder import build_context
from backend.errors import ApiError
from backend.honest import parse_honest
from backend.images import DecodedImage, check_bytes, decode_base64, decode_image, sha256_of
from backend.modelinput import PageContext
from backend.models import Generation, new_id

log = logging.getLogger(__name__)


Key = tuple[str, str]  # image sha256, context sha256


@dataclass
class Item:
    """One image of a request: bytes checked, context cleaned; decoded only when its answer must be made."""

    data: bytes
    sha256: str
    context: PageContext
    context_sha256: str
    image: DecodedImage | None = None

    @property
    def key(self) -> Key:
        return self.sha256, self.context_sha256


def parse_json_body(request: Request) -> Any:
    """The request's JSON, refusing other content types (415) and malformed or too-deep JSON (400)."""
    if request.mimetype != "application/json":
        raise ApiError(415, "unsupported_media_type", "send application/json")
    try:
        return json.loads(request.get_data(cache=False))
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        raise ApiError(400, "invalid_json", "the body is not valid UTF-8 JSON") from None


def _context(entry: dict[str, Any], config: Config) -> PageContext:
    context, html, image_id = entry.get("context"), entry.get("html"), entry.get("image_id")
    if context is not None:
        if not isinstance(context, dict):
            raise ApiError(400, "invalid_shape", "'context' must be an object")
        return PageContext.from_mapping(context)
    if html is not None:
        if not isinstance(html, str):
            raise ApiError(400, "invalid_shape", "'html' must be a string")
        if len(html) > config.max_html_chars:
            raise ApiError(413, "html_too_large", f"'html' longer than {config.max_html_chars} characters")
        if image_id is not None and not isinstance(image_id, str):
            raise ApiError(400, "invalid_shape", "'image_id' must be a string")
        return build_context(html, image_id)
    return PageContext()


def _item(data: bytes, entry: dict[str, Any], config: Config) -> Item:
    context = _context(entry, config)
    check_bytes(data, config.max_image_bytes)
    return Item(data, sha256_of(data), context, storage.context_hash(context))


def decode_items(items: list[Item], config: Config, answered: dict[Key, Any]) -> None:
    """Decode (and so fully validate) every item not already answered, failing with the first bad one's index."""
    for index, item in enumerate(items):
        if item.key in answered:
            continue
        try:
            item.image = decode_image(item.data, config.max_image_bytes, config.max_image_pixels)
        except ApiError as exc:
            raise exc.with_index(index)


def _check_batch(entries: Any, config: Config) -> list:
    if not isinstance(entries, list) or not entries:
        raise ApiError(400, "invalid_shape", "'images' must be a non-empty list")
    if len(entries) > config.max_batch:
        raise ApiError(413, "batch_too_large", f"at most {config.max_batch} images per request")
    return entries


def items_from_json(body: Any, config: Config) -> list[Item]:
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_shape", "the body must be a JSON object with 'images'")
    items = []
    for index, entry in enumerate(_check_batch(body.get("images"), config)):
        try:
            if not isinstance(entry, dict):
                raise ApiError(400, "invalid_shape", "each item must be an object")
            data = decode_base64(entry.get("image"), config.max_image_bytes)
            items.append(_item(data, entry, config))
        except ApiError as exc:
            raise exc.with_index(index)
    return items


def items_from_multipart(request: Request, config: Config) -> list[Item]:
    files = _check_batch(request.files.getlist("image"), config)
    raw_items = request.form.get("items")
    entries: Any = [{} for _ in files]
    if raw_items is not None:
        try:
            entries = json.loads(raw_items)
        except (ValueError, RecursionError):
            raise ApiError(400, "invalid_json", "'items' is not valid JSON") from None
        if not isinstance(entries, list) or len(entries) != len(files):
            raise ApiError(400, "invalid_shape", "'items' must be a list with one entry per image file")
    items = []
    for index, (upload, entry) in enumerate(zip(files, entries)):
        try:
            if not isinstance(entry, dict):
                raise ApiError(400, "invalid_shape", "each item must be an object")
            if (upload.mimetype or "").startswith("image/svg") or upload.mimetype in ("text/xml", "application/xml"):
                raise ApiError(415, "unsupported_image_type", "SVG and XML images are not accepted")
            data = upload.stream.read(config.max_image_bytes + 1)
            items.append(_item(data, entry, config))
        except ApiError as exc:
            raise exc.with_index(index)
    return items


def _result(generation: Generation, cached: bool) -> dict[str, Any]:
    return {
        "generation_id": generation.id,
        "description": generation.description,
        "decorative": bool(generation.decorative),
        "confidence": round(float(generation.confidence), 4),
        "low_confidence": bool(generation.low_confidence),
        # The honest form (backend/honest.py): nothing supported the model's answer, so this is all it says.
        "honest": bool(generation.low_confidence) and parse_honest(generation.description or "") is not None,
        "ocr_text": generation.ocr_text,
        "model_version": generation.model_version,
        "candidates": list(generation.candidates or []),
        "cached": cached,
    }


class Describer:
    """Runs the flow for one request with one engine (taken once, so a model swap mid-request is harmless)."""

    def __init__(self, engine: Any, ocr: Any, session: Session, caller: Caller, models_dir: str,
                 answers: AnswerCache):
        self.engine, self.ocr, self.session, self.caller = engine, ocr, session, caller
        self.models_dir, self.answers = models_dir, answers
        self.db_ok = True

    def _db(self, action, default=None):
        """Run a storage step; on a database outage note it, and go on without storage."""
        if not self.db_ok:
            return default
        try:
            return action()
        except (OperationalError, InterfaceError) as exc:
            log.warning("database unavailable during describe (%s); answering without storing", exc.__class__.__name__)
            self.db_ok = False
            try:
                self.session.rollback()
            except Exception:
                pass
            return default

    def remembered(self, items: list[Item]) -> dict[Key, dict[str, Any]]:
        """Answers this process holds for the served model version: no decoding, no database."""
        found: dict[Key, dict[str, Any]] = {}
        for item in items:
            if item.key not in found:
                hit = self.answers.get((*item.key, self.engine.version))
                if hit is not None:
                    found[item.key] = hit
        return found

    def describe(self, items: list[Item], answered: dict[Key, dict[str, Any]]) -> tuple[list[dict[str, Any]], int]:
        """Results in request order, and how many came from a cache (``answered``: from :meth:`remembered`)."""
        version = self.engine.version
        results: dict[Key, dict[str, Any]] = dict(answered)
        misses: dict[Key, Item] = {item.key: item for item in items if item.key not in results}
        stored = self._db(lambda: storage.cached_generations(self.session, list(misses), version), default={})
        for key, hit in stored.items():
            results[key] = _result(hit, cached=True)
            self.answers.put((*key, version), results[key])
            del misses[key]
        cached = len(results)
        if misses:
            todo = list(misses.items())
            reads = [self.ocr.read_with_title(i.image.image, self.engine.ocr_limit(i.image.image.size))
                     for _, i in todo]
            ocr_texts = [r.text for r in reads]
            answers = self.engine.describe([i.image.image for _, i in todo], [i.context for _, i in todo], ocr_texts,
                                           [r.title for r in reads])
            generations = []
            for (key, item), answer, ocr_text in zip(todo, answers, ocr_texts):
                generation = Generation(
                    id=new_id(), description=answer.description, decorative=bool(answer.decorative),
                    confidence=float(answer.confidence), low_confidence=bool(answer.low_confidence),
                    ocr_text=ocr_text, candidates=[str(c) for c in answer.candidates], model_version=version,
                    model_answer=answer.model_answer, client_id=self.caller.id)
                generations.append((key, item, generation))
                results[key] = _result(generation, cached=False)
            if self._db(lambda: self._store(generations), default=False):
                for key, _item, _generation in generations:  # stored, so feedback can use the id a hit returns
                    self.answers.put((*key, version), results[key])
        return [results[i.key] for i in items], cached

    def _store(self, generations) -> bool:
        storage.note_model_version(self.session, self.engine.version, f"{self.models_dir}/{self.engine.version}")
        images = storage.image_ids(self.session, [item.image for _key, item, _generation in generations])
        contexts = storage.context_ids(self.session, [(item.context, item.context_sha256)
                                                      for _key, item, _generation in generations])
        for _key, item, generation in generations:
            generation.image_id = images[item.image.sha256]
            generation.context_id = contexts[item.context_sha256]
            self.session.add(generation)
        self.session.commit()
        return True
