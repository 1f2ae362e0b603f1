"""Backend fixtures: apps on SQLite or PostgreSQL (a fresh schema per test), tokens, a fake engine.

The fake engine gives deterministic descriptions and counts its calls, for
tests about the API and storage; tests about the real model use the tiny
exported model from tests/conftest.py (``tiny_model_root``).
"""
from __future__ import annotations

import pytest

from backend import create_app
from backend.state import EXTENSION_KEY
from backend.testing import POSTGRES_URL, postgres_schema
from backend_helpers import FakeEngine, FakeRegistry


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    """A SQLite file, or a PostgreSQL URL whose search_path is a schema made for this test alone."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'altlens.db'}"
        return
    with postgres_schema(POSTGRES_URL, migrate=False) as url:  # the app under test migrates it
        yield url


@pytest.fixture
def make_app(tmp_path):
    """Factory: an app on ``database_url`` (SQLite in tmp_path by default), migrated, OCR off."""
    apps = []

    def factory(database_url: str | None = None, engine: FakeEngine | None | str = "fake", **overrides):
        config = {"database_url": database_url or f"sqlite:///{tmp_path / 'altlens.db'}",
                  "models_dir": str(tmp_path / "models"), "model_poll_s": 0, "ocr": "off", "testing": True}
        config.update(overrides)
        app = create_app(config)
        services = app.extensions[EXTENSION_KEY]
        services.db.upgrade()
        if engine == "fake":
            services.registry = FakeRegistry(FakeEngine())
        elif engine is None:
            services.registry = FakeRegistry(None)
        apps.append(app)
        return app

    yield factory
    for app in apps:
        app.extensions[EXTENSION_KEY].db.dispose()


@pytest.fixture
def app(make_app):
    return make_app()
