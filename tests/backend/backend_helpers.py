"""Helpers for backend tests: a fake engine and registry, tokens, image bytes."""
from __future__ import annotations

import base64
import contextlib
import io
from dataclasses import dataclass, field

from PIL import Image

from backend.auth import create_client
from backend.db import Database
from backend.engine import Description
from backend.modelinput import OCR_LIMIT
from backend.state import EXTENSION_KEY


@dataclass
class FakeEngine:
    """Answers "<caption or 'thing'> WxH" with two candidates; records each batch it is given."""

    version: str = "v0007"
    provider: str = "CPUExecutionProvider"
    trained: bool = False
    note: str = "fake engine for tests"
    candidates: tuple[str, ...] = ("A red square", "A square")
    calls: list[int] = field(default_factory=list)

    def ocr_limit(self, image_size):
        return OCR_LIMIT

    def describe(self, images, contexts, ocr_texts, ocr_titles=None):
        self.calls.append(len(images))
        return [Description(f"{c.caption or 'thing'} {i.size[0]}x{i.size[1]}", False, 0.8, False, list(self.candidates))
                for i, c in zip(images, contexts)]


@dataclass
class FakeRegistry:
    engine: FakeEngine | None

    def current(self):
        from backend.registry import NoModelError

        if self.engine is None:
            raise NoModelError("none")
        return self.engine

    def current_version_name(self):
        return self.engine.version if self.engine else None


def services_of(app):
    return app.extensions[EXTENSION_KEY]


def make_token(app, name: str = "tester", quota: int | None = None) -> str:
    with services_of(app).db.session() as session:
        return create_client(session, name, quota)


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def png_bytes(size=(32, 24), color=(200, 30, 30), mode="RGB", fmt="PNG", **save) -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, color).save(buffer, fmt, **save)
    return buffer.getvalue()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@contextlib.contextmanager
def database_unreachable(app, tmp_path):
    """The app's database swapped for one whose folder does not exist; the working one is back afterwards."""
    services = services_of(app)
    working = services.db
    services.db = Database(f"sqlite:///{tmp_path}/missing/dir/x.db")
    services.db.engine.dispose()
    (tmp_path / "missing" / "dir" / "x.db").unlink(missing_ok=True)
    (tmp_path / "missing" / "dir").rmdir()
    try:
        yield services
    finally:
        services.db = working
