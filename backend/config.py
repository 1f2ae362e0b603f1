"""Typed backend configuration, read once from the environment.

Everything the backend can be told lives in :class:`Config`, so the README, the
tests and ``make run`` have one place to look. ``create_app(test_config)`` may
override any field by name (tests do, instead of setting environment variables).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any, Mapping

REPO = Path(__file__).resolve().parents[1]

#: The environment a serving process starts with (`make run`, and the tests and benchmark that
#: start the backend as `make run` does). Serving runs the model on ONNX Runtime and needs only
#: transformers' tokenizer and image processor; with USE_TORCH=0 transformers does not import
#: PyTorch, so a worker starts seconds sooner and holds less memory (README "Performance").
SERVING_ENV = {"USE_TORCH": "0"}


def _env_list(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(",") if part.strip())


@dataclass(frozen=True)
class Config:
    """Backend settings. Environment variable in brackets, default after it."""

    #: [DATABASE_URL] SQLAlchemy URL; SQLite by default, ``postgresql+psycopg://...`` for PostgreSQL.
    database_url: str = f"sqlite:///{REPO / 'var' / 'altlens.db'}"
    #: [ALTLENS_MODELS_DIR] registry root holding v0001/, v0002/, ... and CURRENT.
    models_dir: str = str(REPO / "var" / "models")
    #: [ALTLENS_MODEL_POLL_S] how often to look for a newly published model; 0 disables watching.
    model_poll_s: float = 2.0
    #: [ALTLENS_OCR] "auto" reads text in images with rapidocr, "off" never does.
    ocr: str = "auto"
    #: [ALTLENS_OCR_TIMEOUT_S] a slower OCR read is abandoned and the description goes on without it.
    ocr_timeout_s: float = 3.0
    #: [ALTLENS_RATELIMIT_STORAGE] flask-limiter storage: memory:// or redis://host:port.
    ratelimit_storage: str = "memory://"
    #: [ALTLENS_RATELIMIT_TOKEN] write requests allowed per token.
    ratelimit_token: str = "120 per minute"
    #: [ALTLENS_RATELIMIT_ADDRESS] write requests allowed per client address.
    ratelimit_address: str = "600 per minute"
    #: [ALTLENS_RETENTION_DAYS] stored images older than this are purged by ``purge-images``.
    retention_days: int = 30
    #: [ALTLENS_CORS_ORIGINS] comma-separated origins (``*`` matches one name part) allowed by CORS.
    cors_origins: tuple[str, ...] = ("chrome-extension://*", "moz-extension://*")
    #: [ALTLENS_MAX_BODY_BYTES] whole request body.
    max_body_bytes: int = 20 * 1024 * 1024
    #: [ALTLENS_MAX_IMAGE_BYTES] one image, checked before decoding.
    max_image_bytes: int = 5 * 1024 * 1024
    #: [ALTLENS_MAX_IMAGE_PIXELS] width × height of one image, checked from its header before decoding.
    max_image_pixels: int = 40_000_000
    #: [ALTLENS_MAX_BATCH] images per describe request.
    max_batch: int = 32
    #: [ALTLENS_MAX_HTML_CHARS] HTML fragment sent instead of a context.
    max_html_chars: int = 65_536
    #: [ALTLENS_PAIR_QUOTA_PER_DAY] preference pairs one client may add per 24 h (a client's own quota wins).
    pair_quota_per_day: int = 200
    #: [ALTLENS_MAX_CONCURRENT_DESCRIBE] describe requests served at once per process; more wait.
    max_concurrent_describe: int = 4
    #: [ALTLENS_QUEUE_TIMEOUT_S] how long a describe waits for a slot before it gets 503.
    queue_timeout_s: float = 10.0
    #: [ALTLENS_ANSWER_CACHE_ENTRIES] describe answers each worker keeps in memory for repeated images; 0 turns it off.
    answer_cache_entries: int = 4096
    #: [ALTLENS_ANSWER_CACHE_TTL_S] how long such an answer is served from memory (bounds staleness after drop-client).
    answer_cache_ttl_s: float = 600.0
    #: [ALTLENS_TESTING] test mode (Flask TESTING).
    testing: bool = False

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "Config":
        env = os.environ if env is None else env
        names = {"database_url": "DATABASE_URL"}
        values: dict[str, Any] = {}
        for f in fields(cls):
            key = names.get(f.name, "ALTLENS_" + f.name.upper())
            if key in env and env[key] != "":
                values[f.name] = _coerce(f.name, env[key])
        return cls(**values)

    def updated(self, overrides: Mapping[str, Any] | None) -> "Config":
        """A copy with ``overrides`` (field name → value, strings coerced like env values)."""
        if not overrides:
            return self
        known = {f.name for f in fields(self)}
        unknown = set(overrides) - known
        if unknown:
            raise KeyError(f"unknown config fields: {', '.join(sorted(unknown))}")
        return replace(self, **{k: _coerce(k, v) if isinstance(v, str) else v for k, v in overrides.items()})

    @property
    def ocr_enabled(self) -> bool:
        return self.ocr != "off"


def _coerce(name: str, raw: str) -> Any:
    kind = {f.name: f.type for f in fields(Config)}[name]
    if kind == "int":
        return int(raw)
    if kind == "float":
        return float(raw)
    if kind == "bool":
        return raw.strip().lower() in ("1", "true", "yes", "on")
    if kind == "tuple[str, ...]":
        return _env_list(raw)
    if name == "ocr" and raw not in ("auto", "off"):
        raise ValueError(f"ALTLENS_OCR must be 'auto' or 'off', not {raw!r}")
    return raw
