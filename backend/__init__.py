"""altlens backend: a Flask app that describes images for screen-reader users and learns from feedback.

``create_app(test_config=None)`` builds one app (Flask tutorial style):
configuration (backend.config), database (backend.db), model registry, OCR,
API blueprints, JSON errors, rate limits, CORS, metrics and the CLI.
"""
from __future__ import annotations

import re
import threading
from typing import Any, Mapping

from flask import Flask


def _origin_patterns(origins: tuple[str, ...]) -> list[re.Pattern]:
    """Glob origins (``chrome-extension://*``) as anchored regexes; ``*`` never crosses '/', '.' or ':'."""
    return [re.compile("^" + re.escape(o).replace(r"\*", r"[A-Za-z0-9_-]+") + "$") for o in origins]


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    from flask_cors import CORS
    from flask_limiter import Limiter
    from flask_limiter.util import get_remote_address

    from backend import api
    from backend.answer_cache import AnswerCache
    from backend.auth import bearer_token, hash_token
    from backend.cli import register_cli
    from backend.config import Config
    from backend.db import Database
    from backend.errors import register_error_handlers
    from backend.metrics import init_metrics
    from backend.ocr import OcrReader
    from backend.registry import ModelRegistry
    from backend.state import EXTENSION_KEY, Services, close_session

    config = Config.from_env().updated(test_config)
    app = Flask(__name__, static_folder=None)
    app.config.update(
        TESTING=config.testing,
        MAX_CONTENT_LENGTH=config.max_body_bytes,
        MAX_FORM_MEMORY_SIZE=config.max_body_bytes,
        JSON_SORT_KEYS=False,
        RATELIMIT_STORAGE_URI=config.ratelimit_storage,
        RATELIMIT_HEADERS_ENABLED=True,
        ALTLENS=config,
    )
    registry = ModelRegistry(config.models_dir)
    if config.model_poll_s > 0:
        registry.start_watching(config.model_poll_s)
    ocr = OcrReader(enabled=config.ocr_enabled, timeout_s=config.ocr_timeout_s)
    ocr.warm_up()
    app.extensions[EXTENSION_KEY] = Services(
        config=config, db=Database(config.database_url), registry=registry, ocr=ocr,
        slots=threading.BoundedSemaphore(config.max_concurrent_describe),
        answers=AnswerCache(config.answer_cache_entries, config.answer_cache_ttl_s))
    app.teardown_appcontext(close_session)

    register_error_handlers(app)
    init_metrics(app)
    api.register(app)
    register_cli(app)

    def token_key() -> str:
        token = bearer_token()
        return "token:" + hash_token(token)[:32] if token else "address:" + get_remote_address()

    limiter = Limiter(get_remote_address, app=app, storage_uri=config.ratelimit_storage,
                      headers_enabled=True, default_limits=[], swallow_errors=True)
    for name in ("describe", "feedback", "mydata"):
        blueprint = app.blueprints[name]
        limiter.limit(config.ratelimit_token, key_func=token_key, methods=["POST", "DELETE"])(blueprint)
        limiter.limit(config.ratelimit_address, key_func=get_remote_address, methods=["POST", "DELETE"])(blueprint)
    app.extensions["altlens_limiter"] = limiter

    CORS(app, resources={r"/api/*": {"origins": _origin_patterns(config.cors_origins)}},
         allow_headers=["Authorization", "Content-Type"], methods=["GET", "POST", "DELETE", "OPTIONS"],
         expose_headers=["Retry-After"], max_age=600)
    return app
