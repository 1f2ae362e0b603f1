"""Feedback → preference pairs (DESIGN.md §4), and the guards that keep training unpoisoned.

=====================================  ==================  ===================  ======
user action                            chosen              rejected             weight
=====================================  ==================  ===================  ======
writes a better description (correct)  the user's text     the model's answer   1.0
picks another candidate (pick)         the candidate       the model's answer   1.0
chooses between two shown (choose)     the picked one      the other one        1.0
thumbs down (rate down)                — no pair, the Feedback row is the signal
thumbs up (rate up)                    the generated text  lowest-ranked cand.  0.5
=====================================  ==================  ===================  ======

"The model's answer" is the generated text or, where the backend said something else in its
place (the honest form, the safe form, a decorative claim it did not believe:
``Generation.model_answer``), what the model itself said: a correction of "No description
available" must push down the model's unsupported sentence, which it would otherwise go on
saying, not a text the backend wrote.

``""`` stands for "decorative" (the model's ``alt=""``). Guards: user text is
validated (length, characters, no markup); "choose" may only name texts the
generation really offered; a client adds at most its quota of pairs per 24 h;
an identical pair (same image, context, chosen, rejected) is stored once; a
replayed feedback (same client, generation, kind, payload) is answered with the
original feedback id and creates nothing. Every pair records its client,
source feedback and time, so one client's contribution can be removed.
"""
from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.auth import Caller
from backend.errors import ApiError
from backend.models import Feedback, Generation, PreferencePair, utcnow

KINDS = ("rate", "correct", "pick", "choose")
WEIGHTS = {"correct": 1.0, "pick": 1.0, "choose": 1.0, "rate": 0.5}
MIN_TEXT_CHARS = 2
MAX_TEXT_CHARS = 300
QUOTA_WINDOW = timedelta(hours=24)

_MARKUP = re.compile(r"<\s*[a-zA-Z/!?]|&(#\d+|#x[0-9a-fA-F]+|[a-zA-Z]+);|\b(javascript|vbscript):|\bdata:[a-z]+/", re.IGNORECASE)
# Format characters allowed inside emoji sequences; other Cf (bidi overrides, zero-width) are refused.
_ALLOWED_FORMAT = {"\u200d", "\ufe0f", "\ufe0e"}
_GENERATION_ID = re.compile(r"[0-9A-Za-z_-]{1,64}")


@dataclass(frozen=True)
class Pair:
    chosen: str
    rejected: str
    weight: float


@dataclass(frozen=True)
class FeedbackOutcome:
    feedback_id: str
    pairs_created: int
    replayed: bool = False
    quota_reached: bool = False


def validate_text(value: Any, field: str = "text") -> str:
    """A user-written description, normalised, or ApiError 422 saying what is wrong with it."""
    if not isinstance(value, str):
        raise ApiError(400, "invalid_shape", f"'{field}' must be a string")
    text = " ".join(unicodedata.normalize("NFC", value).split())
    if len(text) < MIN_TEXT_CHARS:
        raise ApiError(422, "invalid_text", f"'{field}' must have at least {MIN_TEXT_CHARS} characters")
    if len(text) > MAX_TEXT_CHARS:
        raise ApiError(422, "invalid_text", f"'{field}' must have at most {MAX_TEXT_CHARS} characters")
    for ch in text:
        category = unicodedata.category(ch)
        if category in ("Cc", "Co", "Cs", "Cn") or (category == "Cf" and ch not in _ALLOWED_FORMAT):
            raise ApiError(422, "invalid_text", f"'{field}' contains a control or invisible character U+{ord(ch):04X}")
    if _MARKUP.search(text):
        raise ApiError(422, "invalid_text", f"'{field}' must be plain text, not markup or a URL scheme")
    if not any(unicodedata.category(ch)[0] in "LN" for ch in text):
        raise ApiError(422, "invalid_text", f"'{field}' must contain letters or digits")
    return text


def _same(a: str, b: str) -> bool:
    return " ".join(a.split()).casefold() == " ".join(b.split()).casefold()


def parse_feedback(body: Any) -> tuple[str, str, dict[str, Any]]:
    """(generation_id, kind, normalised payload) from a request body, or ApiError 400/422."""
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_shape", "the body must be a JSON object")
    generation_id, kind = body.get("generation_id"), body.get("kind")
    if not isinstance(generation_id, str) or not 0 < len(generation_id) <= 64:
        raise ApiError(400, "invalid_shape", "'generation_id' must be a string")
    if kind not in KINDS:
        raise ApiError(400, "invalid_shape", f"'kind' must be one of {', '.join(KINDS)}")
    if kind == "rate":
        if body.get("rating") not in ("up", "down"):
            raise ApiError(400, "invalid_shape", "'rating' must be 'up' or 'down'")
        return generation_id, kind, {"rating": body["rating"]}
    if kind == "correct":
        return generation_id, kind, {"text": validate_text(body.get("text"))}
    if kind == "pick":
        index = body.get("candidate_index")
        if not isinstance(index, int) or isinstance(index, bool):
            raise ApiError(400, "invalid_shape", "'candidate_index' must be an integer")
        return generation_id, kind, {"candidate_index": index}
    shown, chosen = body.get("shown"), body.get("chosen_index")
    if not isinstance(shown, list) or len(shown) != 2 or not all(isinstance(s, str) for s in shown):
        raise ApiError(400, "invalid_shape", "'shown' must be a list of two strings")
    if chosen not in (0, 1) or isinstance(chosen, bool):
        raise ApiError(400, "invalid_shape", "'chosen_index' must be 0 or 1")
    return generation_id, kind, {"shown": [" ".join(s.split()) for s in shown], "chosen_index": chosen}


def pairs_for(description: str, decorative: bool, candidates: list[str], kind: str,
              payload: dict[str, Any], model_answer: str | None = None) -> list[Pair]:
    """The pairs one feedback yields on a generation (DESIGN.md §4; see the module table)."""
    generated = "" if decorative else description
    said_by_model = generated if model_answer is None else model_answer
    weight = WEIGHTS[kind]
    if kind == "rate":
        if payload["rating"] == "down" or not candidates:
            return []
        lower = [c for c in candidates if not _same(c, generated)]
        return [Pair(generated, lower[-1], weight)] if lower else []
    if kind == "correct":
        text = payload["text"]
        if _same(text, generated):
            raise ApiError(422, "same_as_generated", "the correction equals the generated description")
        return [] if _same(text, said_by_model) else [Pair(text, said_by_model, weight)]
    if kind == "pick":
        index = payload["candidate_index"]
        if not 0 <= index < len(candidates):
            raise ApiError(422, "invalid_candidate", f"'candidate_index' must be below {len(candidates)}")
        if _same(candidates[index], generated) or _same(candidates[index], said_by_model):
            return []
        return [Pair(candidates[index], said_by_model, weight)]
    offered = ([generated] if generated else []) + list(candidates)
    shown = payload["shown"]
    if _same(shown[0], shown[1]):
        raise ApiError(422, "invalid_choice", "the two shown texts must differ")
    resolved = []
    for text in shown:
        match = next((o for o in offered if _same(o, text)), None)
        if match is None:
            raise ApiError(422, "invalid_choice", "'shown' may only hold texts this generation offered")
        resolved.append(match)
    chosen_index = payload["chosen_index"]
    return [Pair(resolved[chosen_index], resolved[1 - chosen_index], weight)]


def _digest(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def pairs_in_window(session: Session, client_id: int) -> int:
    since = utcnow() - QUOTA_WINDOW
    return session.scalar(select(func.count(PreferencePair.id)).where(
        PreferencePair.client_id == client_id, PreferencePair.created_at >= since)) or 0


def record_feedback(session: Session, caller: Caller, body: Any, default_quota: int) -> FeedbackOutcome:
    """Store one feedback and the pairs it yields; idempotent for a replayed submission."""
    generation_id, kind, payload = parse_feedback(body)
    # Ids are hex; anything else (NUL, lone surrogates) cannot exist and must not reach the database driver.
    generation = session.get(Generation, generation_id) if _GENERATION_ID.fullmatch(generation_id) else None
    if generation is None:
        raise ApiError(404, "unknown_generation", "no generation with this id")
    pairs = pairs_for(generation.description, generation.decorative, list(generation.candidates or []), kind, payload,
                      generation.model_answer)
    dedup_key = _digest(caller.id, generation_id, kind, payload)
    for attempt in range(2):
        existing = session.scalar(select(Feedback).where(Feedback.dedup_key == dedup_key))
        if existing is not None:
            return FeedbackOutcome(existing.id, 0, replayed=True)
        try:
            return _store(session, caller, generation, kind, payload, pairs, dedup_key, default_quota)
        except IntegrityError:  # a concurrent identical feedback or pair won the race
            session.rollback()
            if attempt:
                raise
    raise AssertionError("unreachable")


def _store(session: Session, caller: Caller, generation: Generation, kind: str, payload: dict[str, Any],
           pairs: list[Pair], dedup_key: str, default_quota: int) -> FeedbackOutcome:
    feedback = Feedback(generation_id=generation.id, kind=kind, payload=payload, client_id=caller.id,
                        dedup_key=dedup_key)
    session.add(feedback)
    session.flush()
    quota = caller.quota if caller.quota is not None else default_quota
    room = max(0, quota - pairs_in_window(session, caller.id)) if pairs else 0
    created, quota_reached = 0, False
    for pair in pairs:
        key = _digest(generation.image.sha256, generation.context.sha256, pair.chosen, pair.rejected)
        if session.scalar(select(PreferencePair.id).where(PreferencePair.pair_key == key)) is not None:
            continue
        if created >= room:
            quota_reached = True
            break
        session.add(PreferencePair(
            generation_id=generation.id, feedback_id=feedback.id, client_id=caller.id,
            image_id=generation.image_id, image_sha256=generation.image.sha256,
            context_id=generation.context_id, chosen=pair.chosen, rejected=pair.rejected,
            weight=pair.weight, kind=kind, pair_key=key))
        created += 1
    session.commit()
    return FeedbackOutcome(feedback.id, created, quota_reached=quota_reached)
