"""The per-app services (database, model registry, OCR, token checker, answer cache) and the request's session."""
from __future__ import annotations

import threading
from dataclasses import dataclass, field

from flask import current_app, g
from sqlalchemy.orm import Session

from backend.answer_cache import AnswerCache
from backend.auth import TokenChecker
from backend.config import Config
from backend.db import Database

EXTENSION_KEY = "altlens"


@dataclass
class Services:
    config: Config
    db: Database
    registry: object  # backend.registry.ModelRegistry (imported lazily: it pulls in onnxruntime)
    ocr: object  # backend.ocr.OcrReader
    tokens: TokenChecker = field(default_factory=TokenChecker)
    slots: threading.BoundedSemaphore | None = None
    answers: AnswerCache = field(default_factory=lambda: AnswerCache(0, 0.0))


def services() -> Services:
    return current_app.extensions[EXTENSION_KEY]


def session() -> Session:
    """The request's database session (opened lazily, closed at teardown)."""
    if "db_session" not in g:
        g.db_session = services().db.session()
    return g.db_session


def close_session(_exc: BaseException | None = None) -> None:
    db_session = g.pop("db_session", None)
    if db_session is not None:
        db_session.close()
